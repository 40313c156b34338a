//! What a spoiler is made of: the solution's functions that the exercise
//! leaves to the learner, found by reading both crates as Rust.
//!
//! A function is the learner's when its body in `exercises/NN-slug/src`
//! calls `todo!(…)`, or when the solution has it and the exercise does not
//! (a helper the learner writes). Functions in `#[cfg(test)]` modules are
//! left out: tests are not answers. Derived afresh on every run, so the set
//! follows the stubs as they change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use syn::visit::Visit;

/// A solution function the exercise leaves to the learner.
#[derive(Debug, Clone)]
pub struct Item {
    /// The chapter whose exercise leaves it open.
    pub chapter: u8,
    /// E.g. `solutions/03-handshake/src/accept.rs`.
    pub file: String,
    /// E.g. `accept_key`, `Request::has_token`, `<ApiError as IntoResponse>::into_response`.
    pub name: String,
    /// Why it is the learner's.
    pub why: Why,
    /// Its code lines, normalised ([`normalise`]), blank ones dropped.
    pub lines: Vec<String>,
}

/// Why a function is the learner's to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The exercise's version calls `todo!()`.
    Todo,
    /// Only the solution has it.
    SolutionOnly,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Why::Todo => "the exercise leaves it todo!()",
            Why::SolutionOnly => "only the solution has it",
        })
    }
}

/// One chapter's learner functions, and every line of its exercise and its
/// solution (the exercise's lines the learner has anyway; both are
/// yesterday's news for any later chapter).
#[derive(Debug, Default)]
pub struct ChapterItems {
    pub chapter: u8,
    pub items: Vec<Item>,
    /// Each exercise file's lines, normalised, blank ones dropped.
    pub exercise_files: Vec<Vec<String>>,
    /// Each solution file's lines, the same way.
    pub solution_files: Vec<Vec<String>>,
}

/// Reads `exercises/{slug}/src` and `solutions/{slug}/src` under `root`.
pub fn chapter_items(root: &Path, number: u8, slug: &str) -> Result<ChapterItems> {
    let exercise = read_crate(&root.join("exercises").join(slug).join("src"))?;
    let solution = read_crate(&root.join("solutions").join(slug).join("src"))?;
    let mut found = ChapterItems {
        chapter: number,
        exercise_files: exercise.iter().map(|file| substantive(&file.lines)).collect(),
        solution_files: solution.iter().map(|file| substantive(&file.lines)).collect(),
        items: Vec::new(),
    };
    let exercise_fns: BTreeMap<(&Path, &str), &Function> = exercise
        .iter()
        .flat_map(|file| file.functions.iter().map(move |f| ((file.relative.as_path(), f.key.as_str()), f)))
        .collect();
    // A function moved to another file still counts as the same function.
    let exercise_by_key: BTreeMap<&str, &Function> =
        exercise.iter().flat_map(|file| file.functions.iter().map(|f| (f.key.as_str(), f))).collect();
    for file in &solution {
        for function in &file.functions {
            let counterpart = exercise_fns
                .get(&(file.relative.as_path(), function.key.as_str()))
                .or_else(|| exercise_by_key.get(function.key.as_str()));
            let why = match counterpart {
                Some(stub) if stub.calls_todo => Why::Todo,
                Some(_) => continue,
                None => Why::SolutionOnly,
            };
            let lines = substantive(&file.lines[function.first_line - 1..function.last_line]);
            found.items.push(Item {
                chapter: number,
                file: format!("solutions/{slug}/src/{}", file.relative.display()),
                name: function.key.clone(),
                why,
                lines,
            });
        }
    }
    Ok(found)
}

/// A source file: its functions, and its lines normalised.
#[derive(Debug)]
struct SourceFile {
    /// Relative to the crate's `src`.
    relative: PathBuf,
    /// One entry per source line (so line numbers index it), normalised.
    lines: Vec<String>,
    functions: Vec<Function>,
}

#[derive(Debug)]
struct Function {
    /// `name`, `Type::name` or `<Type as Trait>::name`, inside `mod`s `m::…`.
    key: String,
    /// 1-based, from the `fn` keyword to the closing brace.
    first_line: usize,
    last_line: usize,
    calls_todo: bool,
}

