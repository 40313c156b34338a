//! How a connection ends, as `Connection::run` reports it: a closing
//! handshake is `Ok`; TCP ending without a Close frame (between frames, or
//! in the middle of one) is an abnormal closure, and an error.
//!
//! The checks can't see this (the server's answer on the wire is the same:
//! nothing), so it is tested here, on a real socket pair.

use std::io;
use std::time::Duration;

use sol04_frames::connection::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// RFC 6455 §5.7's masked "Hello" from a client.
const HELLO: [u8; 11] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// A masked close frame with code 1000.
const CLOSE_1000: [u8; 8] = [0x88, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x03 ^ 0x37, 0xe8 ^ 0xfa];

/// Serves one connection whose client sends `bytes` and then closes TCP,
/// and returns what `run` said.
async fn run_after(bytes: &[u8]) -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
    let mut client = TcpStream::connect(listener.local_addr().expect("a bound address"))
        .await
        .expect("connect to our own listener");
    let (server, _) = listener.accept().await.expect("accept our own client");
    let connection = tokio::spawn(Connection::new(server, 1024).run());
    client.write_all(bytes).await.expect("send to the server");
    client.shutdown().await.expect("close our sending half");
    // Read what the server sends until it closes, so that it is never
    // blocked writing to us.
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut sink)).await;
    tokio::time::timeout(Duration::from_secs(5), connection)
        .await
        .expect("run ends once the client is gone")
        .expect("run does not panic")
}

#[tokio::test]
async fn a_closing_handshake_ends_the_connection_cleanly() {
    let ended = run_after(&[HELLO.as_slice(), &CLOSE_1000].concat()).await;
    assert!(ended.is_ok(), "expected Ok, got {ended:?}");
}

#[tokio::test]
async fn end_of_file_in_the_middle_of_a_frame_is_an_error() {
    let ended = run_after(&HELLO[..7]).await;
    let error = ended.expect_err("TCP ended 7 bytes into an 11-byte frame");
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    assert!(error.to_string().contains("in the middle of a frame"), "{error}");
}

#[tokio::test]
async fn end_of_file_between_frames_without_a_close_is_an_error() {
    let ended = run_after(&HELLO).await;
    let error = ended.expect_err("TCP ended without a Close frame");
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    assert!(error.to_string().contains("between two frames"), "{error}");
}
