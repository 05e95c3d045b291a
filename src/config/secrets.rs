//! Secrets and the MySQL account: [`Secret`] (never printed), [`MysqlAuth`], reading a file that
//! holds a secret (with the world-readable warning), the password file's first-line rule, the
//! `[client]` group of a my.cnf-style defaults file and the default user.
//!
//! Credentials are resolved here and nowhere else: from `quorate.mysql` when the configuration
//! is validated, and with [`CredentialOverrides`] for the command line of `quorate check`.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::raw::RawMysql;
use super::validate::ConfigFile;
use super::ConfigError;

/// A secret value. It is never printed: `Debug` and `Display` show `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself, for handing to a client library. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The MySQL user when neither the configuration nor the command line names one.
pub const DEFAULT_USER: &str = "quorate";

/// The MySQL account quorate monitors with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlAuth {
    pub user: String,
    pub password: Option<Secret>,
}

impl Default for MysqlAuth {
    /// [`DEFAULT_USER`], no password.
    fn default() -> MysqlAuth {
        MysqlAuth {
            user: DEFAULT_USER.to_string(),
            password: None,
        }
    }
}

/// A password file whose first line is empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the first line is empty")]
pub struct EmptyFirstLine;

/// The password held in a password file: its first line (without a trailing CR); the rest of
/// the file is ignored, so a trailing newline or a comment line does not count.
pub fn password_from_file_text(text: &str) -> Result<Secret, EmptyFirstLine> {
    let first = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if first.is_empty() {
        return Err(EmptyFirstLine);
    }
    Ok(Secret::new(first))
}

/// `quorate.mysql`: at most one of `password`, `password_file` and `defaults_file`.
pub(super) fn resolve_mysql_auth(
    config: ConfigFile<'_>,
    raw: &RawMysql,
    warnings: &mut Vec<String>,
) -> Result<MysqlAuth, ConfigError> {
    let sources = [
        raw.password.is_some(),
        raw.password_file.is_some(),
        raw.defaults_file.is_some(),
    ];
    if sources.iter().filter(|s| **s).count() > 1 {
        return Err(config.invalid(
            "quorate.mysql",
            "set only one of password, password_file and defaults_file",
        ));
    }
    let mut user = raw.user.as_ref().map(|u| u.0.trim().to_string());
    let mut password = raw.password.as_ref().map(|p| Secret::new(p.0.clone()));

    if let Some(file) = &raw.password_file {
        let file = config.resolve(&file.0);
        let text = read_secret_file(config.path, "quorate.mysql.password_file", &file, warnings)?;
        let secret = password_from_file_text(&text).map_err(|e| ConfigError::SecretFile {
            path: config.path.to_path_buf(),
            key: "quorate.mysql.password_file".into(),
            file,
            message: e.to_string(),
        })?;
        password = Some(secret);
    }
    if let Some(file) = &raw.defaults_file {
        let file = config.resolve(&file.0);
        let text = read_secret_file(config.path, "quorate.mysql.defaults_file", &file, warnings)?;
        let client = parse_defaults_file(&text).map_err(|e| ConfigError::SecretFile {
            path: config.path.to_path_buf(),
            key: "quorate.mysql.defaults_file".into(),
            file: file.clone(),
            message: e.to_string(),
        })?;
        if user.is_none() {
            user = client.user;
        }
        password = client.password.map(Secret::new);
    }
    Ok(MysqlAuth {
        user: user
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_USER.to_string()),
        password,
    })
}

/// Credentials given outside the configuration file (`quorate check`'s options and
/// environment). Each one that is set replaces what the configuration says.
#[derive(Debug, Clone, Default)]
pub struct CredentialOverrides<'a> {
    /// A password from the environment; empty counts as unset (Icinga 2 passes an undefined
    /// `env` macro as "").
    pub password: Option<String>,
    /// A my.cnf-style file: its `[client]` user and password replace the configured ones.
    pub defaults_file: Option<&'a Path>,
    /// A password file (first line), over the environment and the defaults file.
    pub password_file: Option<&'a Path>,
    /// The user, over everything else.
    pub user: Option<&'a str>,
}

/// Why [`CredentialOverrides`] could not be applied. Each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(transparent)]
    Read(crate::bounded::ReadError),
    #[error("{}: {source}", file.display())]
    PasswordFile {
        file: PathBuf,
        source: EmptyFirstLine,
    },
    #[error("{}: {source}", file.display())]
    DefaultsFile {
        file: PathBuf,
        source: DefaultsError,
    },
}

