//! `${VAR}` expansion of configuration values, and [`Expanded`], a string expanded while it is
//! decoded (so serde_yaml_ng attaches the line of a missing variable to the error).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer};

// The environment is passed in (tests use their own) through a scoped thread-local, because
// serde's Deserialize has no context argument; expanding while decoding lets serde_yaml_ng attach
// the line of a missing variable to the error.

struct ScopedEnv {
    current: std::cell::RefCell<Option<BTreeMap<String, String>>>,
}

thread_local! {
    static ENV_SLOT: ScopedEnv = const { ScopedEnv { current: std::cell::RefCell::new(None) } };
}

pub(super) struct EnvScope;
pub(super) static ENV: EnvScope = EnvScope;

impl EnvScope {
    pub(super) fn set<T>(&self, env: &BTreeMap<String, String>, f: impl FnOnce() -> T) -> T {
        ENV_SLOT.with(|slot| *slot.current.borrow_mut() = Some(env.clone()));
        let out = f();
        ENV_SLOT.with(|slot| *slot.current.borrow_mut() = None);
        out
    }
}

fn lookup_env(name: &str) -> Option<String> {
    ENV_SLOT.with(|slot| {
        slot.current
            .borrow()
            .as_ref()
            .map(|env| env.get(name).cloned())
            .unwrap_or_else(|| std::env::var(name).ok())
    })
}

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A `${` without its `}`; `text` is the whole value.
    #[error("unterminated ${{...}} in {text:?}")]
    Unterminated { text: String },
    /// `${}` or a name with characters other than ASCII letters, digits and `_`.
    #[error("invalid environment variable name {name:?}")]
    InvalidName { name: String },
    #[error("environment variable {name} is not set")]
    Unset { name: String },
}

/// Replaces every `${NAME}` with the environment variable NAME. `$${` writes a literal `${`.
pub fn expand(text: &str) -> Result<String, ExpandError> {
    expand_counting(text).map(|(value, _)| value)
}

/// [`expand`], also counting the variables substituted.
fn expand_counting(text: &str) -> Result<(String, usize), ExpandError> {
    let mut substitutions = 0;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix("${") {
            out.push_str("${");
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or_else(|| ExpandError::Unterminated {
                text: text.to_string(),
            })?;
            let name = &body[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(ExpandError::InvalidName {
                    name: name.to_string(),
                });
            }
            let value = lookup_env(name).ok_or_else(|| ExpandError::Unset {
                name: name.to_string(),
            })?;
            out.push_str(&value);
            substitutions += 1;
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok((out, substitutions))
}

/// A string value with `${VAR}` expanded at decode time.
pub(super) struct Expanded(pub(super) String, pub(super) Origin);

/// Whether a value was written in the file or came from the environment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    Literal,
    Environment,
}

impl Expanded {
    fn new(raw: &str) -> Result<Expanded, ExpandError> {
        let (value, substitutions) = expand_counting(raw)?;
        let origin = if substitutions == 0 {
            Origin::Literal
        } else {
            Origin::Environment
        };
        Ok(Expanded(value, origin))
    }
}

impl<'de> Deserialize<'de> for Expanded {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor rather than an untagged enum: untagged buffers the value and loses the
        // line that serde_yaml_ng would attach to an expansion error.
        struct ScalarVisitor;
        impl serde::de::Visitor<'_> for ScalarVisitor {
            type Value = Expanded;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Expanded, E> {
                Expanded::new(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Expanded, E> {
                Ok(Expanded(v.to_string(), Origin::Literal))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Expanded, E> {
                Ok(Expanded(v.to_string(), Origin::Literal))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Expanded, E> {
                Ok(Expanded(v.to_string(), Origin::Literal))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Expanded, E> {
                Ok(Expanded(v.to_string(), Origin::Literal))
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}
