//! Pure parsers for the `gluster … --xml` output quorate reads: `volume info`,
//! `volume status … detail`, `peer status`, `volume heal V info summary` and the entry lists of
//! `volume heal V info` / `info split-brain`.
//!
//! Every parser streams the document through quick-xml with a small reusable element stack, so
//! memory grows with the number of volumes and bricks, never with the number of heal entries
//! (a heal listing can hold hundreds of thousands of `<file>` elements). Nothing here panics on
//! odd input: malformed, truncated (a killed CLI) or non-XML output (`Connection failed. …`) is a
//! [`ParseError`]. The envelope (`opRet`, `opErrno`, `opErrstr`) is checked after the payload
//! because `heal info` prints it last; a non-zero `opRet` is [`ParseError::Cli`] whatever the
//! exit status was (the CLI exits 0 for most failures in `--xml` mode). Element text is taken
//! trimmed (whitespace between elements is skipped while streaming), so a file name with
//! leading or trailing blanks is listed without them.
//!
//! Shapes, as captured from glusterd 10.3 (tests/fixtures/gluster/):
//!
//! ```text
//! volume info:     cliOutput/volInfo/volumes/volume{name,id,status,statusStr,brickCount,
//!                  replicaCount,arbiterCount,disperseCount,typeStr,
//!                  bricks/brick{name,hostUuid,isArbiter},options/option{name,value}}
//! volume status:   cliOutput/volStatus/volumes/volume{volName,node{hostname,path,peerid,status,
//!                  port,pid,sizeTotal,sizeFree,inodesTotal,inodesFree}}
//! peer status:     cliOutput/peerStatus/peer{uuid,hostname,connected,state,stateStr}
//! heal summary:    cliOutput/healInfo/bricks/brick[hostUuid]{name,status,totalNumberOfEntries,
//!                  numberOfEntriesInHealPending,numberOfEntriesInSplitBrain,
//!                  numberOfEntriesPossiblyHealing}
//! heal info:       cliOutput/healInfo/bricks/brick{name,file*,status,numberOfEntries}
//! ```

use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// The phrase glusterd answers with while another management transaction holds the lock.
pub const BUSY_PHRASE: &str = "Another transaction is in progress";

/// How much of a non-XML answer is kept for the error message.
const SNIPPET_LIMIT: usize = 300;

/// Why an answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The output is not XML at all (e.g. `Connection failed. Please check if gluster daemon
    /// is operational.`) or is empty.
    #[error("not XML output: {snippet:?}")]
    NotXml { snippet: String },
    /// quick-xml rejected the document.
    #[error("malformed XML at byte {position}: {message}")]
    Syntax { position: u64, message: String },
    /// The document ended inside an element: the command was cut off.
    #[error("XML ends inside <{element}> (output cut off)")]
    Truncated { element: String },
    /// The root element is not `<cliOutput>`.
    #[error("unexpected root element <{element}> (expected <cliOutput>)")]
    UnexpectedRoot { element: String },
    /// A required element is missing.
    #[error("no <{element}> in the output")]
    Missing { element: &'static str },
    /// A required element holds something that is not what it should be.
    #[error("<{element}> holds {value:?}, {expected}")]
    Invalid {
        element: &'static str,
        value: String,
        expected: &'static str,
    },
    /// The CLI answered with `opRet` != 0: the command itself failed.
    #[error("gluster reported failure (opRet {op_ret}, opErrno {op_errno}): {message}")]
    Cli {
        op_ret: i64,
        op_errno: i64,
        message: String,
    },
}

impl ParseError {
    /// Whether this is glusterd's "Another transaction is in progress": a held cluster lock,
    /// worth retrying later.
    pub fn is_busy(&self) -> bool {
        matches!(self, ParseError::Cli { message, .. } if message.contains(BUSY_PHRASE))
    }
}

// ---------------------------------------------------------------------------------------------
// Results.

/// `status` of `volume info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeState {
    Created,
    Started,
    Stopped,
    /// A code this version of quorate does not know.
    Other(i64),
}

impl VolumeState {
    fn from_code(code: i64) -> VolumeState {
        match code {
            0 => VolumeState::Created,
            1 => VolumeState::Started,
            2 => VolumeState::Stopped,
            other => VolumeState::Other(other),
        }
    }
}

