//! TLS with rustls: what turns `http://` into `https://` and `ws://` into
//! `wss://`.
//!
//! TLS sits *under* HTTP. The server accepts a TCP connection, runs the TLS
//! handshake on it (proving, with the certificate, that it is the host the
//! client asked for, and agreeing on keys), and then speaks plain HTTP/1.1
//! inside the encrypted stream — the same requests, the same upgrade to a
//! WebSocket. Nothing above this module knows TLS is there.
//!
//! The `ring` provider does the cryptography: pure Rust and assembly, no
//! OpenSSL and no C toolchain to install.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// Why the server cannot serve TLS with the files it was given. Each one
/// stops the server before it binds, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file is missing, unreadable, or has no certificate in it.
    #[error("TLS_CERT {path:?}: no PEM certificate could be read ({why})")]
    Certificate { path: PathBuf, why: String },
    /// The key file is missing, unreadable, or has no private key in it.
    #[error("TLS_KEY {path:?}: no PEM private key could be read ({why})")]
    Key { path: PathBuf, why: String },
    /// rustls refused the pair, e.g. a key that is not the certificate's.
    #[error("TLS_CERT and TLS_KEY do not make a usable pair: {0}")]
    Rejected(#[from] rustls::Error),
}

/// Reads the certificate chain and its key, and makes the acceptor that
/// runs the server's side of each TLS handshake.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    todo!(
        "stage 1: a rustls ServerConfig (ring provider) from the PEM files TLS_CERT and TLS_KEY, \
         as a TlsAcceptor — book: \"TLS: https and wss\""
    )
}
