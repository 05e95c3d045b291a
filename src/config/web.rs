//! The web configuration file of `quorate serve` in the Prometheus exporter-toolkit format
//! (`--web.config.file`, or `quorate.web_config_file`): `tls_server_config`, `basic_auth_users`
//! (bcrypt hashes) and `http_server_config.headers`, so the file an Ansible or Puppet role
//! writes for node_exporter works unchanged and passes `promtool check web-config`.
//!
//! Owns: the file's shape (strict: an unknown key is an error naming the file and the key),
//! what quorate can honour of it (everything else is refused with the reason, never ignored),
//! and [`ServerTls`], the one description of how `quorate serve` speaks TLS, which the older
//! `quorate.tls` (certificate and key only) maps onto as well. Relative paths are resolved
//! against the web file's directory, as exporter-toolkit does. No `${VAR}` expansion: the
//! format has none.
//!
//! [`parse`] is pure (text in, settings out); [`load`] reads the file with the bounded reader
//! and checks the key file is readable (and not world-readable).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::secrets::read_secret_file;
use super::{ConfigError, Secret};

/// How `quorate serve` speaks TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTls {
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key (kept 0600: a world-readable key is warned about).
    pub key_file: PathBuf,
    /// Whether clients must, may or need not present a certificate.
    pub client_auth: ClientAuth,
    /// CA bundle (PEM) client certificates must chain to; set exactly when `client_auth` asks
    /// for certificates.
    pub client_ca_file: Option<PathBuf>,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
    /// TLS 1.2 cipher suites allowed, in the server's order of preference; empty: the TLS
    /// library's defaults. (TLS 1.3 suites are always all on, as in Go.)
    pub cipher_suites: Vec<CipherSuite>,
    /// The server picks the suite by its own order (`prefer_server_cipher_suites`).
    pub prefer_server_cipher_suites: bool,
    /// Key exchange groups in order of preference; empty: the defaults.
    pub curve_preferences: Vec<Curve>,
}

impl ServerTls {
    /// Certificate and key only (`quorate.tls`): no client certificates, TLS 1.2 and 1.3.
    pub fn certificate_only(cert_file: PathBuf, key_file: PathBuf) -> ServerTls {
        ServerTls {
            cert_file,
            key_file,
            client_auth: ClientAuth::NoClientCert,
            client_ca_file: None,
            min_version: TlsVersion::Tls12,
            max_version: TlsVersion::Tls13,
            cipher_suites: Vec::new(),
            prefer_server_cipher_suites: true,
            curve_preferences: Vec::new(),
        }
    }

    /// Clients that present a certificate are verified against `client_ca_file`.
    pub fn verifies_clients(&self) -> bool {
        self.client_auth != ClientAuth::NoClientCert
    }
}

/// `client_auth_type`: Go's names; only the ones that verify a certificate, or ask for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    NoClientCert,
    /// A client may present a certificate; if it does, it must chain to the client CA.
    VerifyClientCertIfGiven,
    /// Every client must present a certificate chaining to the client CA.
    RequireAndVerifyClientCert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// The TLS 1.2 cipher suites the TLS library (rustls) implements, by Go's names. The TLS 1.3
/// ones are accepted in the list (Go lists them too) and are always enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherSuite {
    EcdheEcdsaAes128Gcm,
    EcdheEcdsaAes256Gcm,
    EcdheEcdsaChacha20,
    EcdheRsaAes128Gcm,
    EcdheRsaAes256Gcm,
    EcdheRsaChacha20,
    /// A TLS 1.3 suite: always on.
    Tls13,
}

/// `curve_preferences`, by Go's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    X25519,
    P256,
    P384,
}

/// What the web configuration file asks beyond TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebSettings {
    /// The web configuration file, when one is used.
    pub file: Option<PathBuf>,
    /// User name → bcrypt hash. Empty: no basic authentication.
    pub basic_auth_users: BTreeMap<String, Secret>,
    /// Response headers added to every answer (`http_server_config.headers`).
    pub headers: Vec<(String, String)>,
}

