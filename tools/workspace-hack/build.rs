//! Empty: it exists so that cargo counts this crate's build-dependencies
//! (see Cargo.toml), which unify the features of the proc macros' syn.
fn main() {}
