//! Reading the file: [`load`] (from disk, with the process environment) and [`parse`] (text
//! and an explicit environment, for tests). Both decode strictly (`raw.rs`) while expanding
//! `${VAR}` (`expand.rs`) and then validate (`validate.rs`).
//!
//! [`load_logging_warnings`] is the one loader the commands and the server use: it logs the
//! warnings met on the way (world-readable secrets) and returns the settings.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::expand::{Expanded, Origin, ENV};
use super::raw::RawFile;
use super::validate::validate;
use super::{ConfigError, Settings};

/// A loaded configuration and the warnings met on the way (e.g. a world-readable secret file).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Settings,
    pub warnings: Vec<String>,
}

/// Loads and validates the configuration at `path`, resolving credentials from the files it
/// names and the environment.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    load_with_web_config(path, None)
}

/// [`load`] with `quorate serve --web.config.file`, which replaces `quorate.web_config_file`
/// (a relative path is relative to the current directory, as for any command-line path).
pub fn load_with_web_config(path: &Path, web_config: Option<&Path>) -> Result<Loaded, ConfigError> {
    let text = read_config_text(path)?;
    let mut warnings = Vec::new();
    let (settings, literal_secret) = parse_with_origin(
        path,
        &text,
        &std::env::vars().collect(),
        web_config,
        &mut warnings,
    )?;
    if literal_secret {
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o004 != 0 {
                warnings.push(format!(
                    "{}: quorate.mysql.password is written in this file, which every user can read (mode {:o}); use ${{VAR}}, password_file or chmod o-r",
                    path.display(),
                    meta.permissions().mode() & 0o777
                ));
            }
        }
    }
    Ok(Loaded { settings, warnings })
}

/// The configuration file's text: size-capped, and a FIFO or device is refused (see
/// [`crate::bounded`]).
pub fn read_config_text(path: &Path) -> Result<String, ConfigError> {
    crate::bounded::read_to_string(path, crate::bounded::CONFIG_FILE_CAP).map_err(|e| {
        let source = match e {
            crate::bounded::ReadError::Io { source, .. } => source,
            other => std::io::Error::other(other.reason()),
        };
        ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// [`load`], logging each warning (at WARN) and returning the settings. Every command and the
/// server's (re)load use this, so a warning is reported the same way everywhere.
pub fn load_logging_warnings(path: &Path) -> Result<Settings, ConfigError> {
    load_logging_warnings_with_web_config(path, None)
}

/// [`load_logging_warnings`] with `--web.config.file` (see [`load_with_web_config`]).
pub fn load_logging_warnings_with_web_config(
    path: &Path,
    web_config: Option<&Path>,
) -> Result<Settings, ConfigError> {
    let loaded = load_with_web_config(path, web_config)?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    Ok(loaded.settings)
}

/// Parses configuration text. `env` is the environment used for `${VAR}` expansion; files
/// named by the configuration are read relative to the current directory.
pub fn parse(
    path: &Path,
    text: &str,
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<Settings, ConfigError> {
    parse_with_origin(path, text, env, None, warnings).map(|(settings, _)| settings)
}

/// [`parse`], also saying whether the file itself holds a password (not a `${VAR}`).
fn parse_with_origin(
    path: &Path,
    text: &str,
    env: &BTreeMap<String, String>,
    web_config: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<(Settings, bool), ConfigError> {
    check_nesting(text).map_err(|message| ConfigError::Syntax {
        path: path.to_path_buf(),
        message,
    })?;
    let mut raw: RawFile = ENV.set(env, || {
        serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    })?;
    let literal_secret = raw
        .quorate
        .mysql
        .password
        .as_ref()
        .is_some_and(|p| p.1 == Origin::Literal);
    if let Some(web) = web_config {
        let web = std::path::absolute(web).unwrap_or_else(|_| web.to_path_buf());
        raw.quorate.web_config_file = Some(Expanded(web.display().to_string(), Origin::Literal));
    }
    Ok((validate(path, raw, warnings)?, literal_secret))
}

/// The deepest nesting of flow collections (`[…]`, `{…}`) a configuration may have. quorate's
/// own keys need two; the YAML parser's time grows with the square of the depth (a 120 KB file
/// of brackets took seconds), so a deeper file is refused before it is parsed.
pub const MAX_FLOW_NESTING: usize = 64;

/// Refuses text whose flow collections nest deeper than [`MAX_FLOW_NESTING`], naming the line.
/// A cheap scan, not a parser: brackets in quoted scalars and comments are skipped; a quote
/// opens a quoted scalar only where one can start (after a space, `[`, `{`, `,` or at a line's
/// start), so an apostrophe inside a word is text.
fn check_nesting(text: &str) -> Result<(), String> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut previous = '\n';
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\n') => line += 1,
            // '' inside a single-quoted scalar is an escaped quote.
            (Some('\''), '\'') if chars.peek() == Some(&'\'') => {
                chars.next();
            }
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '#') if previous.is_whitespace() => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
                previous = '\n';
                continue;
            }
            (None, '"' | '\'')
                if previous.is_whitespace() || matches!(previous, '[' | '{' | ',') =>
            {
                quote = Some(c)
            }
            (None, '[' | '{') => {
                depth += 1;
                if depth > MAX_FLOW_NESTING {
                    return Err(format!(
                        "line {line}: collections nested deeper than {MAX_FLOW_NESTING} levels: refused"
                    ));
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            (None, _) => {}
        }
        previous = c;
    }
    Ok(())
}
