//! Which controller is "this host": [`HostIdentity`] (this machine's names and interface
//! addresses, read through libc) and [`Settings::resolve_local_node`], which matches them
//! against the configured controllers.

use std::net::IpAddr;
use std::path::PathBuf;

use super::{Node, Settings};

/// `--node` or `quorate.node` names no controller of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node {node:?} is not a controller in {}", path.display())]
pub struct UnknownLocalNode {
    pub node: String,
    /// The configuration file.
    pub path: PathBuf,
}

impl Settings {
    /// Which node is "this host": `explicit` (from `--node`), else `quorate.node`, else the one
    /// controller whose hostname or address is this machine's. `None` when that is not unique.
    pub fn resolve_local_node(
        &self,
        explicit: Option<&str>,
        host: &HostIdentity,
    ) -> Result<Option<&Node>, UnknownLocalNode> {
        if let Some(name) = explicit.or(self.local_node.as_deref()) {
            return self.node(name).map(Some).ok_or_else(|| UnknownLocalNode {
                node: name.to_string(),
                path: self.path.clone(),
            });
        }
        let by_name: Vec<&Node> = self
            .nodes
            .iter()
            .filter(|n| host.names.iter().any(|h| h.eq_ignore_ascii_case(&n.name)))
            .collect();
        if by_name.len() == 1 {
            return Ok(Some(by_name[0]));
        }
        let by_ip: Vec<&Node> = self
            .nodes
            .iter()
            .filter(|n| host.addresses.contains(&n.ip_address))
            .collect();
        if by_ip.len() == 1 {
            return Ok(Some(by_ip[0]));
        }
        Ok(None)
    }
}

/// This machine's names and addresses, for finding the local node.
#[derive(Debug, Clone, Default)]
pub struct HostIdentity {
    pub names: Vec<String>,
    pub addresses: Vec<IpAddr>,
}

impl HostIdentity {
    /// Reads the hostname (and its short form) and every interface address.
    pub fn current() -> HostIdentity {
        let mut names = Vec::new();
        if let Some(name) = hostname() {
            if let Some((short, _)) = name.split_once('.') {
                names.push(short.to_string());
            }
            names.push(name);
        }
        HostIdentity {
            names,
            addresses: interface_addresses(),
        }
    }
}

/// This host's name (gethostname(2)), `None` when it cannot be read or is empty.
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success
    // when the name fits, and we bound the search by the buffer length anyway.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
    (!name.is_empty()).then_some(name)
}

fn interface_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we free with freeifaddrs below;
    // each sockaddr is read according to its own sa_family.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return out;
        }
        let mut cur = list;
        while !cur.is_null() {
            let addr = (*cur).ifa_addr;
            if !addr.is_null() {
                match i32::from((*addr).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(addr as *const libc::sockaddr_in);
                        out.push(IpAddr::from(
                            u32::from_be(sin.sin_addr.s_addr).to_be_bytes(),
                        ));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(addr as *const libc::sockaddr_in6);
                        out.push(IpAddr::from(sin6.sin6_addr.s6_addr));
                    }
                    _ => {}
                }
            }
            cur = (*cur).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    out
}