impl CredentialOverrides<'_> {
    /// `configured` (else [`MysqlAuth::default`]) with these overrides applied, in order: the
    /// environment's password, the defaults file, the password file, the user.
    pub fn apply(&self, configured: Option<&MysqlAuth>) -> Result<MysqlAuth, CredentialError> {
        let mut auth = configured.cloned().unwrap_or_default();
        if let Some(pw) = self.password.as_ref().filter(|p| !p.is_empty()) {
            auth.password = Some(Secret::new(pw.clone()));
        }
        if let Some(file) = self.defaults_file {
            let client = parse_defaults_file(&read_credential_file(file)?).map_err(|source| {
                CredentialError::DefaultsFile {
                    file: file.to_path_buf(),
                    source,
                }
            })?;
            if let Some(user) = client.user {
                auth.user = user;
            }
            auth.password = client.password.map(Secret::new);
        }
        if let Some(file) = self.password_file {
            let text = read_credential_file(file)?;
            let secret =
                password_from_file_text(&text).map_err(|source| CredentialError::PasswordFile {
                    file: file.to_path_buf(),
                    source,
                })?;
            auth.password = Some(secret);
        }
        if let Some(user) = self.user {
            auth.user = user.to_string();
        }
        Ok(auth)
    }
}

/// A password or defaults file: size-capped, and a FIFO or device is refused (see
/// [`crate::bounded`]).
fn read_credential_file(file: &Path) -> Result<String, CredentialError> {
    crate::bounded::read_to_string(file, crate::bounded::SMALL_FILE_CAP)
        .map_err(CredentialError::Read)
}

pub(super) fn read_secret_file(
    path: &Path,
    key: &str,
    file: &Path,
    warnings: &mut Vec<String>,
) -> Result<String, ConfigError> {
    let err = |message: String| ConfigError::SecretFile {
        path: path.to_path_buf(),
        key: key.to_string(),
        file: file.to_path_buf(),
        message,
    };
    let meta = std::fs::metadata(file).map_err(|e| err(e.to_string()))?;
    if meta.permissions().mode() & 0o004 != 0 {
        warnings.push(format!(
            "{}: {key}: {} holds a secret and is readable by every user (mode {:o}); chmod o-r it",
            path.display(),
            file.display(),
            meta.permissions().mode() & 0o777
        ));
    }
    crate::bounded::read_to_string(file, crate::bounded::SMALL_FILE_CAP)
        .map_err(|e| err(e.reason()))
}

/// The `user` and `password` of a my.cnf-style file's `[client]` (or `[client-mariadb]`) group.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ClientDefaults {
    pub user: Option<String>,
    pub password: Option<String>,
}

/// Reads the groups of a my.cnf-style file that MariaDB Connector/C reads (`[client]`,
/// `[client-server]`, `[client-mariadb]`). Later values win, as in the MariaDB client. Quotes
/// around a value are removed; a `loose-` prefix on an option is dropped, as the client does.
pub fn parse_defaults_file(text: &str) -> Result<ClientDefaults, DefaultsError> {
    let mut out = ClientDefaults::default();
    let mut in_client = false;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(directive) = line.strip_prefix('!') {
            // The client would read other files here; quorate reads one file only, and a
            // password skipped silently would be the wrong one.
            let name = directive.split_whitespace().next().unwrap_or("");
            return Err(DefaultsError {
                line: i + 1,
                message: format!(
                    "!{name} is not followed by quorate: name the file that holds the [client] group itself"
                ),
            });
        }
        if let Some(group) = line.strip_prefix('[') {
            if let Some((group, _)) = group.split_once(']') {
                let group = group.trim();
                in_client = CLIENT_GROUPS.contains(&group);
            }
            continue;
        }
        if !in_client {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            if strip_end_comment(line).trim() == "password" {
                return Err(DefaultsError {
                    line: i + 1,
                    message:
                        "password without a value (the client would ask for it): write password=…"
                            .into(),
                });
            }
            continue;
        };
        let key = key.trim().replace('-', "_");
        let key = key.strip_prefix("loose_").unwrap_or(&key);
        let value = defaults_value(value);
        match key {
            "user" => out.user = Some(value),
            "password" => out.password = Some(value),
            _ => {}
        }
    }
    Ok(out)
}

/// The groups of a defaults file the MariaDB client library reads (Connector/C's defaults).
const CLIENT_GROUPS: &[&str] = &["client", "client-server", "client-mariadb"];

/// A line of a defaults file that quorate cannot take as the client would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DefaultsError {
    pub line: usize,
    pub message: String,
}

/// `text` up to a `#` outside quotes (a trailing comment), as the MariaDB client cuts it.
fn strip_end_comment(text: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '\'' | '"' if quote.is_none() => quote = Some(c),
            c if quote == Some(c) => quote = None,
            '#' if quote.is_none() => return &text[..i],
            _ => {}
        }
    }
    text
}

/// A value as the MariaDB client reads it: the trailing comment cut, surrounding whitespace and
/// one pair of matching quotes removed, then the escapes `\n \t \r \b \s \" \' \\` replaced
/// (an unknown escape keeps its backslash).
fn defaults_value(raw: &str) -> String {
    let mut value = strip_end_comment(raw).trim();
    if value.len() >= 2
        && ((value.starts_with('"') && value.ends_with('"'))
            || (value.starts_with('\'') && value.ends_with('\'')))
    {
        value = &value[1..value.len() - 1];
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('s') => out.push(' '),
            Some(e @ ('"' | '\'' | '\\')) => out.push(e),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}