fn read_crate(src: &Path) -> Result<Vec<SourceFile>> {
    let mut paths = Vec::new();
    rust_files(src, &mut paths)?;
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text =
                std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let syntax =
                syn::parse_file(&text).with_context(|| format!("parsing {} as Rust", path.display()))?;
            let mut collector = Collector { prefix: Vec::new(), functions: Vec::new() };
            collector.items(&syntax.items);
            Ok(SourceFile {
                relative: path.strip_prefix(src).expect("walked from src").to_path_buf(),
                lines: normalise(&text),
                functions: collector.functions,
            })
        })
        .collect()
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// Walks a file's items, collecting every function with a body.
struct Collector {
    /// The enclosing `mod`s.
    prefix: Vec<String>,
    functions: Vec<Function>,
}

impl Collector {
    fn items(&mut self, items: &[syn::Item]) {
        for item in items {
            match item {
                syn::Item::Fn(function) => {
                    self.push(None, &function.sig, &function.block);
                }
                syn::Item::Impl(block) => {
                    let owner = match &block.trait_ {
                        Some((_, path, _)) => {
                            format!("<{} as {}>", type_name(&block.self_ty), last_segment(path))
                        }
                        None => type_name(&block.self_ty),
                    };
                    for item in &block.items {
                        if let syn::ImplItem::Fn(function) = item {
                            self.push(Some(&owner), &function.sig, &function.block);
                        }
                    }
                }
                syn::Item::Trait(block) => {
                    for item in &block.items {
                        if let syn::TraitItem::Fn(syn::TraitItemFn { sig, default: Some(body), .. }) = item {
                            self.push(Some(&block.ident.to_string()), sig, body);
                        }
                    }
                }
                syn::Item::Mod(module) if !is_cfg_test(&module.attrs) => {
                    if let Some((_, items)) = &module.content {
                        self.prefix.push(module.ident.to_string());
                        self.items(items);
                        self.prefix.pop();
                    }
                }
                _ => {}
            }
        }
    }

    fn push(&mut self, owner: Option<&str>, sig: &syn::Signature, body: &syn::Block) {
        let mut key: Vec<String> = self.prefix.clone();
        key.extend(owner.map(str::to_owned));
        key.push(sig.ident.to_string());
        let mut todo = TodoFinder(false);
        todo.visit_block(body);
        self.functions.push(Function {
            key: key.join("::"),
            first_line: sig.fn_token.span.start().line,
            last_line: body.brace_token.span.close().end().line,
            calls_todo: todo.0,
        });
    }
}

/// Whether a body calls `todo!(…)` anywhere.
struct TodoFinder(bool);

impl<'ast> Visit<'ast> for TodoFinder {
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if mac.path.is_ident("todo") {
            self.0 = true;
        }
        syn::visit::visit_macro(self, mac);
    }
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg") && attr.parse_args::<syn::Ident>().is_ok_and(|ident| ident == "test")
    })
}

/// `Boards`, `Arc<State>` → `Arc`: the last path segment's name, enough to
/// tell a crate's impl blocks apart.
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => last_segment(&path.path),
        syn::Type::Reference(reference) => type_name(&reference.elem),
        _ => "_".to_owned(),
    }
}

fn last_segment(path: &syn::Path) -> String {
    path.segments.last().map(|segment| segment.ident.to_string()).unwrap_or_default()
}

/// The lines that carry code: normalised, blank or punctuation-only ones
/// (`}`, `});`) dropped, since they match anything.
pub fn substantive(lines: &[String]) -> Vec<String> {
    lines.iter().filter(|line| line.chars().any(char::is_alphanumeric)).cloned().collect()
}

