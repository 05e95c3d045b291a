//! A real network between the sandbox's Galera nodes, that tests and operators can cut and
//! heal (`quorate sandbox up --netns`, `partition`, `heal`).
//!
//! On loopback every node reaches every other one, so a network partition can only be faked
//! (SIGSTOP freezes the process, which is a hang, not a split). With `--netns` each node runs in
//! a network namespace of its own:
//!
//! ```text
//!   qsb-XXXXXXXX-n1 (eth0 10.77.0.1/24) ─┐
//!   qsb-XXXXXXXX-n2 (eth0 10.77.0.2/24) ─┤ veth → port nK on a bridge qbrG
//!   ...                                  │   of namespace qsb-XXXXXXXX-hub
//! ```
//!
//! All ports on `qbr0`: one network. [`Network::partition`] moves each group's ports to a bridge
//! of its own; the groups then cannot exchange a single packet, and nothing answers with a reset
//! either, so Galera sees what it sees on a cut link: silence and timeouts. Both sides stay live.
//! [`Network::heal`] puts every port back on `qbr0`.
//!
//! Nothing is added to the host's own namespace. The host still reaches every mysqld through its
//! unix socket (a file), so `quorate serve` per node, the tests' SQL and the recovery commands
//! work unchanged; Galera's replication, IST and SST traffic uses the namespaces' addresses.
//! Names and addresses are private to this sandbox's namespaces, so two sandboxes never clash.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::run_command;
use super::SandboxError;

/// The node subnet inside the namespaces (node K is `.K`).
const SUBNET: &str = "10.77.0";
/// Bound for one `ip` command.
const IP_TIMEOUT: Duration = Duration::from_secs(10);
/// The bridge every port sits on when the network is whole.
const MAIN_BRIDGE: &str = "qbr0";

/// The namespaces of one sandbox (saved in sandbox.json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NetworkState {
    /// `qsb-XXXXXXXX`: the namespaces are `PREFIX-hub` and `PREFIX-nK`.
    pub prefix: String,
    /// Node names, in order (node K has address `SUBNET.K`).
    pub nodes: Vec<String>,
}

impl NetworkState {
    pub fn new(prefix: String, nodes: Vec<String>) -> NetworkState {
        NetworkState { prefix, nodes }
    }

    pub fn hub(&self) -> String {
        format!("{}-hub", self.prefix)
    }

    fn index(&self, node: &str) -> Result<usize, SandboxError> {
        self.nodes
            .iter()
            .position(|n| n == node)
            .ok_or_else(|| SandboxError::UnknownNode {
                node: node.to_owned(),
                known: self.nodes.join(", "),
            })
    }

    /// The namespace mariadbd of `node` runs in.
    pub fn namespace(&self, node: &str) -> Result<String, SandboxError> {
        Ok(format!("{}-n{}", self.prefix, self.index(node)? + 1))
    }

    /// `node`'s address inside the namespaces.
    pub fn address(&self, node: &str) -> Result<String, SandboxError> {
        Ok(format!("{SUBNET}.{}", self.index(node)? + 1))
    }

    /// The hub-side end of `node`'s link.
    fn port(&self, node: &str) -> Result<String, SandboxError> {
        Ok(format!("n{}", self.index(node)? + 1))
    }
}

/// The path `ip netns` binds a namespace to; mariadbd enters it with setns(2).
pub(crate) fn namespace_path(name: &str) -> PathBuf {
    Path::new("/run/netns").join(name)
}

/// Operations on the network of a sandbox started with `--netns`.
#[derive(Debug, Clone, Copy)]
pub struct Network<'a> {
    pub(crate) st: &'a NetworkState,
}

fn ip(args: &[&str], what: &str) -> Result<(), SandboxError> {
    run_command(Command::new("ip").args(args), "network", what, IP_TIMEOUT).map(|_| ())
}

