//! The client side of the peers' recovery endpoints: `GET /galera/state` and
//! `POST /galera/recover-position` on another node's `quorate serve`, with the bearer token,
//! bounded by a timeout. Plain HTTP/1.1 over TCP (hyper), one connection per request.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

use crate::config::Secret;

/// One answer: the status code and the body text.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
}

/// Sends one request to `endpoint` (`http://host:port`) + `path` and reads the whole answer.
pub async fn request(
    method: Method,
    endpoint: &str,
    path: &str,
    token: &Secret,
    timeout: Duration,
) -> Result<Answer, String> {
    match tokio::time::timeout(timeout, request_unbounded(method, endpoint, path, token)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

async fn request_unbounded(
    method: Method,
    endpoint: &str,
    path: &str,
    token: &Secret,
) -> Result<Answer, String> {
    let authority = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("{endpoint:?} is not an http:// URL"))?
        .trim_end_matches('/');
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, authority)
        .header(
            hyper::header::AUTHORIZATION,
            format!("Bearer {}", token.expose()),
        )
        .header(hyper::header::CONNECTION, "close")
        .body(Full::new(Bytes::new()))
        .map_err(|e| format!("building the request: {e}"))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?
        .to_bytes();
    driver.abort();
    Ok(Answer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