/// A web configuration file, read: the TLS settings (`None`: plain HTTP) and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfig {
    pub tls: Option<ServerTls>,
    pub web: WebSettings,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    #[serde(default)]
    tls_server_config: Option<RawTlsServer>,
    #[serde(default)]
    http_server_config: Option<RawHttpServer>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
    #[serde(default)]
    rate_limit: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTlsServer {
    #[serde(default)]
    cert: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    client_ca: Option<String>,
    #[serde(default)]
    cert_file: Option<String>,
    #[serde(default)]
    key_file: Option<String>,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    client_ca_file: Option<String>,
    #[serde(default)]
    client_allowed_sans: Option<Vec<String>>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    #[serde(default)]
    cipher_suites: Option<Vec<String>>,
    #[serde(default)]
    prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    curve_preferences: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttpServer {
    #[serde(default)]
    http2: Option<bool>,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
}

/// The response headers exporter-toolkit allows, with the values it accepts (`None`: any).
const HEADERS: &[(&str, Option<&[&str]>)] = &[
    ("Content-Security-Policy", None),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-XSS-Protection", None),
    ("Strict-Transport-Security", None),
];

/// Reads the web configuration file at `path` (bounded), parses it and checks that its key
/// file can be read; a world-readable key is added to `warnings`.
pub fn load(path: &Path, warnings: &mut Vec<String>) -> Result<WebConfig, ConfigError> {
    let text =
        crate::bounded::read_to_string(path, crate::bounded::SMALL_FILE_CAP).map_err(|e| {
            ConfigError::Read {
                path: path.to_path_buf(),
                source: std::io::Error::other(e.reason()),
            }
        })?;
    let config = parse(path, &text, warnings)?;
    if let Some(tls) = &config.tls {
        read_secret_file(path, "tls_server_config.key_file", &tls.key_file, warnings)?;
    }
    Ok(config)
}

/// Parses the text of the web configuration file at `path` (pure: nothing is read).
pub fn parse(
    path: &Path,
    text: &str,
    warnings: &mut Vec<String>,
) -> Result<WebConfig, ConfigError> {
    let invalid = |key: &str, message: String| ConfigError::invalid(path, key, message);
    // An empty file is a valid configuration: plain HTTP, no authentication.
    let raw: RawWeb = if text.trim().is_empty() {
        RawWeb::default()
    } else {
        serde_yaml_ng::from_str::<Option<RawWeb>>(text)
            .map_err(|e| ConfigError::Syntax {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?
            .unwrap_or_default()
    };
    if raw.rate_limit.is_some() {
        return Err(invalid(
            "rate_limit",
            "is not supported by quorate (quorate.http.max_connections bounds the load); remove it"
                .into(),
        ));
    }
    let base_dir = path.parent().unwrap_or(Path::new("."));
    let tls = match raw.tls_server_config {
        Some(t) => tls_server_config(t, base_dir, &invalid)?,
        None => None,
    };
    let mut headers = Vec::new();
    if let Some(http) = raw.http_server_config {
        if http.http2 == Some(true) {
            // A capability, negotiated: clients that would use HTTP/2 fall back to HTTP/1.1.
            warnings.push(format!(
                "{}: http_server_config.http2: quorate serves HTTP/1.1 only; clients negotiate it",
                path.display()
            ));
        }
        for (name, value) in http.headers.unwrap_or_default() {
            let key = format!("http_server_config.headers.{name}");
            let Some((canonical, allowed)) =
                HEADERS.iter().find(|(h, _)| h.eq_ignore_ascii_case(&name))
            else {
                let names: Vec<&str> = HEADERS.iter().map(|(h, _)| *h).collect();
                return Err(invalid(
                    &key,
                    format!(
                        "is not a header that can be set (allowed: {})",
                        names.join(", ")
                    ),
                ));
            };
            let value = value.trim().to_string();
            if value.is_empty() {
                continue;
            }
            if let Some(allowed) = allowed {
                if !allowed.iter().any(|a| a.eq_ignore_ascii_case(&value)) {
                    return Err(invalid(
                        &key,
                        format!("{value:?} is not one of {}", allowed.join(", ")),
                    ));
                }
            }
            if axum::http::HeaderValue::from_str(&value).is_err() {
                return Err(invalid(&key, "is not a valid header value".into()));
            }
            headers.push((canonical.to_string(), value));
        }
    }
    let mut basic_auth_users = BTreeMap::new();
    for (user, hash) in raw.basic_auth_users.unwrap_or_default() {
        let key = format!("basic_auth_users.{user}");
        if user.contains(':') {
            return Err(invalid(&key, "a user name cannot contain ':'".into()));
        }
        if hash.trim().parse::<bcrypt::HashParts>().is_err() {
            // The value itself is not echoed: it may be a password written by mistake.
            return Err(invalid(
                &key,
                "is not a bcrypt hash (make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n')".into(),
            ));
        }
        basic_auth_users.insert(user, Secret::new(hash.trim()));
    }
    Ok(WebConfig {
        tls,
        web: WebSettings {
            file: Some(path.to_path_buf()),
            basic_auth_users,
            headers,
        },
    })
}

/// `tls_server_config` → [`ServerTls`]; `None` when it names no certificate at all (plain HTTP,
/// as exporter-toolkit does).
fn tls_server_config(
    t: RawTlsServer,
    base_dir: &Path,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Option<ServerTls>, ConfigError> {
    for (key, set) in [
        ("cert", t.cert.is_some()),
        ("key", t.key.is_some()),
        ("client_ca", t.client_ca.is_some()),
    ] {
        if set {
            return Err(invalid(
                &format!("tls_server_config.{key}"),
                format!("inline PEM is not supported by quorate; use {key}_file"),
            ));
        }
    }
    if t.client_allowed_sans
        .as_ref()
        .is_some_and(|s| !s.is_empty())
    {
        return Err(invalid(
            "tls_server_config.client_allowed_sans",
            "is not supported by quorate: trust is the client CA (use a CA of its own)".into(),
        ));
    }
    let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let resolve = |v: String| super::validate::resolve_path(base_dir, v.trim());
    let (cert_file, key_file) = match (nonempty(t.cert_file), nonempty(t.key_file)) {
        (None, None) => {
            if t.client_auth_type.is_some() || t.client_ca_file.is_some() {
                return Err(invalid(
                    "tls_server_config",
                    "client certificates need TLS: set cert_file and key_file".into(),
                ));
            }
            return Ok(None);
        }
        (Some(_), None) => return Err(invalid("tls_server_config.key_file", "is missing".into())),
        (None, Some(_)) => return Err(invalid("tls_server_config.cert_file", "is missing".into())),
        (Some(c), Some(k)) => (resolve(c), resolve(k)),
    };
    const AUTH: &str = "tls_server_config.client_auth_type";
    let client_auth = match t.client_auth_type.as_deref().map(str::trim) {
        None | Some("") | Some("NoClientCert") => ClientAuth::NoClientCert,
        Some("VerifyClientCertIfGiven") => ClientAuth::VerifyClientCertIfGiven,
        Some("RequireAndVerifyClientCert") => ClientAuth::RequireAndVerifyClientCert,
        Some(other @ ("RequestClientCert" | "RequireAnyClientCert")) => {
            return Err(invalid(
                AUTH,
                format!("{other} accepts certificates nobody verified; quorate does not (use VerifyClientCertIfGiven or RequireAndVerifyClientCert)"),
            ))
        }
        Some(other) => {
            return Err(invalid(
                AUTH,
                format!("{other:?} is not one of NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert"),
            ))
        }
    };
    let client_ca_file = nonempty(t.client_ca_file).map(resolve);
    match (client_auth, &client_ca_file) {
        (ClientAuth::NoClientCert, Some(_)) => {
            return Err(invalid(
                "tls_server_config.client_ca_file",
                "is set but client_auth_type asks for no client certificate".into(),
            ))
        }
        (ClientAuth::NoClientCert, None) | (_, Some(_)) => {}
        (_, None) => {
            return Err(invalid(
                "tls_server_config.client_ca_file",
                "is needed to verify client certificates".into(),
            ))
        }
    }
    let version = |key: &str, v: Option<String>, default| match v.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some("TLS12") => Ok(TlsVersion::Tls12),
        Some("TLS13") => Ok(TlsVersion::Tls13),
        Some(old @ ("TLS10" | "TLS11")) => Err(invalid(
            &format!("tls_server_config.{key}"),
            format!("{old} is not supported by quorate's TLS library (TLS12 and TLS13 are)"),
        )),
        Some(other) => Err(invalid(
            &format!("tls_server_config.{key}"),
            format!("{other:?} is not one of TLS10, TLS11, TLS12, TLS13"),
        )),
    };
    let min_version = version("min_version", t.min_version, TlsVersion::Tls12)?;
    let max_version = version("max_version", t.max_version, TlsVersion::Tls13)?;
    if min_version > max_version {
        return Err(invalid(
            "tls_server_config.min_version",
            "is above max_version".into(),
        ));
    }
    let mut cipher_suites = Vec::new();
    for name in t.cipher_suites.unwrap_or_default() {
        cipher_suites.push(cipher_suite(name.trim()).ok_or_else(|| {
            invalid(
                "tls_server_config.cipher_suites",
                format!("{name} is not supported by quorate's TLS library (ECDHE with AES-GCM or ChaCha20-Poly1305 are)"),
            )
        })?);
    }
    let mut curve_preferences = Vec::new();
    for name in t.curve_preferences.unwrap_or_default() {
        curve_preferences.push(match name.trim() {
            "X25519" => Curve::X25519,
            "CurveP256" => Curve::P256,
            "CurveP384" => Curve::P384,
            other => {
                return Err(invalid(
                    "tls_server_config.curve_preferences",
                    format!("{other} is not supported by quorate's TLS library (X25519, CurveP256 and CurveP384 are)"),
                ))
            }
        });
    }
    Ok(Some(ServerTls {
        cert_file,
        key_file,
        client_auth,
        client_ca_file,
        min_version,
        max_version,
        cipher_suites,
        prefer_server_cipher_suites: t.prefer_server_cipher_suites.unwrap_or(true),
        curve_preferences,
    }))
}

/// A cipher suite by Go's name (Go accepts the ChaCha20 ones without `_SHA256` too).
fn cipher_suite(name: &str) -> Option<CipherSuite> {
    Some(match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => CipherSuite::EcdheEcdsaAes128Gcm,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => CipherSuite::EcdheEcdsaAes256Gcm,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => CipherSuite::EcdheEcdsaChacha20,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => CipherSuite::EcdheRsaAes128Gcm,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => CipherSuite::EcdheRsaAes256Gcm,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
            CipherSuite::EcdheRsaChacha20
        }
        "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256" => {
            CipherSuite::Tls13
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";

    fn parse_text(text: &str) -> Result<WebConfig, ConfigError> {
        parse(Path::new("/etc/quorate/web.yml"), text, &mut Vec::new())
    }

    #[test]
    fn a_full_file_is_read_with_paths_relative_to_it() {
        let text = format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: /k/server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  min_version: TLS13\n  cipher_suites: [TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n  curve_preferences: [X25519]\n  prefer_server_cipher_suites: false\nhttp_server_config:\n  headers:\n    x-frame-options: deny\n    Content-Security-Policy: \"default-src 'self'\"\n    X-XSS-Protection: ''\nbasic_auth_users:\n  prometheus: '{HASH}'\n"
        );
        let c = parse_text(&text).expect("valid");
        let tls = c.tls.expect("tls");
        assert_eq!(tls.cert_file, Path::new("/etc/quorate/server.pem"));
        assert_eq!(tls.key_file, Path::new("/k/server.key"));
        assert_eq!(tls.client_auth, ClientAuth::RequireAndVerifyClientCert);
        assert_eq!(
            tls.client_ca_file.as_deref(),
            Some(Path::new("/etc/quorate/ca.pem"))
        );
        assert_eq!(tls.min_version, TlsVersion::Tls13);
        assert_eq!(
            tls.cipher_suites,
            [
                CipherSuite::EcdheRsaChacha20,
                CipherSuite::EcdheEcdsaAes256Gcm
            ]
        );
        assert_eq!(tls.curve_preferences, [Curve::X25519]);
        assert!(!tls.prefer_server_cipher_suites);
        assert_eq!(
            c.web.headers,
            [
                (
                    "Content-Security-Policy".to_string(),
                    "default-src 'self'".to_string()
                ),
                ("X-Frame-Options".to_string(), "deny".to_string()),
            ]
        );
        assert_eq!(c.web.basic_auth_users["prometheus"].expose(), HASH);
    }

    #[test]
    fn basic_auth_alone_is_plain_http_and_an_empty_file_is_valid() {
        let c = parse_text(&format!("basic_auth_users:\n  u: {HASH}\n")).expect("valid");
        assert!(c.tls.is_none());
        assert_eq!(c.web.basic_auth_users.len(), 1);
        let empty = parse_text("").expect("empty");
        assert!(empty.tls.is_none() && empty.web.basic_auth_users.is_empty());
        let tls_without_files = parse_text("tls_server_config: {}\n").expect("no certificate");
        assert!(tls_without_files.tls.is_none());
    }

    #[test]
    fn what_cannot_be_honoured_is_refused_naming_the_file_and_key() {
        let cases = [
            ("bogus: 1\n", "unknown field `bogus`"),
            ("tls_server_config:\n  cert_fil: x\n", "unknown field `cert_fil`"),
            ("tls_server_config:\n  cert_file: a\n", "tls_server_config.key_file: is missing"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAnyClientCert\n", "nobody verified"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: VerifyClientCertIfGiven\n", "client_ca_file: is needed"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n", "asks for no client certificate"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS10\n", "TLS10 is not supported"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n", "above max_version"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n", "TLS_RSA_WITH_AES_128_CBC_SHA is not supported"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [CurveP521]\n", "CurveP521 is not supported"),
            ("tls_server_config:\n  cert: x\n", "inline PEM"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [x]\n", "client_allowed_sans"),
            ("http_server_config:\n  headers:\n    Server: x\n", "http_server_config.headers.Server"),
            ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n", "not one of deny, sameorigin"),
            ("basic_auth_users:\n  u: plaintext\n", "basic_auth_users.u: is not a bcrypt hash"),
            ("rate_limit:\n  interval: 1s\n  burst: 5\n", "rate_limit"),
        ];
        for (text, want) in cases {
            let e = parse_text(text).expect_err(text).to_string();
            assert!(e.contains("/etc/quorate/web.yml"), "{text}: {e}");
            assert!(e.contains(want), "{text}: {e}");
            assert!(!e.contains("plaintext"), "a wrong hash is not echoed: {e}");
        }
    }

    #[test]
    fn http2_is_accepted_with_a_warning() {
        let mut warnings = Vec::new();
        parse(
            Path::new("w.yml"),
            "http_server_config:\n  http2: true\n",
            &mut warnings,
        )
        .expect("valid");
        assert!(
            warnings.iter().any(|w| w.contains("HTTP/1.1")),
            "{warnings:?}"
        );
    }
}
