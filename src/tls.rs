//! TLS for `quorate serve` ([`ServerTls`]: from the web configuration file's
//! `tls_server_config` or `quorate.tls`, optionally verifying client certificates) and for the
//! requests `quorate recover` sends to the peers' recovery endpoints (`quorate.recovery.ca_file`:
//! the CA bundle their certificates must chain to; `client_cert_file`/`client_key_file`: the
//! certificate it presents to them).
//!
//! The recovery endpoints carry a bearer token across the network; with TLS it is never on the
//! wire in clear, and a peer must prove who it is before a plan trusts its state. A client
//! certificate verified against the client CA proves it too ([`VerifiedClient`]). rustls with
//! the ring provider; PEM files only, read with the bounded reader. Every error names the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::ring::{default_provider, kx_group};
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{CipherSuite, ClientAuth, ClientCertificate, Curve, ServerTls, TlsVersion};

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

/// Marks a request that came over a connection whose client presented a certificate the
/// server verified against its client CA (`tls_server_config.client_ca_file`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedClient;

/// A PEM file's bytes, size-capped; a FIFO or device is refused.
fn pem_bytes(path: &Path) -> Result<Vec<u8>, TlsError> {
    crate::bounded::read(path, crate::bounded::SMALL_FILE_CAP).map_err(|e| err(path, e.reason()))
}

/// Every certificate in a PEM file; at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = pem_bytes(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(path, e))?;
    if certs.is_empty() {
        return Err(err(path, "holds no PEM certificate"));
    }
    Ok(certs)
}

/// The private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(&pem_bytes(path)?).map_err(|e| err(path, e))
}

/// The certificates of a CA bundle as trust roots.
fn roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(path)? {
        roots.add(cert).map_err(|e| err(path, e))?;
    }
    Ok(roots)
}

/// The ring provider restricted to the configured TLS 1.2 suites (in their order; TLS 1.3
/// suites stay, as in Go) and key exchange groups.
fn provider(tls: &ServerTls) -> CryptoProvider {
    let mut provider = default_provider();
    let wanted: Vec<rustls::CipherSuite> = tls
        .cipher_suites
        .iter()
        .filter_map(|c| rustls_suite(*c))
        .collect();
    // A list naming only TLS 1.3 suites leaves TLS 1.2 without any, as in Go: what is listed
    // is what is allowed.
    if !tls.cipher_suites.is_empty() {
        let all = std::mem::take(&mut provider.cipher_suites);
        let tls13 = all
            .iter()
            .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_)));
        let tls12 = wanted
            .iter()
            .filter_map(|w| all.iter().find(|s| s.suite() == *w));
        provider.cipher_suites = tls13.chain(tls12).copied().collect();
    }
    if !tls.curve_preferences.is_empty() {
        provider.kx_groups = tls
            .curve_preferences
            .iter()
            .map(|c| match c {
                Curve::X25519 => kx_group::X25519,
                Curve::P256 => kx_group::SECP256R1,
                Curve::P384 => kx_group::SECP384R1,
            })
            .collect();
    }
    provider
}

fn rustls_suite(suite: CipherSuite) -> Option<rustls::CipherSuite> {
    use rustls::CipherSuite as R;
    Some(match suite {
        CipherSuite::EcdheEcdsaAes128Gcm => R::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite::EcdheEcdsaAes256Gcm => R::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::EcdheEcdsaChacha20 => R::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite::EcdheRsaAes128Gcm => R::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite::EcdheRsaAes256Gcm => R::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::EcdheRsaChacha20 => R::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite::Tls13 => return None,
    })
}

/// The server side: the chain in `cert_file` (leaf first), its private key, and the client
/// certificate policy. Refuses a key that does not match the certificate.
pub fn server_config(tls: &ServerTls) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = certificates(&tls.cert_file)?;
    let key = private_key(&tls.key_file)?;
    let provider = Arc::new(provider(tls));
    let versions: &[&rustls::SupportedProtocolVersion] = match (tls.min_version, tls.max_version) {
        (TlsVersion::Tls12, TlsVersion::Tls12) => &[&rustls::version::TLS12],
        (TlsVersion::Tls13, _) => &[&rustls::version::TLS13],
        (TlsVersion::Tls12, TlsVersion::Tls13) => {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        }
    };
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .map_err(|e| err(&tls.cert_file, e))?;
    let builder = match (tls.client_auth, &tls.client_ca_file) {
        (ClientAuth::NoClientCert, _) => builder.with_no_client_auth(),
        (_, None) => {
            return Err(err(
                &tls.cert_file,
                "client certificates need a client CA file",
            ))
        }
        (policy, Some(ca_file)) => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca_file)?), provider);
            let verifier = match policy {
                ClientAuth::VerifyClientCertIfGiven => verifier.allow_unauthenticated(),
                _ => verifier,
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| err(ca_file, e))?)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| err(&tls.key_file, format!("does not fit the certificate: {e}")))?;
    config.ignore_client_order = tls.prefer_server_cipher_suites;
    Ok(Arc::new(config))
}

/// The client side: peers' certificates must chain to a CA in `ca_file` and name the host
/// (or IP address) of the endpoint URL; `identity`, when given, is presented to peers that
/// ask for a client certificate.
pub fn client_config(
    ca_file: &Path,
    identity: Option<&ClientCertificate>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let builder = ClientConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| err(ca_file, e))?
        .with_root_certificates(roots(ca_file)?);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some(id) => builder
            .with_client_auth_cert(certificates(&id.cert_file)?, private_key(&id.key_file)?)
            .map_err(|e| err(&id.key_file, format!("does not fit the certificate: {e}")))?,
    };
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_suites_and_curves_are_the_ones_offered() {
        let mut tls = ServerTls::certificate_only("c".into(), "k".into());
        let all = provider(&tls);
        assert_eq!(
            all.cipher_suites.len(),
            default_provider().cipher_suites.len()
        );
        tls.cipher_suites = vec![
            CipherSuite::EcdheRsaChacha20,
            CipherSuite::EcdheEcdsaAes256Gcm,
        ];
        tls.curve_preferences = vec![Curve::P384, Curve::X25519];
        let p = provider(&tls);
        let tls12: Vec<rustls::CipherSuite> = p
            .cipher_suites
            .iter()
            .filter(|s| matches!(s, SupportedCipherSuite::Tls12(_)))
            .map(|s| s.suite())
            .collect();
        assert_eq!(
            tls12,
            [
                rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
            ]
        );
        let tls13 = p.cipher_suites.len() - tls12.len();
        assert_eq!(tls13, 3, "TLS 1.3 suites stay on");
        let groups: Vec<_> = p.kx_groups.iter().map(|g| g.name()).collect();
        assert_eq!(
            groups,
            [rustls::NamedGroup::secp384r1, rustls::NamedGroup::X25519]
        );
        // Only TLS 1.3 suites listed: no TLS 1.2 suite is left.
        tls.cipher_suites = vec![CipherSuite::Tls13];
        assert!(provider(&tls)
            .cipher_suites
            .iter()
            .all(|s| matches!(s, SupportedCipherSuite::Tls13(_))));
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.pem");
        let e = client_config(&missing, None).expect_err("missing");
        assert!(e.to_string().contains("missing.pem"), "{e}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let e = client_config(&empty, None).expect_err("empty");
        assert!(e.to_string().contains("holds no PEM certificate"), "{e}");

        let e = server_config(&ServerTls::certificate_only(empty.clone(), missing.clone()))
            .expect_err("no cert");
        assert!(e.to_string().contains("empty.pem"), "{e}");
    }
}
