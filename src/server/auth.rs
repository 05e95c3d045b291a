//! Basic authentication and response headers of `quorate serve`, as the web configuration file
//! asks (`basic_auth_users`, `http_server_config.headers`; see [`crate::config::web`]).
//!
//! Basic authentication guards every route except the recovery endpoints `/galera/*`: those
//! authenticate peers themselves (bearer token or verified client certificate, see
//! `recover::http`), and both would want the one `Authorization` header. The headers are added
//! to every answer, refusals included.
//!
//! bcrypt is slow on purpose (~50–100 ms at cost 10), so a verified (user, password) pair is
//! remembered — keyed by a salted SHA-256 of the user, the hash and the password, never the
//! password itself — and the work runs on the blocking pool, at most [`BCRYPT_PARALLEL`] at a
//! time, so a flood of wrong passwords queues instead of taking every thread. Failures are not
//! remembered. An unknown user costs a bcrypt verification too, so the answer's timing does
//! not tell which users exist.

use std::collections::{BTreeMap, HashSet};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::AppState;
use crate::config::Secret;

/// bcrypt verifications running at once.
const BCRYPT_PARALLEL: usize = 2;
/// Verified pairs remembered; past this the memory is cleared (users are few).
const CACHE_MAX: usize = 1024;
/// Verified against when the user is unknown (a bcrypt hash of cost 10 of nothing anyone knows),
/// so an unknown user takes as long as a wrong password.
const DECOY_HASH: &str = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";

/// Remembered verifications and the bound on bcrypt work.
pub(super) struct BasicAuth {
    salt: [u8; 16],
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
    slots: Arc<tokio::sync::Semaphore>,
}

impl Default for BasicAuth {
    fn default() -> Self {
        // A per-process random salt: the std hasher's keys are random per `RandomState`.
        let mut salt = [0u8; 16];
        for (i, chunk) in salt.chunks_mut(8).enumerate() {
            let word = std::collections::hash_map::RandomState::new().hash_one(i);
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        BasicAuth {
            salt,
            verified: Arc::new(Mutex::new(HashSet::new())),
            slots: Arc::new(tokio::sync::Semaphore::new(BCRYPT_PARALLEL)),
        }
    }
}

/// `user` and `password` of an `Authorization: Basic …` header.
fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

impl BasicAuth {
    fn key(&self, user: &str, hash: &str, password: &str) -> [u8; 32] {
        let mut digest = Sha256::new();
        digest.update(self.salt);
        for part in [user, hash] {
            digest.update((part.len() as u64).to_le_bytes());
            digest.update(part.as_bytes());
        }
        digest.update(password.as_bytes());
        digest.finalize().into()
    }

    fn remembered(&self, key: &[u8; 32]) -> bool {
        match self.verified.lock() {
            Ok(set) => set.contains(key),
            Err(p) => p.into_inner().contains(key),
        }
    }

    /// Whether `headers` carry the password of one of `users`.
    async fn allows(&self, users: &BTreeMap<String, Secret>, headers: &HeaderMap) -> bool {
        let Some((user, password)) = credentials(headers) else {
            return false;
        };
        let (hash, known) = match users.get(&user) {
            Some(h) => (h.expose().to_string(), true),
            None => (DECOY_HASH.to_string(), false),
        };
        let key = self.key(&user, &hash, &password);
        if known && self.remembered(&key) {
            return true;
        }
        let Ok(permit) = Arc::clone(&self.slots).acquire_owned().await else {
            return false;
        };
        // Remembered by the blocking task itself: a scrape that gave up waiting (its timeout is
        // shorter than a slow bcrypt) still leaves the next one a remembered answer.
        let memory = Arc::clone(&self.verified);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let verified = bcrypt::verify(password.as_bytes(), &hash).unwrap_or(false) && known;
            if verified {
                remember(&memory, key);
            }
            verified
        })
        .await
        .unwrap_or(false)
    }
}

/// Adds a verified pair's key to `verified`.
fn remember(verified: &Mutex<HashSet<[u8; 32]>>, key: [u8; 32]) {
    let mut set = match verified.lock() {
        Ok(set) => set,
        Err(p) => p.into_inner(),
    };
    if set.len() >= CACHE_MAX {
        set.clear();
    }
    set.insert(key);
}

/// Whether basic authentication guards `path` (all but the recovery endpoints).
fn guarded(path: &str) -> bool {
    !path.starts_with("/galera/")
}

/// The middleware: basic authentication where configured and guarded, then the headers.
pub(super) async fn web_guard(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let settings = state.settings();
    let web = &settings.web;
    let refused = !web.basic_auth_users.is_empty()
        && guarded(request.uri().path())
        && !state
            .auth
            .allows(&web.basic_auth_users, request.headers())
            .await;
    let mut response = if refused {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"quorate\"")],
            "Unauthorized\n",
        )
            .into_response()
    } else {
        next.run(request).await
    };
    for (name, value) in &web.headers {
        // Both were checked when the file was read.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).expect("header"),
        );
        h
    }

    #[test]
    fn htpasswd_hashes_verify() {
        // `htpasswd -nbB` writes $2y$; the decoy must cost a real verification, not an error.
        assert_eq!(bcrypt::verify("x", DECOY_HASH).ok(), Some(false));
        let y = bcrypt::hash("pw", 4)
            .expect("hash")
            .replacen("$2b$", "$2y$", 1);
        assert_eq!(bcrypt::verify("pw", &y).ok(), Some(true));
    }

    #[test]
    fn credentials_are_read_from_the_basic_header_only() {
        assert_eq!(
            credentials(&basic("u", "p:w")),
            Some(("u".into(), "p:w".into()))
        );
        let mut bearer = HeaderMap::new();
        bearer.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(credentials(&bearer), None);
        assert_eq!(credentials(&HeaderMap::new()), None);
        assert!(guarded("/metrics") && guarded("/") && !guarded("/galera/state"));
    }

    #[tokio::test]
    async fn a_verified_password_is_remembered_and_a_wrong_one_never() {
        let hash = bcrypt::hash("secret", 4).expect("hash");
        let users: BTreeMap<String, Secret> = [("prom".to_string(), Secret::new(hash.clone()))]
            .into_iter()
            .collect();
        let auth = BasicAuth::default();
        assert!(!auth.allows(&users, &basic("prom", "wrong")).await);
        assert!(!auth.allows(&users, &basic("nobody", "secret")).await);
        assert!(!auth.allows(&users, &HeaderMap::new()).await);
        assert!(auth.allows(&users, &basic("prom", "secret")).await);
        let key = auth.key("prom", &hash, "secret");
        assert!(auth.remembered(&key));
        assert!(!auth.remembered(&auth.key("prom", &hash, "wrong")));
        // A changed hash (a new password in the file) does not match what was remembered.
        let other: BTreeMap<String, Secret> = [(
            "prom".to_string(),
            Secret::new(bcrypt::hash("new", 4).expect("hash")),
        )]
        .into_iter()
        .collect();
        assert!(!auth.allows(&other, &basic("prom", "secret")).await);
    }
}