/// One volume of `volume info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    pub name: String,
    pub id: String,
    pub state: VolumeState,
    /// `typeStr`: `Replicate`, `Distributed-Replicate`, `Disperse`, `Distribute`, …
    pub type_name: String,
    pub brick_count: u32,
    /// Bricks per replica set (1 for a plain distribute volume).
    pub replica_count: u32,
    pub arbiter_count: u32,
    pub disperse_count: u32,
    /// In volume order: consecutive groups of `replica_count` form a replica set.
    pub bricks: Vec<BrickInfo>,
    pub options: Vec<(String, String)>,
}

impl VolumeInfo {
    /// Whether self-heal applies (replicated or dispersed): only then does `heal info` work.
    pub fn heals(&self) -> bool {
        self.replica_count > 1 || self.disperse_count > 0
    }

    /// The value of a reconfigured option, e.g. `cluster.self-heal-daemon`.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One brick of `volume info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrickInfo {
    /// `host:/path`, the brick's name everywhere in gluster and in quorate's labels.
    pub name: String,
    pub host_uuid: String,
    pub is_arbiter: bool,
}

/// One volume of `volume status … detail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeStatus {
    pub name: String,
    pub bricks: Vec<BrickProcess>,
    /// Self-heal Daemon, NFS Server, … nodes: listed by glusterd, but not bricks.
    pub daemons: Vec<DaemonProcess>,
}

/// A brick process as `volume status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrickProcess {
    /// `hostname:path`, as in `volume info`.
    pub name: String,
    pub peer_id: String,
    pub online: bool,
    pub port: Option<u16>,
    /// Used to find brick processes (the sandbox kills bricks by it); never exported: a pid
    /// label would churn series.
    pub pid: Option<u32>,
    pub size_total: Option<u64>,
    pub size_free: Option<u64>,
    pub inodes_total: Option<u64>,
    pub inodes_free: Option<u64>,
}

/// A non-brick node of `volume status` (its `hostname` is the daemon's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonProcess {
    /// E.g. `Self-heal Daemon`.
    pub name: String,
    /// The `path` field: `localhost` or the peer it runs on.
    pub host: String,
    pub online: bool,
}

/// One peer of `peer status` (never this host itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub uuid: String,
    pub hostname: String,
    pub connected: bool,
    /// `stateStr`, e.g. `Peer in Cluster`.
    pub state: String,
}

/// Heal counts of one brick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HealCounts {
    pub total: u64,
    pub pending: u64,
    pub split_brain: u64,
    pub possibly_healing: u64,
}

/// One brick of `volume heal V info summary`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealSummaryBrick {
    pub name: String,
    /// `Connected`, or why the brick could not be read (e.g. `Failed to process entries
    /// completely. (Transport endpoint is not connected)…`).
    pub status: String,
    /// `None` unless the brick was connected and all four counts were present: an
    /// unreachable brick's counts are unknown, not zero.
    pub counts: Option<HealCounts>,
}

impl HealSummaryBrick {
    pub fn connected(&self) -> bool {
        self.status == "Connected"
    }
}

/// One brick of `volume heal V info` or `info split-brain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealListBrick {
    pub name: String,
    pub status: String,
    /// `numberOfEntries`; `None` when the brick was not reachable (`-`).
    pub entries: Option<u64>,
    /// How many `<file>` elements were listed for the brick.
    pub files_listed: u64,
    /// The first `max_files` paths (or gfids when the path is unknown).
    pub files: Vec<String>,
}

impl HealListBrick {
    pub fn connected(&self) -> bool {
        self.status == "Connected"
    }
}

// ---------------------------------------------------------------------------------------------
// Public parsers.

