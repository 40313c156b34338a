//! The accept loop survives running out of file descriptors: it logs the
//! error, waits and tries again, and serves new clients once old ones leave.
//! The server runs as its own process, with `ulimit -n` lowered (see
//! `tools/checks/src/descriptors.rs`).

#[cfg(unix)]
#[test]
fn the_server_survives_running_out_of_file_descriptors() {
    let survived = course_checks::descriptors::survives_running_out_of_descriptors(env!(
        "CARGO_BIN_EXE_sol03-handshake"
    ));
    if let Err(why) = survived {
        panic!("{why}");
    }
}