/// `source`'s lines with comments dropped (`//…`, `/* … */`, nested, doc
/// comments too) and whitespace collapsed: one entry per source line, so a
/// block comment leaves its lines empty. Strings and character literals
/// are kept as written: a `//` inside `"http://…"` is not a comment.
/// Good for Rust and JavaScript alike.
pub fn normalise(source: &str) -> Vec<String> {
    let chars: Vec<char> = source.chars().collect();
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut depth = 0usize; // block comments open
    let mut i = 0;
    let end_line = |line: &mut String, lines: &mut Vec<String>| {
        lines.push(line.split_whitespace().collect::<Vec<_>>().join(" "));
        line.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            end_line(&mut line, &mut lines);
            i += 1;
        } else if depth > 0 {
            if c == '*' && next == Some('/') {
                depth -= 1;
                i += 2;
            } else if c == '/' && next == Some('*') {
                depth += 1;
                i += 2;
            } else {
                i += 1;
            }
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            depth = 1;
            i += 2;
        } else if c == '"' || (c == 'r' && matches!(next, Some('"' | '#')) && raw_string_at(&chars, i)) {
            // A string, kept whole, newlines and all.
            let (hashes, start) = if c == 'r' {
                let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
                (Some(hashes), i + 2 + hashes)
            } else {
                (None, i + 1)
            };
            line.extend(&chars[i..start]);
            i = start;
            while i < chars.len() {
                let c = chars[i];
                if c == '\n' {
                    end_line(&mut line, &mut lines);
                    i += 1;
                    continue;
                }
                line.push(c);
                i += 1;
                match hashes {
                    None if c == '\\' && i < chars.len() && chars[i] != '\n' => {
                        line.push(chars[i]);
                        i += 1;
                    }
                    None if c == '"' => break,
                    Some(hashes)
                        if c == '"'
                            && chars[i..].iter().take(hashes).filter(|&&c| c == '#').count() == hashes =>
                    {
                        line.extend(&chars[i..i + hashes]);
                        i += hashes;
                        break;
                    }
                    _ => {}
                }
            }
        } else if c == '\'' {
            // A character literal ('a', '\n', '\'') or a lifetime ('a).
            let literal_end = if next == Some('\\') {
                // The escaped character may itself be a quote: '\''.
                chars
                    .get(i + 3..)
                    .and_then(|rest| rest.iter().position(|&c| c == '\''))
                    .map(|at| i + 3 + at + 1)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 3)
            } else {
                None
            };
            let end = literal_end.unwrap_or(i + 1).min(chars.len());
            line.extend(&chars[i..end]);
            i = end;
        } else {
            line.push(c);
            i += 1;
        }
    }
    end_line(&mut line, &mut lines);
    lines
}

/// Whether `chars[at]` (an `r`) starts a raw string `r"…"` / `r#"…"#`
/// rather than ending a name like `for` or `chr`.
fn raw_string_at(chars: &[char], at: usize) -> bool {
    let starts_token = at == 0 || !(chars[at - 1].is_alphanumeric() || chars[at - 1] == '_');
    let hashes = chars[at + 1..].iter().take_while(|&&c| c == '#').count();
    starts_token && chars.get(at + 1 + hashes) == Some(&'"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_go_and_strings_stay() {
        let source = "let url = \"http://x\"; // a comment\n\
                      /* one\n two */ let  b =\t'/';\n\
                      /// doc\n\
                      fn f<'a>(x: &'a str) -> char { '\\'' }\n\
                      let raw = r#\"// not \"a\" comment\"#;";
        assert_eq!(
            normalise(source),
            vec![
                "let url = \"http://x\";",
                "",
                "let b = '/';",
                "",
                "fn f<'a>(x: &'a str) -> char { '\\'' }",
                "let raw = r#\"// not \"a\" comment\"#;",
            ]
        );
    }

    #[test]
    fn a_multi_line_string_keeps_its_line_count() {
        assert_eq!(normalise("let s = \"a\nb\"; // c\nx").len(), 3);
    }

    #[test]
    fn functions_and_their_todos_are_found() {
        let source = "impl Boards {\n    pub fn list(&self) -> u8 {\n        todo!(\"list\")\n    }\n}\n\
                      impl IntoResponse for ApiError {\n    fn into_response(self) -> R { r() }\n}\n\
                      #[cfg(test)]\nmod tests { fn t() {} }\n";
        let syntax = syn::parse_file(source).unwrap();
        let mut collector = Collector { prefix: Vec::new(), functions: Vec::new() };
        collector.items(&syntax.items);
        let found: Vec<_> = collector
            .functions
            .iter()
            .map(|f| (f.key.as_str(), f.first_line, f.last_line, f.calls_todo))
            .collect();
        assert_eq!(
            found,
            vec![("Boards::list", 2, 4, true), ("<ApiError as IntoResponse>::into_response", 7, 7, false)]
        );
    }
}