/// Parses `gluster volume info [V] --xml`.
pub fn parse_volume_info(input: impl BufRead) -> Result<Vec<VolumeInfo>, ParseError> {
    const VOLUME: &[&str] = &["cliOutput", "volInfo", "volumes", "volume"];
    let mut volumes = Vec::new();
    let mut cur: Option<RawVolume> = None;
    let mut brick: Option<BrickInfo> = None;
    let mut option: Option<(String, String)> = None;
    walk(input, |node| match node {
        Node::Open { path, .. } => {
            if path.is(VOLUME) {
                cur = Some(RawVolume::default());
            } else if path.under(VOLUME, &["bricks", "brick"]) {
                brick = Some(BrickInfo {
                    name: String::new(),
                    host_uuid: String::new(),
                    is_arbiter: false,
                });
            } else if path.under(VOLUME, &["options", "option"]) {
                option = Some((String::new(), String::new()));
            }
        }
        Node::Text { path, text } => {
            if let (Some(b), true) = (brick.as_mut(), path.parent_is(VOLUME, &["bricks", "brick"]))
            {
                match path.last() {
                    "name" => b.name = text.to_string(),
                    "hostUuid" => b.host_uuid = text.to_string(),
                    "isArbiter" => b.is_arbiter = text.trim() == "1",
                    _ => {}
                }
            } else if let (Some(o), true) = (
                option.as_mut(),
                path.parent_is(VOLUME, &["options", "option"]),
            ) {
                match path.last() {
                    "name" => o.0 = text.to_string(),
                    "value" => o.1 = text.to_string(),
                    _ => {}
                }
            } else if let (Some(v), true) = (cur.as_mut(), path.parent_is(VOLUME, &[])) {
                v.field(path.last(), text);
            }
        }
        Node::Close { path } => {
            if path.is(VOLUME) {
                if let Some(v) = cur.take() {
                    volumes.push(v);
                }
            } else if path.under(VOLUME, &["bricks", "brick"]) {
                if let (Some(v), Some(b)) = (cur.as_mut(), brick.take()) {
                    v.bricks.push(b);
                }
            } else if path.under(VOLUME, &["options", "option"]) {
                if let (Some(v), Some(o)) = (cur.as_mut(), option.take()) {
                    v.options.push(o);
                }
            }
        }
    })?;
    let volumes = volumes
        .into_iter()
        .map(RawVolume::finish)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(first_of_each_name(volumes, |v| &v.name))
}

/// Keeps the first of the items with the same name: a CLI that lists a volume twice must not
/// count its bricks twice (nor heal it twice).
fn first_of_each_name<T>(items: Vec<T>, name: impl Fn(&T) -> &str) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(name(item).to_string()))
        .collect()
}

/// Parses `gluster volume status {V|all} [detail] --xml`. Nodes whose `path` is not absolute
/// (Self-heal Daemon, NFS Server, …) go to [`VolumeStatus::daemons`], never to the bricks.
pub fn parse_volume_status(input: impl BufRead) -> Result<Vec<VolumeStatus>, ParseError> {
    const VOLUME: &[&str] = &["cliOutput", "volStatus", "volumes", "volume"];
    let mut volumes = Vec::new();
    let mut cur: Option<VolumeStatus> = None;
    let mut node: Option<RawNode> = None;
    walk(input, |n| match n {
        Node::Open { path, .. } => {
            if path.is(VOLUME) {
                cur = Some(VolumeStatus {
                    name: String::new(),
                    bricks: Vec::new(),
                    daemons: Vec::new(),
                });
            } else if path.under(VOLUME, &["node"]) {
                node = Some(RawNode::default());
            }
        }
        Node::Text { path, text } => {
            if let (Some(raw), true) = (node.as_mut(), path.parent_is(VOLUME, &["node"])) {
                raw.field(path.last(), text);
            } else if let (Some(v), true) = (cur.as_mut(), path.parent_is(VOLUME, &[])) {
                if path.last() == "volName" {
                    v.name = text.to_string();
                }
            }
        }
        Node::Close { path } => {
            if path.is(VOLUME) {
                if let Some(v) = cur.take() {
                    volumes.push(v);
                }
            } else if path.under(VOLUME, &["node"]) {
                if let (Some(v), Some(raw)) = (cur.as_mut(), node.take()) {
                    raw.finish(v);
                }
            }
        }
    })?;
    for v in &volumes {
        if v.name.is_empty() {
            return Err(ParseError::Missing { element: "volName" });
        }
    }
    Ok(first_of_each_name(volumes, |v| &v.name))
}

