//! TLS for `quorate serve` (`quorate.tls`: a certificate chain and its key) and for the requests
//! `quorate recover` sends to the peers' recovery endpoints (`quorate.recovery.ca_file`: the CA
//! bundle their certificates must chain to).
//!
//! The recovery endpoints carry a bearer token across the network; with TLS it is never on the
//! wire in clear, and a peer must prove who it is before a plan trusts its state. rustls with
//! the ring provider; PEM files only. Every error names the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::ring::default_provider;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why a TLS file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct TlsError {
    pub path: PathBuf,
    pub message: String,
}

fn err(path: &Path, message: impl std::fmt::Display) -> TlsError {
    TlsError {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Every certificate in a PEM file; at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(path, e))?;
    if certs.is_empty() {
        return Err(err(path, "holds no PEM certificate"));
    }
    Ok(certs)
}

/// The server side: the chain in `cert_file` (leaf first) and the private key in `key_file`
/// (PKCS#8, PKCS#1 or SEC1 PEM). Refuses a key that does not match the certificate.
pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = certificates(cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| err(key_file, e))?;
    let config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| err(cert_file, e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| err(key_file, format!("does not fit the certificate: {e}")))?;
    Ok(Arc::new(config))
}

/// The client side: peers' certificates must chain to a CA in `ca_file` and name the host
/// (or IP address) of the endpoint URL.
pub fn client_config(ca_file: &Path) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(ca_file)? {
        roots.add(cert).map_err(|e| err(ca_file, e))?;
    }
    let config = ClientConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| err(ca_file, e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.pem");
        let e = client_config(&missing).expect_err("missing");
        assert!(e.to_string().contains("missing.pem"), "{e}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let e = client_config(&empty).expect_err("empty");
        assert!(e.to_string().contains("holds no PEM certificate"), "{e}");

        let e = server_config(&empty, &missing).expect_err("no cert");
        assert!(e.to_string().contains("empty.pem"), "{e}");
    }
}