/// Creates the hub, its main bridge and one namespace + link per node. On error, what was
/// created stays for [`destroy`] (the caller tears down).
pub(crate) fn create(st: &NetworkState) -> Result<(), SandboxError> {
    let hub = st.hub();
    ip(&["netns", "add", &hub], "ip netns add (hub)")?;
    add_bridge(&hub, MAIN_BRIDGE)?;
    for node in &st.nodes {
        let ns = st.namespace(node)?;
        let port = st.port(node)?;
        let addr = format!("{}/24", st.address(node)?);
        ip(&["netns", "add", &ns], "ip netns add (node)")?;
        ip(&["-n", &ns, "link", "set", "lo", "up"], "ip link set lo up")?;
        ip(
            &[
                "link", "add", &port, "netns", &hub, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ],
            "ip link add veth",
        )?;
        ip(
            &["-n", &ns, "addr", "add", &addr, "dev", "eth0"],
            "ip addr add",
        )?;
        ip(
            &["-n", &ns, "link", "set", "eth0", "up"],
            "ip link set eth0 up",
        )?;
        ip(
            &[
                "-n",
                &hub,
                "link",
                "set",
                &port,
                "master",
                MAIN_BRIDGE,
                "up",
            ],
            "ip link set master",
        )?;
    }
    Ok(())
}

fn add_bridge(hub: &str, bridge: &str) -> Result<(), SandboxError> {
    ip(
        &["-n", hub, "link", "add", bridge, "type", "bridge"],
        "ip link add bridge",
    )?;
    ip(
        &["-n", hub, "link", "set", bridge, "up"],
        "ip link set bridge up",
    )
}

/// Removes every namespace of the sandbox (their links go with them). Call after the nodes'
/// processes are gone: a namespace lives on while a process is in it, unreachable by name.
pub(crate) fn destroy(st: &NetworkState) -> Result<(), SandboxError> {
    let mut first_error = None;
    let mut names: Vec<String> = st
        .nodes
        .iter()
        .filter_map(|n| st.namespace(n).ok())
        .collect();
    names.push(st.hub());
    for ns in names {
        if !namespace_path(&ns).exists() {
            continue;
        }
        if let Err(e) = ip(&["netns", "del", &ns], "ip netns del") {
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Checks a partition request: known nodes, each in at most one group, no empty group.
/// Returns the groups with their bridge names (`qbr1`, `qbr2`, ...); nodes in no group stay on
/// the main bridge together.
pub(crate) fn plan_partition(
    st: &NetworkState,
    groups: &[Vec<String>],
) -> Result<Vec<(String, Vec<String>)>, SandboxError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        if group.is_empty() {
            return Err(SandboxError::BadPartition {
                why: format!("group {} is empty", i + 1),
            });
        }
        for node in group {
            st.index(node)?;
            if !seen.insert(node.clone()) {
                return Err(SandboxError::BadPartition {
                    why: format!("{node} is named in more than one group"),
                });
            }
        }
        out.push((format!("qbr{}", i + 1), group.clone()));
    }
    if out.is_empty() {
        return Err(SandboxError::BadPartition {
            why: "no group given".into(),
        });
    }
    Ok(out)
}

impl Network<'_> {
    /// The namespace `node` runs in.
    pub fn namespace(&self, node: &str) -> Result<String, SandboxError> {
        self.st.namespace(node)
    }

    /// `node`'s address on the sandbox network.
    pub fn address(&self, node: &str) -> Result<String, SandboxError> {
        self.st.address(node)
    }

    /// Cuts the network: each group gets a segment of its own; nodes named in no group share
    /// the main segment. Starts from a whole network (an earlier partition is replaced).
    pub fn partition(&self, groups: &[Vec<String>]) -> Result<(), SandboxError> {
        let plan = plan_partition(self.st, groups)?;
        self.heal()?;
        let hub = self.st.hub();
        for (bridge, members) in &plan {
            if !bridge_exists(&hub, bridge) {
                add_bridge(&hub, bridge)?;
            }
            for node in members {
                let port = self.st.port(node)?;
                ip(
                    &["-n", &hub, "link", "set", &port, "master", bridge],
                    "ip link set master (partition)",
                )?;
            }
        }
        tracing::info!(?groups, "sandbox network partitioned");
        Ok(())
    }

    /// Puts every node back on one network.
    pub fn heal(&self) -> Result<(), SandboxError> {
        let hub = self.st.hub();
        for node in &self.st.nodes {
            let port = self.st.port(node)?;
            ip(
                &["-n", &hub, "link", "set", &port, "master", MAIN_BRIDGE],
                "ip link set master (heal)",
            )?;
        }
        tracing::info!("sandbox network healed");
        Ok(())
    }

    /// Which segment each node is on now (read from the kernel): `(node, bridge)`.
    pub fn segments(&self) -> Result<Vec<(String, String)>, SandboxError> {
        let hub = self.st.hub();
        let mut out = Vec::new();
        for node in &self.st.nodes {
            let port = self.st.port(node)?;
            let text = run_command(
                Command::new("ip").args(["-n", &hub, "-o", "link", "show", "dev", &port]),
                "network",
                "ip link show",
                IP_TIMEOUT,
            )?;
            out.push((node.clone(), master_of(&text).unwrap_or("-").to_owned()));
        }
        Ok(out)
    }
}

