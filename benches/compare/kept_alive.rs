//! A scraper that keeps its HTTP/1.1 connection open between scrapes, as Prometheus (since 2.0)
//! keeps one per target: the serial scrapes the goals judge. The tests' `common::get` opens a
//! connection per request (`Connection: close`), the other mode the report shows.
//!
//! Reads exactly one response per request: by `Content-Length` (quorate) or chunked transfer
//! encoding (Go's net/http streams larger bodies that way). Any error drops the connection; the
//! next scrape opens a new one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Prometheus' default scrape timeout.
const TIMEOUT: Duration = Duration::from_secs(10);

pub struct KeptAlive {
    addr: SocketAddr,
    stream: Option<BufReader<TcpStream>>,
}

impl KeptAlive {
    pub fn new(addr: SocketAddr) -> KeptAlive {
        KeptAlive { addr, stream: None }
    }

    /// GET `path`; the status and the body.
    pub fn get(&mut self, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
        let result = self.exchange(path);
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    fn exchange(&mut self, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
        if self.stream.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, TIMEOUT)?;
            stream.set_read_timeout(Some(TIMEOUT))?;
            stream.set_write_timeout(Some(TIMEOUT))?;
            stream.set_nodelay(true)?;
            self.stream = Some(BufReader::new(stream));
        }
        let Some(reader) = self.stream.as_mut() else {
            return Err(std::io::Error::other("no connection"));
        };
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr);
        reader.get_mut().write_all(request.as_bytes())?;

        let status_line = read_line(reader)?;
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
        let (mut length, mut chunked, mut close) = (None, false, false);
        loop {
            let line = read_line(reader)?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let body = match (chunked, length) {
            (true, _) => read_chunked(reader)?,
            (false, Some(n)) => {
                let mut body = vec![0; n];
                reader.read_exact(&mut body)?;
                body
            }
            (false, None) => {
                close = true;
                let mut body = Vec::new();
                reader.read_to_end(&mut body)?;
                body
            }
        };
        if close {
            self.stream = None;
        }
        Ok((status, body))
    }
}

/// One line without its CRLF; an error at the end of the stream.
fn read_line(reader: &mut BufReader<TcpStream>) -> std::io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let size_line = read_line(reader)?;
        let size = size_line.split(';').next().unwrap_or("").trim();
        let n = usize::from_str_radix(size, 16)
            .map_err(|_| std::io::Error::other(format!("bad chunk size {size_line:?}")))?;
        if n == 0 {
            // Trailers, up to the empty line.
            while !read_line(reader)?.is_empty() {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + n, 0);
        reader.read_exact(&mut body[start..])?;
        read_line(reader)?;
    }
}
