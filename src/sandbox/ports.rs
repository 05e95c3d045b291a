//! Free loopback ports for the sandbox's listeners.
//!
//! Each node listens on four ports (mysql, gmcast, IST, SST) and the sandbox reserves one more for
//! `quorate serve`. Asking the kernel for `127.0.0.1:0` gives a port nobody holds right now, so
//! several sandboxes (parallel tests, other engineers) can run at once without a port plan.
//!
//! A port is only safe while something holds it, so [`Reservation`] keeps every listener open
//! and `up` releases a node's four ports just before it starts that node's mariadbd. Two details
//! keep the remaining window (release → mariadbd binds) harmless in practice: bind(0) hands out
//! ports from a random offset, and since Linux 4.6 it prefers odd ports while connect() prefers
//! even ones, so outgoing connections rarely take a port we are about to bind. If a collision
//! still happens, `up` sees "Address already in use" in the node's log and retries with new ports.

use std::net::{Ipv4Addr, TcpListener};

use super::SandboxError;

/// Ports held open by listeners until released.
#[derive(Debug)]
pub(crate) struct Reservation {
    held: Vec<Option<TcpListener>>,
    ports: Vec<u16>,
}

impl Reservation {
    /// Reserves `count` distinct ports on 127.0.0.1.
    pub fn new(count: usize) -> Result<Reservation, SandboxError> {
        // All listeners stay open together, so the kernel cannot hand out a port twice.
        let held = (0..count)
            .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(SandboxError::Ports)?;
        let ports = held
            .iter()
            .map(|l| l.local_addr().map(|a| a.port()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(SandboxError::Ports)?;
        Ok(Reservation {
            held: held.into_iter().map(Some).collect(),
            ports,
        })
    }

    /// The reserved ports, in reservation order.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// Stops holding the ports at `indices` so a server can bind them. A listener that was never
    /// accepted on closes without TIME_WAIT, so the port is immediately bindable.
    pub fn release(&mut self, indices: std::ops::Range<usize>) {
        for i in indices {
            if let Some(slot) = self.held.get_mut(i) {
                slot.take();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ports_are_distinct_held_and_releasable() {
        let mut r = Reservation::new(13).expect("ports");
        let ports = r.ports().to_vec();
        assert_eq!(ports.len(), 13);
        assert!(ports.iter().all(|&p| p != 0));
        assert_eq!(ports.iter().collect::<HashSet<_>>().len(), 13);
        // Held: nobody else can bind it.
        assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, ports[0])).is_err());
        r.release(0..4);
        let again = TcpListener::bind((Ipv4Addr::LOCALHOST, ports[0])).expect("released port");
        drop(again);
        // Still held.
        assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, ports[4])).is_err());
    }
}