/// Parses `gluster peer status --xml` (the other peers; this host is not listed).
pub fn parse_peer_status(input: impl BufRead) -> Result<Vec<Peer>, ParseError> {
    const PEER: &[&str] = &["cliOutput", "peerStatus", "peer"];
    let mut peers = Vec::new();
    let mut cur: Option<(Peer, Option<bool>)> = None;
    walk(input, |n| match n {
        Node::Open { path, .. } => {
            if path.is(PEER) {
                cur = Some((
                    Peer {
                        uuid: String::new(),
                        hostname: String::new(),
                        connected: false,
                        state: String::new(),
                    },
                    None,
                ));
            }
        }
        Node::Text { path, text } => {
            if let (Some((p, connected)), true) = (cur.as_mut(), path.parent_is(PEER, &[])) {
                match path.last() {
                    "uuid" => p.uuid = text.to_string(),
                    "hostname" => p.hostname = text.to_string(),
                    "connected" => *connected = Some(text.trim() == "1"),
                    "stateStr" => p.state = text.to_string(),
                    _ => {}
                }
            }
        }
        Node::Close { path } => {
            if path.is(PEER) {
                if let Some((p, connected)) = cur.take() {
                    peers.push((p, connected));
                }
            }
        }
    })?;
    peers
        .into_iter()
        .map(|(mut p, connected)| {
            if p.hostname.is_empty() {
                return Err(ParseError::Missing {
                    element: "hostname",
                });
            }
            p.connected = connected.ok_or(ParseError::Missing {
                element: "connected",
            })?;
            Ok(p)
        })
        .collect()
}

/// Parses `gluster volume heal V info summary --xml`.
pub fn parse_heal_summary(input: impl BufRead) -> Result<Vec<HealSummaryBrick>, ParseError> {
    const BRICK: &[&str] = &["cliOutput", "healInfo", "bricks", "brick"];
    let mut bricks = Vec::new();
    let mut cur: Option<RawHealBrick> = None;
    walk(input, |n| match n {
        Node::Open { path, .. } => {
            if path.is(BRICK) {
                cur = Some(RawHealBrick::default());
            }
        }
        Node::Text { path, text } => {
            if let (Some(b), true) = (cur.as_mut(), path.parent_is(BRICK, &[])) {
                let count = || text.trim().parse::<u64>().ok();
                match path.last() {
                    "name" => b.name = text.to_string(),
                    "status" => b.status = text.to_string(),
                    "totalNumberOfEntries" => b.total = count(),
                    "numberOfEntriesInHealPending" => b.pending = count(),
                    "numberOfEntriesInSplitBrain" => b.split_brain = count(),
                    "numberOfEntriesPossiblyHealing" => b.possibly_healing = count(),
                    _ => {}
                }
            }
        }
        Node::Close { path } => {
            if path.is(BRICK) {
                if let Some(b) = cur.take() {
                    bricks.push(b);
                }
            }
        }
    })?;
    bricks
        .into_iter()
        .map(|b| {
            if b.name.is_empty() {
                return Err(ParseError::Missing { element: "name" });
            }
            let counts = match (
                b.status == "Connected",
                b.total,
                b.pending,
                b.split_brain,
                b.possibly_healing,
            ) {
                (true, Some(total), Some(pending), Some(split_brain), Some(possibly_healing)) => {
                    Some(HealCounts {
                        total,
                        pending,
                        split_brain,
                        possibly_healing,
                    })
                }
                _ => None,
            };
            Ok(HealSummaryBrick {
                name: b.name,
                status: b.status,
                counts,
            })
        })
        .collect()
}

