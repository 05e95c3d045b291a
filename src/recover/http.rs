//! The recovery endpoints of `quorate serve`, about the local node only:
//!
//! - `GET /galera/state`: the node's [`NodeReport`](super::report::NodeReport) as JSON.
//! - `POST /galera/recover-position`: runs `--wsrep-recover` (refused while mysqld runs, an
//!   SST is in progress or a recovery action holds the node's lock) and returns the outcome.
//!
//! Both need `Authorization: Bearer <quorate.recovery.token>` (compared in constant time);
//! without a configured token they are disabled (404), with a wrong or missing one 401.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::act::{self, ActError};
use super::{gather, RecoverError};
use crate::galera::collector::{LocalNode, LocalSource};

/// Equal-length byte strings compared without an early exit, so the time taken does not tell
/// how much of a guessed token was right. (The length itself is not secret.)
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn json<T: serde::Serialize>(value: &T) -> Response {
    match serde_json::to_string_pretty(value) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body + "\n").into_response(),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding: {e}\n"),
        ),
    }
}

fn text(status: StatusCode, body: String) -> Response {
    (status, body).into_response()
}

/// `None` when the request carries the configured token, else the answer to send.
fn authorize(state: &impl LocalSource, headers: &HeaderMap) -> Option<Response> {
    let settings = state.settings();
    let Some(token) = &settings.recovery.token else {
        return Some(text(
            StatusCode::NOT_FOUND,
            "recovery endpoints are disabled: set quorate.recovery.token or token_file\n".into(),
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(given.trim().as_bytes(), token.expose().as_bytes()) {
        None
    } else {
        Some(
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a valid bearer token is required\n",
            )
                .into_response(),
        )
    }
}

pub async fn state<S: LocalSource>(State(state): State<Arc<S>>, headers: HeaderMap) -> Response {
    if let Some(r) = authorize(state.as_ref(), &headers) {
        return r;
    }
    let LocalNode {
        settings,
        node,
        source,
    } = match state.local_source() {
        Ok(x) => x,
        Err(msg) => return text(StatusCode::SERVICE_UNAVAILABLE, format!("{msg}\n")),
    };
    let Some(n) = settings.node(&node) else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unknown node {node}\n"),
        );
    };
    let report = gather::local_report(&settings, n, source.client()).await;
    json(&report)
}

pub async fn recover_position<S: LocalSource>(
    State(state): State<Arc<S>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = authorize(state.as_ref(), &headers) {
        return r;
    }
    let LocalNode { settings, node, .. } = match state.local_source() {
        Ok(x) => x,
        Err(msg) => return text(StatusCode::SERVICE_UNAVAILABLE, format!("{msg}\n")),
    };
    tracing::info!(node, "recovering the position (--wsrep-recover) on request");
    match act::recover_local_position(&settings, &node).await {
        Ok(rec) => json(&rec),
        Err(ActError {
            error: e @ RecoverError::Refused { .. },
            ..
        }) => text(StatusCode::CONFLICT, format!("{e}\n")),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{}\n", e.error)),
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abcdefghijklmnop", b"abcdefghijklmnop"));
        assert!(!constant_time_eq(b"abcdefghijklmnop", b"abcdefghijklmnoq"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
