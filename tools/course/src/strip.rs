//! Source code without its comments, for `course diff`: what differs between
//! an exercise and its solution is code; their doc comments and the book's
//! `// ANCHOR` markers are noise there.

/// Rust source without comments: `//` comments (`///`, `//!` and
/// `// ANCHOR:` markers too) and `/* … */` blocks, nested ones included.
/// String and character literals are kept as they are (`"http://…"` is not a
/// comment). A line that held nothing but a comment is dropped; trailing
/// spaces left before a removed comment go too.
pub fn rust(source: &str) -> String {
    let stripped = remove_rust_comments(source);
    keep_code_lines(source, &stripped)
}

/// Any other text file: only the book's `ANCHOR` markers are dropped, and
/// for TOML, whole-line `#` comments.
pub fn other(source: &str, toml: bool) -> String {
    let mut out = String::new();
    for line in source.lines() {
        let trimmed = line.trim_start();
        let anchor = trimmed.contains("ANCHOR:") || trimmed.contains("ANCHOR_END:");
        if anchor || (toml && trimmed.starts_with('#')) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Keeps each line of `stripped` (which has the same lines as `source`)
/// unless the comment removal left it empty.
fn keep_code_lines(source: &str, stripped: &str) -> String {
    let mut out = String::new();
    for (original, code) in source.lines().zip(stripped.lines()) {
        let code = code.trim_end();
        if code.trim().is_empty() && !original.trim().is_empty() {
            continue;
        }
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// Replaces every comment with nothing, keeping newlines, so the result has
/// exactly the lines of `source`.
fn remove_rust_comments(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied();
    while i < chars.len() {
        let c = chars[i];
        match (c, at(i + 1)) {
            ('/', Some('/')) => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                let mut depth = 0;
                while i < chars.len() {
                    match (chars[i], at(i + 1)) {
                        ('/', Some('*')) => {
                            depth += 1;
                            i += 2;
                        }
                        ('*', Some('/')) => {
                            depth -= 1;
                            i += 2;
                            if depth == 0 {
                                break;
                            }
                        }
                        ('\n', _) => {
                            out.push('\n');
                            i += 1;
                        }
                        _ => i += 1,
                    }
                }
            }
            ('"', _) => i = copy_string(&chars, i, &mut out),
            ('r', Some('"' | '#')) if !ident_before(&chars, i) && raw_string_starts(&chars, i + 1) => {
                i = copy_raw_string(&chars, i, &mut out);
            }
            ('\'', _) => i = copy_char_or_lifetime(&chars, i, &mut out),
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Whether the character before `i` continues an identifier (`bar"` is not
/// the start of a raw string `r"`, `br"` is).
fn ident_before(chars: &[char], i: usize) -> bool {
    if i == 0 {
        return false;
    }
    let before = chars[i - 1];
    let continues = before.is_alphanumeric() || before == '_';
    // A lone `b` is the byte-string prefix (`br"…"`), not an identifier.
    let byte_prefix = before == 'b' && !ident_before(chars, i - 1);
    continues && !byte_prefix
}

/// After an `r`: `#`s then `"`.
fn raw_string_starts(chars: &[char], mut i: usize) -> bool {
    while chars.get(i) == Some(&'#') {
        i += 1;
    }
    chars.get(i) == Some(&'"')
}

/// Copies a `"…"` literal starting at `i`; returns the index after it.
fn copy_string(chars: &[char], mut i: usize, out: &mut String) -> usize {
    out.push(chars[i]);
    i += 1;
    while i < chars.len() {
        let c = chars[i];
        out.push(c);
        i += 1;
        match c {
            '\\' => {
                if let Some(&next) = chars.get(i) {
                    out.push(next);
                    i += 1;
                }
            }
            '"' => break,
            _ => {}
        }
    }
    i
}

/// Copies `r#"…"#` starting at the `r`; returns the index after it.
fn copy_raw_string(chars: &[char], mut i: usize, out: &mut String) -> usize {
    out.push('r');
    i += 1;
    let mut hashes = 0;
    while chars.get(i) == Some(&'#') {
        out.push('#');
        hashes += 1;
        i += 1;
    }
    out.push('"');
    i += 1;
    while i < chars.len() {
        let c = chars[i];
        out.push(c);
        i += 1;
        if c == '"' && (0..hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            out.extend(std::iter::repeat_n('#', hashes));
            return i + hashes;
        }
    }
    i
}

/// Copies a character literal (`'"'`, `'\''`) or a lifetime (`'a`).
fn copy_char_or_lifetime(chars: &[char], i: usize, out: &mut String) -> usize {
    let is_char = match chars.get(i + 1) {
        Some('\\') => true,
        Some(_) => chars.get(i + 2) == Some(&'\''),
        None => false,
    };
    if !is_char {
        out.push('\'');
        return i + 1;
    }
    let mut j = i + 1;
    if chars.get(j) == Some(&'\\') {
        j += 2;
    } else {
        j += 1;
    }
    while j < chars.len() && chars[j] != '\'' {
        j += 1;
    }
    let end = (j + 1).min(chars.len());
    out.extend(&chars[i..end]);
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_anchor_lines_go_code_stays() {
        let source = "//! The crate.\n\
            use std::fmt; // for Display\n\
            \n\
            // ANCHOR: run\n\
            /// Runs it.\n\
            pub fn run() {\n    let url = \"http://localhost:3000\"; /* inline */ let x = 1;\n}\n\
            // ANCHOR_END: run\n";
        assert_eq!(
            rust(source),
            "use std::fmt;\n\npub fn run() {\n    let url = \"http://localhost:3000\";  let x = 1;\n}\n"
        );
    }

    #[test]
    fn literals_that_look_like_comments_are_kept() {
        let source = "let a = '\"'; let b = \"// not a comment \\\" still\"; let c = r#\"/* \"raw\" */\"#;\n\
            fn f<'a>(s: &'a str) -> char { '/' }\n\
            let d = b\"//\"; let e = br\"/*\";\n";
        assert_eq!(rust(source), source);
    }

    #[test]
    fn nested_block_comments_keep_the_lines_around_them() {
        let source = "a();\n/* one /* two */\nstill */ b();\nc();\n";
        assert_eq!(rust(source), "a();\n b();\nc();\n");
    }

    #[test]
    fn other_files_lose_only_anchors_and_toml_comments() {
        assert_eq!(
            other("// ANCHOR: x\nconst a = 1; // kept\n// ANCHOR_END: x\n", false),
            "const a = 1; // kept\n"
        );
        assert_eq!(other("# why\nname = \"x\" # kept\n", true), "name = \"x\" # kept\n");
    }
}