/// Parses `gluster volume heal V info --xml` or `… info split-brain --xml`, keeping at most
/// `max_files` file names per brick (0: count only). Memory does not grow with the number of
/// entries.
pub fn parse_heal_list(
    input: impl BufRead,
    max_files: usize,
) -> Result<Vec<HealListBrick>, ParseError> {
    const BRICK: &[&str] = &["cliOutput", "healInfo", "bricks", "brick"];
    let mut bricks = Vec::new();
    let mut cur: Option<HealListBrick> = None;
    // The gfid of the `<file>` being read, while it still needs a name.
    let mut unnamed: Option<String> = None;
    walk(input, |n| match n {
        Node::Open { path, attrs } => {
            if path.is(BRICK) {
                cur = Some(HealListBrick {
                    name: String::new(),
                    status: String::new(),
                    entries: None,
                    files_listed: 0,
                    files: Vec::new(),
                });
            } else if path.under(BRICK, &["file"]) {
                if let Some(b) = cur.as_mut() {
                    b.files_listed += 1;
                    if b.files.len() < max_files {
                        unnamed = Some(attrs.get("gfid").unwrap_or_default());
                    }
                }
            }
        }
        Node::Text { path, text } => {
            if let (Some(b), true) = (cur.as_mut(), path.parent_is(BRICK, &[])) {
                match path.last() {
                    "name" => b.name = text.to_string(),
                    "status" => b.status = text.to_string(),
                    "numberOfEntries" => b.entries = text.trim().parse().ok(),
                    "file" if unnamed.is_some() && !text.trim().is_empty() => {
                        unnamed = None;
                        b.files.push(text.to_string());
                    }
                    _ => {}
                }
            }
        }
        Node::Close { path } => {
            if path.is(BRICK) {
                if let Some(b) = cur.take() {
                    bricks.push(b);
                }
            } else if path.under(BRICK, &["file"]) {
                // An entry whose path glfsheal could not resolve is listed by gfid only.
                if let (Some(b), Some(gfid)) = (cur.as_mut(), unnamed.take()) {
                    b.files.push(format!("<gfid:{gfid}>"));
                }
            }
        }
    })?;
    for b in &bricks {
        if b.name.is_empty() {
            return Err(ParseError::Missing { element: "name" });
        }
    }
    Ok(bricks)
}

// ---------------------------------------------------------------------------------------------
// Field collectors.

#[derive(Default)]
struct RawVolume {
    name: String,
    id: String,
    status: Option<String>,
    type_name: String,
    brick_count: Option<String>,
    replica_count: Option<String>,
    arbiter_count: Option<String>,
    disperse_count: Option<String>,
    bricks: Vec<BrickInfo>,
    options: Vec<(String, String)>,
}

impl RawVolume {
    fn field(&mut self, element: &str, text: &str) {
        let slot = match element {
            "name" => {
                self.name = text.to_string();
                return;
            }
            "id" => {
                self.id = text.to_string();
                return;
            }
            "typeStr" => {
                self.type_name = text.to_string();
                return;
            }
            "status" => &mut self.status,
            "brickCount" => &mut self.brick_count,
            "replicaCount" => &mut self.replica_count,
            "arbiterCount" => &mut self.arbiter_count,
            "disperseCount" => &mut self.disperse_count,
            _ => return,
        };
        *slot = Some(text.trim().to_string());
    }

    fn finish(self) -> Result<VolumeInfo, ParseError> {
        if self.name.is_empty() {
            return Err(ParseError::Missing { element: "name" });
        }
        let number = |element: &'static str, value: Option<String>, default: Option<u32>| match (
            value, default,
        ) {
            (None, Some(d)) => Ok(d),
            (None, None) => Err(ParseError::Missing { element }),
            (Some(v), _) => v.parse::<u32>().map_err(|_| ParseError::Invalid {
                element,
                value: v,
                expected: "expected a count",
            }),
        };
        let state_code = self
            .status
            .ok_or(ParseError::Missing { element: "status" })?;
        let state = state_code
            .parse::<i64>()
            .map(VolumeState::from_code)
            .map_err(|_| ParseError::Invalid {
                element: "status",
                value: state_code,
                expected: "expected a volume status code",
            })?;
        let brick_count = number("brickCount", self.brick_count, None)?;
        // A replica count of 0 would make replica sets meaningless; glusterd writes 1 for a
        // plain distribute volume.
        let replica_count = number("replicaCount", self.replica_count, Some(1))?.max(1);
        Ok(VolumeInfo {
            name: self.name,
            id: self.id,
            state,
            type_name: self.type_name,
            brick_count,
            replica_count,
            arbiter_count: number("arbiterCount", self.arbiter_count, Some(0))?,
            disperse_count: number("disperseCount", self.disperse_count, Some(0))?,
            bricks: self.bricks,
            options: self.options,
        })
    }
}

#[derive(Default)]
struct RawNode {
    hostname: String,
    path: String,
    peer_id: String,
    status: Option<bool>,
    port: Option<u16>,
    pid: Option<u32>,
    size_total: Option<u64>,
    size_free: Option<u64>,
    inodes_total: Option<u64>,
    inodes_free: Option<u64>,
}