fn bridge_exists(hub: &str, bridge: &str) -> bool {
    run_command(
        Command::new("ip").args(["-n", hub, "link", "show", "dev", bridge]),
        "network",
        "ip link show",
        IP_TIMEOUT,
    )
    .is_ok()
}

/// The bridge named after `master` in one line of `ip -o link show`.
fn master_of(line: &str) -> Option<&str> {
    let mut words = line.split_whitespace();
    while let Some(w) = words.next() {
        if w == "master" {
            return words.next();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn four() -> NetworkState {
        NetworkState::new(
            "qsb-0011aabb".into(),
            (1..=4).map(|i| format!("node{i}")).collect(),
        )
    }

    #[test]
    fn names_and_addresses() {
        let st = four();
        assert_eq!(st.hub(), "qsb-0011aabb-hub");
        assert_eq!(st.namespace("node3").expect("ns"), "qsb-0011aabb-n3");
        assert_eq!(st.address("node1").expect("addr"), "10.77.0.1");
        assert_eq!(st.port("node4").expect("port"), "n4");
        assert!(matches!(
            st.address("node9"),
            Err(SandboxError::UnknownNode { .. })
        ));
    }

    #[test]
    fn partition_requests_are_checked() {
        let st = four();
        let g = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let plan =
            plan_partition(&st, &[g(&["node1", "node2"]), g(&["node3", "node4"])]).expect("ok");
        assert_eq!(plan[0].0, "qbr1");
        assert_eq!(plan[1], ("qbr2".to_string(), g(&["node3", "node4"])));
        for bad in [
            vec![g(&["node1"]), g(&["node1", "node2"])],
            vec![g(&[])],
            vec![],
        ] {
            let err = plan_partition(&st, &bad).expect_err("refused");
            assert!(matches!(err, SandboxError::BadPartition { .. }), "{err}");
        }
        assert!(matches!(
            plan_partition(&st, &[g(&["node7"])]),
            Err(SandboxError::UnknownNode { .. })
        ));
    }

    #[test]
    fn master_is_read_from_ip_link_output() {
        // Shape of `ip -o link show dev n1` (iproute2 6.1) in the hub namespace.
        let line = "2: n1@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master qbr1 state UP mode DEFAULT group default qlen 1000\\    link/ether 3a:1c:5e:00:11:22 brd ff:ff:ff:ff:ff:ff link-netns qsb-0011aabb-n1";
        assert_eq!(master_of(line), Some("qbr1"));
        assert_eq!(master_of("2: n1@if2: <BROADCAST> mtu 1500"), None);
    }
}
