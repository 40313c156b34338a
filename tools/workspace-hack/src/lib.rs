//! No code. Depending on this crate gives every crate of the course the same
//! features of its shared dependencies, so they are compiled once for all
//! of them; `Cargo.toml` says why and what is listed.