impl RawNode {
    fn field(&mut self, element: &str, text: &str) {
        let t = text.trim();
        match element {
            "hostname" => self.hostname = text.to_string(),
            "path" => self.path = text.to_string(),
            "peerid" => self.peer_id = text.to_string(),
            "status" => self.status = Some(t == "1"),
            // `N/A` for a brick that is down; -1 for its pid.
            "port" => self.port = t.parse().ok().filter(|&p| p != 0),
            "pid" => self.pid = t.parse().ok().filter(|&p| p != 0),
            "sizeTotal" => self.size_total = t.parse().ok(),
            "sizeFree" => self.size_free = t.parse().ok(),
            "inodesTotal" => self.inodes_total = t.parse().ok(),
            "inodesFree" => self.inodes_free = t.parse().ok(),
            _ => {}
        }
    }

    fn finish(self, volume: &mut VolumeStatus) {
        let online = self.status.unwrap_or(false);
        // Bricks have absolute paths; daemons have `localhost` or a peer address there.
        if self.path.starts_with('/') {
            volume.bricks.push(BrickProcess {
                name: format!("{}:{}", self.hostname, self.path),
                peer_id: self.peer_id,
                online,
                port: self.port,
                pid: self.pid,
                size_total: self.size_total,
                size_free: self.size_free,
                inodes_total: self.inodes_total,
                inodes_free: self.inodes_free,
            });
        } else {
            volume.daemons.push(DaemonProcess {
                name: self.hostname,
                host: self.path,
                online,
            });
        }
    }
}

#[derive(Default)]
struct RawHealBrick {
    name: String,
    status: String,
    total: Option<u64>,
    pending: Option<u64>,
    split_brain: Option<u64>,
    possibly_healing: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// The streaming walker.

/// The open elements, outermost first. Element names are kept in reused buffers so a long
/// document does not allocate per element.
struct Path {
    names: Vec<String>,
    depth: usize,
}

impl Path {
    fn push(&mut self, name: &[u8]) {
        let name = String::from_utf8_lossy(name);
        if self.depth < self.names.len() {
            self.names[self.depth].clear();
            self.names[self.depth].push_str(&name);
        } else {
            self.names.push(name.into_owned());
        }
        self.depth += 1;
    }

    fn pop(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn current(&self) -> &[String] {
        &self.names[..self.depth]
    }

    /// The innermost element's name ("" at the top level).
    fn last(&self) -> &str {
        self.current().last().map_or("", String::as_str)
    }

    /// The path is exactly `want`.
    fn is(&self, want: &[&str]) -> bool {
        let cur = self.current();
        cur.len() == want.len() && cur.iter().zip(want).all(|(a, b)| a == b)
    }

    /// The path is `base` followed by `rest`.
    fn under(&self, base: &[&str], rest: &[&str]) -> bool {
        let cur = self.current();
        cur.len() == base.len() + rest.len()
            && cur.iter().zip(base.iter().chain(rest)).all(|(a, b)| a == b)
    }

    /// The path's parent is `base` followed by `rest` (the path is one of its children).
    fn parent_is(&self, base: &[&str], rest: &[&str]) -> bool {
        let cur = self.current();
        cur.len() == base.len() + rest.len() + 1
            && cur.iter().zip(base.iter().chain(rest)).all(|(a, b)| a == b)
    }
}

/// The attributes of an opening tag.
struct Attrs<'a>(&'a BytesStart<'a>);

impl Attrs<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .attributes()
            .flatten()
            .find(|a| a.key.as_ref() == name.as_bytes())
            .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
    }
}

/// What [`walk`] hands to a parser.
enum Node<'a> {
    Open {
        path: &'a Path,
        attrs: Attrs<'a>,
    },
    /// The text of an element, delivered when it closes (before the `Close`), for elements
    /// that have text. Mixed content keeps only the text after the last child.
    Text {
        path: &'a Path,
        text: &'a str,
    },
    Close {
        path: &'a Path,
    },
}

/// The envelope every `--xml` answer carries.
#[derive(Default)]
struct Envelope {
    op_ret: Option<String>,
    op_errno: Option<String>,
    op_errstr: String,
    /// `<output>`: the human message some failures carry instead of `opErrstr`.
    output: String,
}

