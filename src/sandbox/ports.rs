//! Free loopback ports for the sandbox's listeners.
//!
//! Each node listens on four ports (mysql, gmcast, IST, SST) and the sandbox reserves one more for
//! `quorate serve` (and one per node for the nodes' own `quorate serve`). Several sandboxes
//! (parallel tests, other engineers) run at once without a port plan: a port is taken by binding
//! it, and [`Reservation`] keeps every listener open until `up` releases a node's four ports just
//! before it starts that node's mariadbd.
//!
//! The ports come from *below* the kernel's ephemeral range (`ip_local_port_range`, 32768–60999
//! by default), at a random offset. A node that is stopped and started again (a crash rehearsal,
//! a rejoin) re-binds the same ports long after the reservation is gone; had they come from the
//! ephemeral range, any outgoing connection on the machine (a scrape, a replication link, a
//! client) could have taken one meanwhile as its local port, and the restart would fail with
//! "Address already in use". Below the range only an explicit bind can take them. If the range
//! leaves no room below it, bind(0) is the fallback; a collision during `up` is still seen in the
//! node's log and retried with new ports.

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
        // All listeners stay open together, so no port is handed out twice.
        let held = match window(ephemeral_range()) {
            Some(window) => bind_in(window, count, random_offset())?,
            None => (0..count)
                .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(SandboxError::Ports)?,
        };
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

/// The kernel's ephemeral port range, or Linux's default when it cannot be read.
fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| parse_range(&t))
        .unwrap_or((32768, 60999))
}

fn parse_range(text: &str) -> Option<(u16, u16)> {
    let mut it = text.split_whitespace().map(|w| w.parse::<u16>().ok());
    match (it.next()??, it.next()??) {
        (lo, hi) if lo <= hi => Some((lo, hi)),
        _ => None,
    }
}

/// The ports the sandbox picks from: from 10000 up to just below the ephemeral range, if that
/// leaves at least a thousand.
fn window((ephemeral_low, _): (u16, u16)) -> Option<std::ops::Range<u16>> {
    const FIRST: u16 = 10_000;
    (ephemeral_low >= FIRST + 1000).then_some(FIRST..ephemeral_low)
}

fn random_offset() -> usize {
    let mut bytes = [0u8; 4];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    match read {
        Ok(()) => u32::from_le_bytes(bytes) as usize,
        // Not secret, only spread: the clock will do.
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() as usize),
    }
}

/// Binds `count` ports of `window`, walking it once from `offset`; ports taken by someone else
/// are skipped.
fn bind_in(
    window: std::ops::Range<u16>,
    count: usize,
    offset: usize,
) -> Result<Vec<TcpListener>, SandboxError> {
    let size = window.len();
    let mut held = Vec::with_capacity(count);
    for i in 0..size {
        if held.len() == count {
            break;
        }
        let port = window.start + ((offset + i) % size) as u16;
        if let Ok(l) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            held.push(l);
        }
    }
    if held.len() < count {
        return Err(SandboxError::Ports(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!(
                "only {} of {count} ports free in {}..{}",
                held.len(),
                window.start,
                window.end
            ),
        )));
    }
    Ok(held)
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
        // Bindable again. Retried briefly: on a shared machine another process may probe it.
        let again = (0..20).find_map(|_| {
            TcpListener::bind((Ipv4Addr::LOCALHOST, ports[0]))
                .map_err(|_| std::thread::sleep(std::time::Duration::from_millis(50)))
                .ok()
        });
        assert!(again.is_some(), "released port {} stays taken", ports[0]);
        // Still held.
        assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, ports[4])).is_err());
        // Outside the ephemeral range, where outgoing connections take their local ports.
        let (low, _) = ephemeral_range();
        if window((low, 0)).is_some() {
            assert!(
                ports.iter().all(|&p| (10_000..low).contains(&p)),
                "{ports:?}"
            );
        }
    }

    #[test]
    fn range_and_window() {
        assert_eq!(parse_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_range("60999 32768"), None);
        assert_eq!(parse_range("x"), None);
        assert_eq!(window((32768, 60999)), Some(10_000..32768));
        assert_eq!(window((10_500, 60999)), None);
    }

    #[test]
    fn taken_ports_are_skipped() {
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = taken.local_addr().expect("addr").port();
        let got = bind_in(port..port.saturating_add(3), 2, 0);
        // The first port is taken: the two others are used, or the error says what was free.
        match got {
            Ok(listeners) => {
                let ports: Vec<u16> = listeners
                    .iter()
                    .map(|l| l.local_addr().expect("addr").port())
                    .collect();
                assert!(!ports.contains(&port), "{ports:?}");
            }
            Err(e) => assert!(e.to_string().contains("ports free"), "{e}"),
        }
    }
}
