//! Running SQL on a node as root through the `mariadb` client over the node's unix socket.
//!
//! The SQL goes on the client's stdin, never on its command line: argv is world-readable in
//! /proc, and the SQL that creates the monitoring user holds its password. A fresh datadir's root
//! has no password over the socket, so no credential is needed at all. `--no-defaults` keeps a
//! machine's my.cnf out of the sandbox.
//!
//! Output is batch mode without headers (`-N -B`): one row per line, tab-separated, with tab,
//! newline, backslash and NUL inside values escaped; [`parse_batch_output`] undoes that.

use crate::galera::parse::parse_batch_output;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::SandboxError;
use crate::process::{self, Kill, RunFailure};

/// Runs `sql` on the node listening on `socket`; `node` only names it in errors. `secret`, if
/// given, is cut out of any error text (the server may echo a statement fragment).
pub(crate) fn run(
    client: &Path,
    node: &str,
    socket: &Path,
    sql: &str,
    timeout: Duration,
    secret: Option<&str>,
) -> Result<Vec<Vec<String>>, SandboxError> {
    let connect_timeout = timeout.as_secs().clamp(1, 10);
    let mut command = Command::new(client);
    command
        .arg("--no-defaults")
        .arg("--protocol=SOCKET")
        .arg(format!("--socket={}", socket.display()))
        .arg("--user=root")
        .arg("--batch")
        .arg("--skip-column-names")
        .arg(format!("--connect-timeout={connect_timeout}"));
    let mut input = sql.as_bytes().to_vec();
    input.push(b'\n');
    let finished = match process::run(&mut command, Some(input), timeout, Kill::Child) {
        // `run` does not judge the exit status (below); `Exit` cannot come back from it.
        Ok(f) | Err(RunFailure::Exit(f)) => f,
        Err(RunFailure::TimedOut(_)) => {
            return Err(SandboxError::SqlTimeout {
                node: node.to_owned(),
                timeout,
            })
        }
        Err(e @ RunFailure::TooLarge { .. }) => {
            return Err(SandboxError::Sql {
                node: node.to_owned(),
                message: e.to_string(),
            })
        }
        Err(RunFailure::Spawn(source) | RunFailure::Wait(source)) => {
            return Err(SandboxError::Spawn {
                command: client.display().to_string(),
                source,
            })
        }
    };
    let (status, out, err) = (finished.status, finished.stdout, finished.stderr);
    if !status.success() {
        let mut message = String::from_utf8_lossy(&err).trim().to_owned();
        if message.is_empty() {
            message = format!("mariadb client exited with {status}");
        }
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            message = message.replace(secret, "<redacted>");
        }
        return Err(SandboxError::Sql {
            node: node.to_owned(),
            message,
        });
    }
    Ok(parse_batch_output(&String::from_utf8_lossy(&out)))
}

/// Quotes `s` as an SQL string literal (for values we generate, e.g. the password).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_and_fields() {
        let out = "wsrep_local_state\t4\nwsrep_provider_options\tbase_dir = /x\\; a\\tb\n";
        let rows = parse_batch_output(out);
        assert_eq!(
            rows,
            vec![
                vec!["wsrep_local_state".to_owned(), "4".to_owned()],
                vec![
                    "wsrep_provider_options".to_owned(),
                    "base_dir = /x\\; a\tb".to_owned()
                ],
            ]
        );
        assert!(parse_batch_output("").is_empty());
        assert_eq!(
            parse_batch_output("a\t\n"),
            vec![vec!["a".to_owned(), String::new()]]
        );
    }

    #[test]
    fn quotes_sql_literals() {
        assert_eq!(quote("abc"), "'abc'");
        assert_eq!(quote("it's"), "'it''s'");
        assert_eq!(quote("a\\b"), "'a\\\\b'");
    }
}
