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

// ANCHOR: acceptor
/// Reads the certificate chain and its key, and makes the acceptor that
/// runs the server's side of each TLS handshake.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let chain = certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| TlsError::Key { path: files.key.clone(), why: e.to_string() })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // ALPN: say that we speak HTTP/1.1 — the version that has the WebSocket
    // upgrade. (WebSockets over HTTP/2 are a different handshake, RFC 8441.)
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
// ANCHOR_END: acceptor

/// Every certificate in the PEM file, leaf first; at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let failed = |why: String| TlsError::Certificate { path: path.to_owned(), why };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| failed(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| failed(e.to_string()))?;
    if chain.is_empty() {
        return Err(failed("the file has no CERTIFICATE block".into()));
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_named_in_the_error() {
        let files = TlsFiles { cert: "/nonexistent/cert.pem".into(), key: "/nonexistent/key.pem".into() };
        let Err(error) = acceptor(&files) else { panic!("there are no such files") };
        assert!(error.to_string().contains("/nonexistent/cert.pem"), "{error}");
    }
}
