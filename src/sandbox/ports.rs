//! Free loopback ports for the sandbox's listeners.
//!
//! Each node listens on four ports (mysql, gmcast, IST, SST) and the sandbox reserves one more for
//! `quorate serve`. Asking the kernel for `127.0.0.1:0` gives a port nobody holds right now, so
//! several sandboxes (parallel tests, other engineers) can run at once without a port plan.
//!
//! All listeners of one call are held open together until every port is known: otherwise the
//! kernel could hand out the same port twice within one call. There is an unavoidable window
//! between dropping the listeners and mariadbd binding them; the kernel hands out ephemeral ports
//! in a rotating order, so a collision needs another process to get the same port within seconds.

use std::net::{Ipv4Addr, TcpListener};

use super::SandboxError;

/// Returns `count` distinct ports that were free on 127.0.0.1 a moment ago.
pub(crate) fn free_ports(count: usize) -> Result<Vec<u16>, SandboxError> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(SandboxError::Ports)?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(SandboxError::Ports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ports_are_distinct_and_nonzero() {
        let ports = free_ports(13).expect("ports");
        assert_eq!(ports.len(), 13);
        assert!(ports.iter().all(|&p| p != 0));
        assert_eq!(ports.iter().collect::<HashSet<_>>().len(), 13);
    }
}
