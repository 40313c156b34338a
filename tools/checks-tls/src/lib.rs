//! TLS for chapter 7's checks, handed to them as a [`TlsKit`].
//!
//! A check that talks TLS makes a certificate authority of its own, a moment
//! before it starts the server, and signs a certificate for `localhost` and
//! `127.0.0.1` with it. Its client trusts that CA and nothing else — not the
//! system's roots — so a server that answers at all has proved it serves
//! exactly the certificate it was given.
//!
//! This crate is apart from `course-checks` so that only the test binaries
//! of chapter 7 compile rustls: chapter 1's first `cargo test` stays quick.

use std::io;
use std::sync::Arc;

use course_checks::dial::{BoxIo, Pki, TlsConnecting, TlsKit};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The kit the checks find in their `Locals`.
pub fn kit() -> TlsKit {
    TlsKit { issue, connect }
}

/// A fresh CA, and a server certificate it signed for `localhost` and `127.0.0.1`.
fn issue() -> Result<Pki, String> {
    let fail = |e: rcgen::Error| e.to_string();
    let ca_key = KeyPair::generate().map_err(fail)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "course checks, throwaway CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).map_err(fail)?;

    let key = KeyPair::generate().map_err(fail)?;
    let mut server =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).map_err(fail)?;
    server.distinguished_name.push(DnType::CommonName, "localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = server.signed_by(&key, &ca_cert, &ca_key).map_err(fail)?;
    Ok(Pki { ca_pem: ca_cert.pem(), cert_pem: cert.pem(), key_pem: key.serialize_pem() })
}

/// What Chromium's `--ignore-certificate-errors-spki-list` takes to trust a
/// certificate [`kit`] issued, and that one alone: the base64 of the SHA-256
/// of its public key (its SubjectPublicKeyInfo), from its private key.
pub fn spki_sha256(key_pem: &str) -> Result<String, String> {
    use base64::Engine as _;
    let key = KeyPair::from_pem(key_pem).map_err(|e| e.to_string())?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &key.public_key_der());
    Ok(base64::engine::general_purpose::STANDARD.encode(digest.as_ref()))
}

/// A TLS client handshake for `localhost` over `tcp`, trusting only `ca_pem`.
fn connect(tcp: TcpStream, ca_pem: String) -> TlsConnecting {
    Box::pin(async move {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.map_err(io::Error::other)?).map_err(io::Error::other)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
        let stream = TlsConnector::from(Arc::new(config)).connect(name, tcp).await?;
        Ok(Box::new(stream) as BoxIo)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_pem_for_a_ca_a_certificate_and_a_key() {
        let pki = issue().expect("rcgen makes certificates");
        assert!(pki.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki.key_pem.contains("PRIVATE KEY"));
        assert_ne!(pki.ca_pem, pki.cert_pem);
    }

    #[test]
    fn the_spki_hash_is_a_base64_sha256() {
        let pki = issue().expect("rcgen makes certificates");
        let hash = spki_sha256(&pki.key_pem).expect("the key reads back");
        assert_eq!(hash.len(), 44, "{hash}");
        assert!(hash.ends_with('='), "{hash}");
        assert_ne!(hash, spki_sha256(&issue().expect("another").key_pem).expect("reads"));
    }
}