/// Streams `input` through `visit`, then checks the envelope.
fn walk(input: impl BufRead, mut visit: impl FnMut(Node<'_>)) -> Result<(), ParseError> {
    let mut reader = Reader::from_reader(input);
    // Whitespace between elements is not data; skipping it halves the events of a listing.
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let mut path = Path {
        names: Vec::new(),
        depth: 0,
    };
    let mut text = String::new();
    let mut envelope = Envelope::default();
    let mut saw_root = false;
    let mut outside = String::new();
    loop {
        buf.clear();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| ParseError::Syntax {
                position: reader.error_position(),
                message: e.to_string(),
            })?;
        match event {
            Event::Start(start) => {
                if path.depth == 0 {
                    check_root(&start, &mut saw_root)?;
                }
                path.push(start.name().as_ref());
                text.clear();
                visit(Node::Open {
                    path: &path,
                    attrs: Attrs(&start),
                });
            }
            Event::Empty(start) => {
                if path.depth == 0 {
                    check_root(&start, &mut saw_root)?;
                }
                path.push(start.name().as_ref());
                text.clear();
                visit(Node::Open {
                    path: &path,
                    attrs: Attrs(&start),
                });
                envelope_field(&path, "", &mut envelope);
                visit(Node::Close { path: &path });
                path.pop();
            }
            Event::End(_) => {
                if path.depth == 0 {
                    // quick-xml checks end names; this is only reachable with checks off.
                    return Err(ParseError::Syntax {
                        position: reader.buffer_position(),
                        message: "closing tag without opening tag".into(),
                    });
                }
                if !text.is_empty() {
                    envelope_field(&path, &text, &mut envelope);
                    visit(Node::Text {
                        path: &path,
                        text: &text,
                    });
                    text.clear();
                } else {
                    envelope_field(&path, "", &mut envelope);
                }
                visit(Node::Close { path: &path });
                path.pop();
            }
            Event::Text(t) => {
                let value = t.unescape().map_err(|e| ParseError::Syntax {
                    position: reader.buffer_position(),
                    message: e.to_string(),
                })?;
                if path.depth == 0 {
                    if outside.len() < SNIPPET_LIMIT {
                        outside.push_str(&value);
                    }
                } else {
                    text.push_str(&value);
                }
            }
            Event::CData(c) => {
                let value = String::from_utf8_lossy(&c);
                if path.depth > 0 {
                    text.push_str(&value);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if path.depth > 0 {
        return Err(ParseError::Truncated {
            element: path.last().to_string(),
        });
    }
    if !saw_root {
        return Err(ParseError::NotXml {
            snippet: snippet(&outside),
        });
    }
    envelope.check()
}

fn check_root(start: &BytesStart<'_>, saw_root: &mut bool) -> Result<(), ParseError> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    if *saw_root {
        return Err(ParseError::Syntax {
            position: 0,
            message: format!("a second root element <{name}>"),
        });
    }
    if name != "cliOutput" {
        return Err(ParseError::UnexpectedRoot { element: name });
    }
    *saw_root = true;
    Ok(())
}

fn envelope_field(path: &Path, text: &str, envelope: &mut Envelope) {
    let cur = path.current();
    if cur.len() != 2 || cur[0] != "cliOutput" {
        return;
    }
    match cur[1].as_str() {
        "opRet" => envelope.op_ret = Some(text.trim().to_string()),
        "opErrno" => envelope.op_errno = Some(text.trim().to_string()),
        "opErrstr" => envelope.op_errstr = text.trim().to_string(),
        "output" => envelope.output = text.trim().to_string(),
        _ => {}
    }
}

impl Envelope {
    fn check(self) -> Result<(), ParseError> {
        let ret_text = self
            .op_ret
            .ok_or(ParseError::Missing { element: "opRet" })?;
        let op_ret: i64 = ret_text.parse().map_err(|_| ParseError::Invalid {
            element: "opRet",
            value: ret_text,
            expected: "expected an integer",
        })?;
        if op_ret == 0 {
            return Ok(());
        }
        let op_errno = self
            .op_errno
            .and_then(|e| e.parse().ok())
            .unwrap_or_default();
        let message = if !self.op_errstr.is_empty() {
            self.op_errstr
        } else if !self.output.is_empty() {
            self.output
        } else {
            "(no message)".to_string()
        };
        Err(ParseError::Cli {
            op_ret,
            op_errno,
            message,
        })
    }
}

fn snippet(text: &str) -> String {
    let trimmed = text.trim();
    let mut end = trimmed.len().min(SNIPPET_LIMIT);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    trimmed[..end].to_string()
}

#[cfg(test)]
mod tests;
