//! The truth: a Galera 4 (26.4) cluster of MariaDB 10.11 nodes as a state machine.
//!
//! Every rule cites where it comes from: `facts` is `/work/shared/facts/galera.md` (seen on a
//! real sandbox cluster), `docs:` a Galera or MariaDB documentation page, `galera source` the
//! provider's `replicator_str.cpp`. Where the documentation is silent the model takes the
//! behaviour that is worse for quorate and says `PESSIMISTIC`.
//!
//! Histories are a tree of branches. A branch starts at a position of its parent (or is the
//! root) and carries a cluster state UUID; a position is `(branch, seqno)` and holds every
//! writeset on the way from the root to it. A new branch starts whenever a Primary component
//! is formed from some node's state (bootstrap, `pc.bootstrap`, re-formation): two nodes that
//! continue from one position on two branches have diverged even when their UUIDs agree.
//!
//! Seen on the sandbox (2026-12-03, MariaDB 10.11 / Galera 26.4) and modelled since: every
//! Primary configuration change takes a global seqno of its own (`wsrep_last_committed` and
//! `wsrep_cluster_conf_id` both went up by one at a clean stop, a start and a crash, with no
//! writes), so a Primary that went through view changes is ahead of a node that left it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

pub type NodeId = usize;

/// A position in the history tree: everything on the way from the root to `seqno` of `branch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub branch: u32,
    pub seqno: u64,
}

#[derive(Debug, Clone)]
pub struct Branch {
    /// Index of the cluster state UUID (0 is never used: the zero UUID is not a history).
    pub uuid: u32,
    /// The position this branch continues from (`None`: the root).
    pub parent: Option<Pos>,
}

/// grastate.dat as Galera writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraFile {
    /// Cluster UUID index; 0 is the zero UUID.
    pub uuid: u32,
    pub seqno: i64,
    /// `None`: no `safe_to_bootstrap:` line (written by Galera before 3.19; absent means 1).
    pub safe: Option<bool>,
}

/// gvwstate.dat: the node's last Primary view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedViewT {
    pub my_uuid: String,
    pub view_seq: u64,
    pub members: BTreeSet<NodeId>,
    /// The gcomm UUIDs of the members when the view was installed.
    pub member_uuids: Vec<String>,
    /// The view id's UUID: the member that installed it (the lowest, in the model).
    pub view_uuid: String,
}

/// What one `--wsrep-recover` run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecOutcome {
    /// `uuid` 0 is the zero UUID (brand-new or emptied datadir: `00000000-…:-1`).
    Position {
        uuid: u32,
        seqno: i64,
    },
    Prepared(u64),
    Failed,
}

/// quorate's cached recovery result (`<state_dir>/<node>.position.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredT {
    pub at: u64,
    /// grastate.dat's version (its fingerprint) when the run finished; `None` if absent.
    pub fingerprint: Option<u64>,
    pub outcome: RecOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proc {
    Stopped,
    Running,
    /// SIGSTOP: the process exists but answers nothing.
    Frozen,
}

#[derive(Debug, Clone)]
pub struct Node {
    /// InnoDB's committed state: the truth. `None`: the datadir is unusable (an SST was
    /// interrupted midway).
    pub data: Option<Pos>,
    pub proc: Proc,
    /// Network side (nodes talk only within one side).
    pub side: u8,
    pub grastate: Option<GraFile>,
    pub grastate_unreadable: bool,
    /// Bumped on every write of grastate.dat (its mtime:size fingerprint changes).
    pub gra_version: u64,
    pub gvw: Option<SavedViewT>,
    pub gvw_unreadable: bool,
    pub recovered: Option<RecoveredT>,
    /// quorate serve on this host does not answer: the node is `Observed::Unknown`.
    pub endpoint_down: bool,
    pub sst_in_progress: bool,
    /// Prepared (XA) transactions the next `--wsrep-recover` stops on.
    pub prepared: u64,
    /// The next `--wsrep-recover` run fails (no outcome line).
    pub recover_fails: bool,
    pub incarnation: u32,
    /// The gcomm UUID of the running process: new at every start, except that pc.recovery
    /// restores gvwstate.dat's `my_uuid`.
    pub gcomm: String,
    /// Its InnoDB was overwritten by IST on a diverged history (silent inconsistency).
    pub corrupt: bool,
    /// quorate's record of a finding that the node is apart from the running Primary's
    /// history (`<state_dir>/apart/<node>.json` on its host): a file of quorate's, not of
    /// Galera's, so nothing in the model's Galera touches it.
    pub apart_record: Option<quorate::recover::report::ApartRecord>,
    // --- while running ---
    pub comp: Option<u32>,
    /// The last Primary view this process knows (in memory, or restored from gvwstate.dat).
    pub last_prim: Option<SavedViewT>,
    /// `last_prim` came from gvwstate.dat at start (pc.recovery needs every member back).
    pub restored: bool,
    /// InnoDB was put back by a restored backup while stopped (`RollbackInnodb`), beneath
    /// the state files of its later history; cleared when it starts again.
    pub rolled_back: bool,
    /// The position this process was started with, as Galera knows it.
    pub start_known: Option<(u32, i64)>,
    /// The running process knows its position (started with one, or synced with a
    /// Primary since): else wsrep_last_committed is -1.
    pub knows_position: bool,
}

/// A component: nodes that see each other.
#[derive(Debug, Clone)]
pub struct Comp {
    pub members: BTreeSet<NodeId>,
    pub primary: bool,
    /// Group position (Primary only).
    pub pos: Option<Pos>,
    /// Re-formed by pc.recovery without any known position: state `00000000-…:-1` (facts).
    pub zero_state: bool,
    pub view_seq: u64,
}

/// How a node is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMode {
    /// `mariadbd` with its options only: Galera knows the position only from grastate.dat.
    Plain,
    /// As systemd does: `galera_recovery` (`--wsrep-recover`) first, then
    /// `--wsrep_start_position` (facts: bench/results/recover.md and the seed's case 6).
    WithPosition,
    /// `--wsrep-new-cluster` (galera_new_cluster).
    NewCluster,
}

/// Why a start did not leave the node running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    AlreadyRunning,
    /// Galera refused: safe_to_bootstrap: 0.
    NotSafeToBootstrap,
    /// `states diverged. Aborting to avoid potential data loss` (galera source).
    Diverged,
    /// gvwstate.dat unreadable: fatal to startup (facts: an empty file is fatal).
    BadGvwstate,
}

#[derive(Debug, Clone)]
pub struct Model {
    pub nodes: Vec<Node>,
    pub branches: Vec<Branch>,
    pub comps: BTreeMap<u32, Comp>,
    next_comp: u32,
    next_uuid: u32,
    pub view_seq: u64,
    pub clock: u64,
    /// Every write a client was told was committed.
    pub acked: Vec<Pos>,
    /// Files are written by a Galera older than 3.19 (no safe_to_bootstrap line).
    pub legacy_files: bool,
    pub log: Vec<String>,
    /// Corruptions (IST over a diverged history) seen, for the figures.
    pub corruptions: u64,
    /// The environment (Galera's own re-formation, a human's bootstrap) made two histories
    /// that each hold acknowledged writes.
    pub env_diverged: bool,
}

pub fn uuid_str(u: u32) -> String {
    if u == 0 {
        quorate::recover::report::ZERO_UUID.to_string()
    } else {
        format!("{u:08x}-e627-11f1-8417-{:012x}", u64::from(u) * 7919)
    }
}

impl Model {
    /// `n` nodes, bootstrapped and Synced in one Primary component at seqno 0.
    pub fn new(n: usize, legacy_files: bool) -> Model {
        let mut m = Model {
            nodes: Vec::new(),
            branches: vec![Branch {
                uuid: 1,
                parent: None,
            }],
            comps: BTreeMap::new(),
            next_comp: 0,
            next_uuid: 2,
            view_seq: 1,
            clock: 1_000,
            acked: Vec::new(),
            legacy_files,
            log: Vec::new(),
            corruptions: 0,
            env_diverged: false,
        };
        let members: BTreeSet<NodeId> = (0..n).collect();
        let view = SavedViewT {
            my_uuid: String::new(),
            view_seq: 1,
            members: members.clone(),
            member_uuids: (0..n).map(|i| gcomm_uuid(i, 1)).collect(),
            view_uuid: gcomm_uuid(0, 1),
        };
        for i in 0..n {
            let mut v = view.clone();
            v.my_uuid = gcomm_uuid(i, 1);
            m.nodes.push(Node {
                data: Some(Pos {
                    branch: 0,
                    seqno: 0,
                }),
                proc: Proc::Running,
                side: 0,
                grastate: Some(GraFile {
                    uuid: 1,
                    seqno: -1,
                    safe: m.safe_value(false),
                }),
                grastate_unreadable: false,
                gra_version: 1,
                gvw: Some(v.clone()),
                gvw_unreadable: false,
                recovered: None,
                endpoint_down: false,
                sst_in_progress: false,
                prepared: 0,
                recover_fails: false,
                incarnation: 1,
                gcomm: gcomm_uuid(i, 1),
                corrupt: false,
                apart_record: None,
                comp: Some(0),
                last_prim: Some(v),
                restored: false,
                rolled_back: false,
                start_known: None,
                knows_position: true,
            });
        }
        m.comps.insert(
            0,
            Comp {
                members,
                primary: true,
                pos: Some(Pos {
                    branch: 0,
                    seqno: 0,
                }),
                zero_state: false,
                view_seq: 1,
            },
        );
        m.next_comp = 1;
        m
    }

    fn safe_value(&self, v: bool) -> Option<bool> {
        if self.legacy_files {
            None
        } else {
            Some(v)
        }
    }

    pub fn n(&self) -> usize {
        self.nodes.len()
    }

    pub fn name(i: NodeId) -> String {
        format!("node{}", i + 1)
    }

    fn note(&mut self, s: String) {
        self.log.push(s);
    }

    // -----------------------------------------------------------------------------------
    // History arithmetic.

    /// The same data, named by the branch that last wrote to it.
    fn normalize(&self, mut p: Pos) -> Pos {
        while let Some(parent) = self.branches[p.branch as usize].parent {
            if p.seqno <= parent.seqno {
                // No writeset of this branch yet: the data is the parent's.
                p = Pos {
                    branch: parent.branch,
                    seqno: p.seqno.min(parent.seqno),
                };
            } else {
                break;
            }
        }
        p
    }

    /// Whether the data at `holder` contains the writeset `w`.
    pub fn contains(&self, holder: Pos, w: Pos) -> bool {
        let (mut b, mut lim) = (holder.branch, holder.seqno);
        loop {
            if b == w.branch {
                return w.seqno <= lim;
            }
            match self.branches[b as usize].parent {
                Some(p) => {
                    b = p.branch;
                    lim = lim.min(p.seqno);
                }
                None => return false,
            }
        }
    }

    /// Whether everything at `a` is also at `b` (`a` is a prefix of `b`).
    pub fn le(&self, a: Pos, b: Pos) -> bool {
        let a = self.normalize(a);
        (a.seqno == 0 && self.branches[a.branch as usize].parent.is_none()) || self.contains(b, a)
    }

    pub fn uuid_of(&self, p: Pos) -> u32 {
        self.branches[p.branch as usize].uuid
    }

    fn new_branch(&mut self, from: Pos, uuid: Option<u32>) -> u32 {
        let uuid = uuid.unwrap_or_else(|| self.uuid_of(from));
        self.branches.push(Branch {
            uuid,
            parent: Some(from),
        });
        (self.branches.len() - 1) as u32
    }

    /// Writes still held by some node's InnoDB or some live Primary component.
    pub fn holders(&self, w: Pos) -> Vec<NodeId> {
        let mut h: Vec<NodeId> = (0..self.n())
            .filter(|&i| self.nodes[i].data.is_some_and(|d| self.contains(d, w)))
            .collect();
        for c in self.comps.values() {
            if let Some(p) = c.pos {
                if c.primary && self.contains(p, w) {
                    h.extend(c.members.iter().copied());
                }
            }
        }
        h.sort_unstable();
        h.dedup();
        h
    }

    pub fn recoverable(&self, w: Pos) -> bool {
        !self.holders(w).is_empty()
    }

    // -----------------------------------------------------------------------------------
    // Files.

    fn write_grastate(&mut self, i: NodeId, g: GraFile) {
        let node = &mut self.nodes[i];
        node.grastate = Some(g);
        node.grastate_unreadable = false;
        node.gra_version += 1;
    }

    /// While running, Galera keeps `seqno: -1` (facts) and safe_to_bootstrap 0.
    fn grastate_running(&mut self, i: NodeId, uuid: u32) {
        let safe = self.safe_value(false);
        self.write_grastate(
            i,
            GraFile {
                uuid,
                seqno: -1,
                safe,
            },
        );
    }

    fn install_prim_view(&mut self, c: u32) {
        self.view_seq += 1;
        let seq = self.view_seq;
        let comp = self.comps.get_mut(&c).expect("component exists");
        comp.view_seq = seq;
        // facts (sandbox, 2026-12-03): a Primary configuration change is ordered like a
        // writeset and takes the next seqno (wsrep_last_committed +1 at every view change,
        // without writes); every member drains its queue up to it first.
        if let (true, false, Some(p)) = (comp.primary, comp.zero_state, comp.pos) {
            let cc = Pos {
                branch: p.branch,
                seqno: p.seqno + 1,
            };
            comp.pos = Some(cc);
            for m in comp.members.clone() {
                if self.nodes[m].proc == Proc::Running {
                    self.nodes[m].data = Some(cc);
                }
            }
        }
        let comp = &self.comps[&c];
        let members = comp.members.clone();
        let defined = !comp.zero_state;
        let member_uuids: Vec<String> = members
            .iter()
            .map(|&m| self.nodes[m].gcomm.clone())
            .collect();
        let view_uuid = member_uuids.first().cloned().unwrap_or_default();
        for &m in &members {
            let v = SavedViewT {
                my_uuid: self.nodes[m].gcomm.clone(),
                view_seq: seq,
                members: members.clone(),
                member_uuids: member_uuids.clone(),
                view_uuid: view_uuid.clone(),
            };
            // facts: gvwstate.dat is written on each Primary view.
            self.nodes[m].gvw = Some(v.clone());
            self.nodes[m].gvw_unreadable = false;
            self.nodes[m].last_prim = Some(v);
            self.nodes[m].restored = false;
            if defined {
                self.nodes[m].knows_position = true;
            }
        }
    }

    fn new_comp(&mut self, c: Comp) -> u32 {
        let id = self.next_comp;
        self.next_comp += 1;
        for &m in &c.members {
            self.nodes[m].comp = Some(id);
        }
        self.comps.insert(id, c);
        id
    }

    pub fn primary_comps(&self) -> Vec<u32> {
        self.comps
            .iter()
            .filter(|(_, c)| {
                c.primary
                    && c.members
                        .iter()
                        .any(|&m| self.nodes[m].proc == Proc::Running)
            })
            .map(|(&id, _)| id)
            .collect()
    }

    fn drop_empty_comps(&mut self) {
        self.comps.retain(|_, c| !c.members.is_empty());
    }

    // -----------------------------------------------------------------------------------
    // Client writes.

    /// A client commits through `origin`; acknowledged only in a Primary component with a
    /// defined state. The origin commits at once; the other members apply later (`apply`).
    pub fn write(&mut self, origin: NodeId) -> bool {
        let Some(c) = self.nodes[origin].comp else {
            return false;
        };
        if self.nodes[origin].proc != Proc::Running {
            return false;
        }
        let comp = &self.comps[&c];
        // The model acknowledges nothing on a pc.recovery Primary with the zero state: what
        // Galera does with such writes is not documented, and the facts' sandbox had none.
        if !comp.primary || comp.zero_state {
            return false;
        }
        let p = comp.pos.expect("a Primary has a position");
        let np = Pos {
            branch: p.branch,
            seqno: p.seqno + 1,
        };
        self.comps.get_mut(&c).expect("comp").pos = Some(np);
        self.nodes[origin].data = Some(np);
        self.acked.push(np);
        true
    }

    /// Every member of every Primary applies its queue.
    pub fn apply_all(&mut self) {
        let updates: Vec<(NodeId, Pos)> = self
            .comps
            .values()
            .filter(|c| c.primary && !c.zero_state)
            .flat_map(|c| {
                let p = c.pos.expect("pos");
                c.members
                    .iter()
                    .filter(|&&m| self.nodes[m].proc == Proc::Running)
                    .map(move |&m| (m, p))
            })
            .collect();
        for (m, p) in updates {
            self.nodes[m].data = Some(p);
        }
    }

    /// Members of `c` drain their receive queues (they hold every ordered writeset).
    fn drain(&mut self, c: u32) {
        let comp = &self.comps[&c];
        if let (true, false, Some(p)) = (comp.primary, comp.zero_state, comp.pos) {
            for m in comp.members.clone() {
                if self.nodes[m].proc != Proc::Stopped {
                    self.nodes[m].data = Some(p);
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Leaving.

    /// Clean shutdown.
    pub fn stop(&mut self, i: NodeId) -> bool {
        if self.nodes[i].proc != Proc::Running {
            return false;
        }
        let c = self.nodes[i].comp.expect("running node has a component");
        let comp = self.comps[&c].clone();
        if comp.primary && !comp.zero_state {
            self.nodes[i].data = comp.pos;
        }
        let last = comp.primary && comp.members.len() == 1;
        let (uuid, seqno) = if comp.zero_state {
            // facts: after a pc.recovery Primary with the zero state, a clean stop leaves
            // uuid 00000000-…, seqno -1.
            (0, -1)
        } else {
            match self.nodes[i].data {
                Some(d) => (self.uuid_of(d), d.seqno as i64),
                None => (0, -1),
            }
        };
        // facts: safe_to_bootstrap becomes 1 on the last node of a Primary component.
        let safe = self.safe_value(last);
        self.write_grastate(i, GraFile { uuid, seqno, safe });
        // facts: gvwstate.dat is removed on clean shutdown.
        self.nodes[i].gvw = None;
        self.nodes[i].gvw_unreadable = false;
        self.leave(i);
        // docs (weighted-quorum): a graceful leave lowers the quorum base, the rest stays
        // Primary and installs a view without it.
        let comp = self.comps.get_mut(&c).expect("comp");
        comp.members.remove(&i);
        if comp.primary && !comp.members.is_empty() {
            self.install_prim_view(c);
        }
        self.drop_empty_comps();
        self.settle();
        true
    }

    fn leave(&mut self, i: NodeId) {
        let n = &mut self.nodes[i];
        n.proc = Proc::Stopped;
        n.comp = None;
        n.last_prim = None;
        n.restored = false;
    }

    /// SIGKILL of several nodes at once. Their InnoDB keeps what they had applied;
    /// grastate.dat keeps `seqno: -1` and gvwstate.dat stays (facts).
    pub fn crash(&mut self, set: &BTreeSet<NodeId>) -> bool {
        let set: BTreeSet<NodeId> = set
            .iter()
            .copied()
            .filter(|&i| self.nodes[i].proc != Proc::Stopped)
            .collect();
        if set.is_empty() {
            return false;
        }
        let affected: BTreeSet<u32> = set.iter().filter_map(|&i| self.nodes[i].comp).collect();
        for &i in &set {
            self.leave(i);
        }
        for c in affected {
            let comp = self.comps.get_mut(&c).expect("comp");
            let before = comp.members.len();
            comp.members.retain(|m| !set.contains(m));
            let after = comp.members.len();
            if after == 0 {
                continue;
            }
            if comp.primary {
                // docs (weighted-quorum): the rest stays Primary only with a strict majority
                // of the previous Primary component.
                if 2 * after > before {
                    self.install_prim_view(c);
                } else {
                    self.drain(c);
                    let comp = self.comps.get_mut(&c).expect("comp");
                    comp.primary = false;
                }
            }
        }
        self.drop_empty_comps();
        self.settle();
        true
    }

    /// A crash during a total-order-isolation operation (DDL): grastate.dat is left as
    /// `00000000-…:-1` (docs: node-provisioning, "its initial node state remains undefined").
    pub fn crash_in_toi(&mut self, i: NodeId) -> bool {
        if self.nodes[i].proc == Proc::Stopped {
            return false;
        }
        self.crash(&BTreeSet::from([i]));
        let safe = self.safe_value(false);
        self.write_grastate(
            i,
            GraFile {
                uuid: 0,
                seqno: -1,
                safe,
            },
        );
        true
    }

    /// SIGSTOP: the others evict it (evs.suspect_timeout) and re-count the quorum; the
    /// frozen process keeps its old idea of its component.
    pub fn freeze(&mut self, i: NodeId) -> bool {
        if self.nodes[i].proc != Proc::Running {
            return false;
        }
        let c = self.nodes[i].comp.expect("comp");
        let was = self.comps[&c].clone();
        self.nodes[i].proc = Proc::Frozen;
        let comp = self.comps.get_mut(&c).expect("comp");
        comp.members.remove(&i);
        let after = comp.members.len();
        if after > 0 && was.primary {
            if 2 * after > was.members.len() {
                self.install_prim_view(c);
            } else {
                self.drain(c);
                self.comps.get_mut(&c).expect("comp").primary = false;
            }
        }
        // The frozen node alone in a component that keeps its old flag (it cannot act).
        let mut alone = was;
        alone.members = BTreeSet::from([i]);
        self.new_comp(alone);
        self.drop_empty_comps();
        self.settle();
        true
    }

    pub fn thaw(&mut self, i: NodeId) -> bool {
        if self.nodes[i].proc != Proc::Frozen {
            return false;
        }
        self.nodes[i].proc = Proc::Running;
        self.nodes[i].rolled_back = false;
        let c = self.nodes[i].comp.expect("comp");
        let alone = self.comps[&c].members.len() == 1;
        // It notices it was left alone: alone in a Primary of more than itself is no quorum.
        if alone {
            let comp = self.comps.get_mut(&c).expect("comp");
            let base = self.nodes[i]
                .last_prim
                .as_ref()
                .map_or(1, |v| v.members.len());
            if comp.primary && base > 1 {
                comp.primary = false;
            }
        }
        let side = self.nodes[i].side;
        self.merge_side(side, None);
        true
    }

    // -----------------------------------------------------------------------------------
    // Network.

    /// New network sides. Components split; a piece of a Primary stays Primary only with a
    /// strict majority of it (docs: weighted-quorum; an even split leaves both halves
    /// non-Primary, runbook case 7). Pieces on one side then merge.
    pub fn partition(&mut self, sides: &[u8]) -> bool {
        let sides: Vec<u8> = (0..self.n())
            .map(|i| sides.get(i).copied().unwrap_or(0))
            .collect();
        if sides.iter().zip(&self.nodes).all(|(s, n)| *s == n.side) {
            return false;
        }
        for (i, s) in sides.iter().enumerate() {
            self.nodes[i].side = *s;
        }
        let ids: Vec<u32> = self.comps.keys().copied().collect();
        for c in ids {
            let comp = self.comps[&c].clone();
            let live: Vec<NodeId> = comp
                .members
                .iter()
                .copied()
                .filter(|&m| self.nodes[m].proc == Proc::Running)
                .collect();
            let mut by_side: BTreeMap<u8, BTreeSet<NodeId>> = BTreeMap::new();
            for m in live {
                by_side.entry(self.nodes[m].side).or_default().insert(m);
            }
            if by_side.len() <= 1 {
                continue;
            }
            self.drain(c);
            self.comps.remove(&c);
            for (_, piece) in by_side {
                let primary = comp.primary && 2 * piece.len() > comp.members.len();
                let id = self.new_comp(Comp {
                    members: piece,
                    primary,
                    pos: comp.pos,
                    zero_state: comp.zero_state,
                    view_seq: comp.view_seq,
                });
                if primary {
                    self.install_prim_view(id);
                }
            }
        }
        let all_sides: BTreeSet<u8> = sides.iter().copied().collect();
        for s in all_sides {
            self.merge_side(s, None);
        }
        true
    }

    /// Galera converges after a membership change: on every side, non-Primary nodes join
    /// the Primary there, or re-form one if they can.
    fn settle(&mut self) {
        let sides: BTreeSet<u8> = self
            .nodes
            .iter()
            .filter(|n| n.proc == Proc::Running)
            .map(|n| n.side)
            .collect();
        for s in sides {
            self.merge_side(s, None);
        }
    }

    pub fn heal(&mut self) -> bool {
        let zeros = vec![0u8; self.n()];
        self.partition(&zeros)
    }

    /// The running nodes of one side see each other: non-Primary nodes join the one Primary
    /// there; with none, they form one non-Primary component, which becomes Primary again
    /// if it holds a majority of its last Primary view (or, restored from gvwstate.dat, all
    /// of it: docs pc.recovery). Two Primary components never merge (PESSIMISTIC: docs
    /// silent; left as two).
    fn merge_side(&mut self, side: u8, starting: Option<(NodeId, Option<(u32, i64)>)>) {
        let live: Vec<NodeId> = (0..self.n())
            .filter(|&i| self.nodes[i].side == side && self.nodes[i].proc == Proc::Running)
            .collect();
        let prims: BTreeSet<u32> = live
            .iter()
            .filter_map(|&i| self.nodes[i].comp)
            .filter(|c| self.comps[c].primary)
            .collect();
        if prims.len() == 1 {
            let p = *prims.iter().next().expect("one");
            for &i in &live {
                if self.nodes[i].comp != Some(p) {
                    let known = match starting {
                        Some((s, k)) if s == i => k,
                        _ => self.nodes[i]
                            .data
                            .map(|d| (self.uuid_of(d), d.seqno as i64)),
                    };
                    self.join_primary(i, p, known);
                }
            }
            self.drop_empty_comps();
            return;
        }
        if prims.len() > 1 {
            // Split brain stays split; non-Primary nodes join the first one.
            let p = *prims.iter().next().expect("one");
            for &i in &live {
                let c = self.nodes[i].comp.expect("comp");
                if !self.comps[&c].primary {
                    let known = self.nodes[i]
                        .data
                        .map(|d| (self.uuid_of(d), d.seqno as i64));
                    self.join_primary(i, p, known);
                }
            }
            self.drop_empty_comps();
            return;
        }
        // No Primary on this side: one non-Primary component of all of them.
        let members: BTreeSet<NodeId> = live.iter().copied().collect();
        if members.is_empty() {
            return;
        }
        for &i in &live {
            if let Some(c) = self.nodes[i].comp {
                if let Some(comp) = self.comps.get_mut(&c) {
                    comp.members.remove(&i);
                }
            }
        }
        self.drop_empty_comps();
        let id = self.new_comp(Comp {
            members: members.clone(),
            primary: false,
            pos: None,
            zero_state: false,
            view_seq: 0,
        });
        self.try_reform(id, starting);
    }

    /// pc.recovery / quorum re-formation of a non-Primary component.
    fn try_reform(&mut self, c: u32, starting: Option<(NodeId, Option<(u32, i64)>)>) {
        let members = self.comps[&c].members.clone();
        let Some(v) = members
            .iter()
            .filter_map(|&m| self.nodes[m].last_prim.clone())
            .max_by_key(|v| v.view_seq)
        else {
            return;
        };
        let same: BTreeSet<NodeId> = members
            .iter()
            .copied()
            .filter(|&m| {
                self.nodes[m]
                    .last_prim
                    .as_ref()
                    .is_some_and(|l| l.view_seq == v.view_seq)
            })
            .collect();
        let any_restored = same.iter().any(|&m| self.nodes[m].restored);
        let ok = if any_restored {
            // docs pc.recovery: "when all nodes that were part of the last saved state
            // reestablish communications with each other".
            v.members.iter().all(|m| same.contains(m))
        } else {
            2 * same.iter().filter(|m| v.members.contains(m)).count() > v.members.len()
        };
        if !ok {
            return;
        }
        // The state Galera knows for each member: a running one its own seqno; a started
        // one what it was started with (grastate.dat or --wsrep_start_position).
        let known: Vec<(NodeId, Option<(u32, i64)>)> = members
            .iter()
            .map(|&m| {
                let k = match starting {
                    Some((s, k)) if s == m => k,
                    _ if self.nodes[m].restored => self.nodes[m].start_known,
                    _ => self.nodes[m]
                        .data
                        .map(|d| (self.uuid_of(d), d.seqno as i64)),
                };
                (m, k.filter(|(u, s)| *u != 0 && *s >= 0))
            })
            .collect();
        let rep = known
            .iter()
            .filter_map(|(m, k)| k.map(|(_, s)| (s, std::cmp::Reverse(*m))))
            .max()
            .map(|(_, std::cmp::Reverse(m))| m);
        self.note(format!(
            "  galera: component {{{}}} re-forms the Primary ({})",
            names(&members),
            if any_restored {
                "pc.recovery, every member of the saved view is back"
            } else {
                "a majority of the last Primary view"
            }
        ));
        match rep {
            None => {
                // facts: every node started plainly after a crash: "Bootstrapped primary
                // 0000… found: 3": a Primary with the zero state UUID.
                let comp = self.comps.get_mut(&c).expect("comp");
                comp.primary = true;
                comp.zero_state = true;
                comp.pos = None;
                self.install_prim_view(c);
                for m in members {
                    self.grastate_running(m, 0);
                }
            }
            Some(r) => {
                let rp = self.nodes[r]
                    .data
                    .expect("rep with a known position has data");
                let b = self.new_branch(rp, None);
                let pos = Pos {
                    branch: b,
                    seqno: rp.seqno,
                };
                let comp = self.comps.get_mut(&c).expect("comp");
                comp.primary = true;
                comp.pos = Some(pos);
                comp.members = BTreeSet::from([r]);
                self.nodes[r].data = Some(pos);
                let u = self.uuid_of(pos);
                self.grastate_running(r, u);
                for (m, k) in known {
                    if m != r {
                        self.comps.get_mut(&c).expect("comp").members.remove(&m);
                        // docs (issue codership/galera#65): "If the wsrep position differs
                        // between nodes during the recovery, full SST is required".
                        self.join_primary(m, c, k);
                    }
                }
                self.install_prim_view(c);
            }
        }
    }

    /// The position Galera starts from.
    fn galera_known(&self, i: NodeId, mode: StartMode) -> Option<(u32, i64)> {
        let n = &self.nodes[i];
        let file = if n.grastate_unreadable {
            None
        } else {
            n.grastate.as_ref()
        };
        match mode {
            StartMode::Plain => file
                .filter(|g| g.uuid != 0 && g.seqno >= 0)
                .map(|g| (g.uuid, g.seqno)),
            StartMode::WithPosition | StartMode::NewCluster => {
                if let Some(g) = file.filter(|g| g.uuid != 0 && g.seqno >= 0) {
                    return Some((g.uuid, g.seqno));
                }
                // galera_recovery: InnoDB's wsrep XID, unless recovery cannot run.
                if n.prepared > 0 || n.recover_fails || n.sst_in_progress {
                    return None;
                }
                n.data.map(|d| (self.uuid_of(d), d.seqno as i64))
            }
        }
    }

    /// Node `i` joins Primary `c` (starting, or a running non-Primary node merging).
    /// `known` is the state it presents. galera source (replicator_str.cpp,
    /// state_transfer_required): same UUID and not behind the group → a starting node
    /// aborts ("states diverged"); same UUID and behind → IST; otherwise SST.
    fn join_primary(&mut self, i: NodeId, c: u32, known: Option<(u32, i64)>) {
        let comp = self.comps[&c].clone();
        let old = self.nodes[i].comp;
        if let Some(o) = old {
            if let Some(oc) = self.comps.get_mut(&o) {
                oc.members.remove(&i);
            }
        }
        let how;
        if comp.zero_state {
            // PESSIMISTIC: the donor is the lowest member, whatever its InnoDB holds.
            let donor = *comp.members.iter().next().expect("members");
            self.nodes[i].data = self.nodes[donor].data;
            how = format!("SST from {} (zero-state Primary)", Self::name(donor));
            self.grastate_running(i, 0);
        } else {
            let gp = comp.pos.expect("pos");
            let gu = self.uuid_of(gp);
            match known {
                Some((u, s)) if u == gu && s >= 0 => {
                    let s = s as u64;
                    let mine = self.nodes[i].data;
                    if s > gp.seqno {
                        // A starting node, and a running one too: on losing its Primary a
                        // node shifts to CONNECTED (galera source, replicator_smm.cpp,
                        // process_non_prim_conf_change), below JOINING, where the check
                        // aborts instead of transferring state. mysqld exits; grastate.dat
                        // was already marked -1 and gvwstate.dat stays, as after a crash.
                        self.note(format!(
                            "  galera: {} aborts: local seqno {s} > group seqno {}: states diverged",
                            Self::name(i),
                            gp.seqno
                        ));
                        self.grastate_running(i, u);
                        self.leave(i);
                        self.drop_empty_comps();
                        return;
                    } else {
                        if mine.is_some_and(|d| !self.le(d, gp)) {
                            // IST over a diverged history: Galera cannot tell.
                            self.corruptions += 1;
                            self.nodes[i].corrupt = true;
                            how = "IST over a diverged history (inconsistent)".into();
                        } else {
                            how = "IST".into();
                        }
                        self.nodes[i].data = Some(gp);
                    }
                }
                _ => {
                    self.nodes[i].data = Some(gp);
                    how = "SST".into();
                }
            }
            self.grastate_running(i, gu);
        }
        self.nodes[i].sst_in_progress = false;
        self.nodes[i].comp = Some(c);
        self.comps.get_mut(&c).expect("comp").members.insert(i);
        self.install_prim_view(c);
        self.note(format!(
            "  galera: {} joins the Primary by {how}",
            Self::name(i)
        ));
        self.drop_empty_comps();
    }

    // -----------------------------------------------------------------------------------
    // Starting.

    /// Starts a stopped node.
    pub fn start(&mut self, i: NodeId, mode: StartMode) -> Result<(), StartError> {
        if self.nodes[i].proc != Proc::Stopped {
            return Err(StartError::AlreadyRunning);
        }
        if self.nodes[i].gvw_unreadable {
            return Err(StartError::BadGvwstate);
        }
        if mode == StartMode::NewCluster {
            // facts: refused when safe_to_bootstrap is 0 (absent means 1).
            let n = &self.nodes[i];
            if !n.grastate_unreadable {
                if let Some(g) = &n.grastate {
                    if g.safe == Some(false) {
                        return Err(StartError::NotSafeToBootstrap);
                    }
                }
            }
        }
        let known = self.galera_known(i, mode);
        self.start_from(i, mode, known)
    }

    /// Starts a stopped node with the position `known` passed to Galera (quorate's rejoin
    /// recovers it first and starts "with that position": docs/runbook.md case 4).
    pub fn start_from(
        &mut self,
        i: NodeId,
        mode: StartMode,
        known: Option<(u32, i64)>,
    ) -> Result<(), StartError> {
        if self.nodes[i].proc != Proc::Stopped {
            return Err(StartError::AlreadyRunning);
        }
        if self.nodes[i].gvw_unreadable {
            return Err(StartError::BadGvwstate);
        }
        self.nodes[i].start_known = known;
        self.nodes[i].knows_position = known.is_some();
        self.nodes[i].incarnation += 1;
        // With pc.recovery, gcomm takes back gvwstate.dat's my_uuid at connect (that is what
        // the file keeps it for), whatever the start mode; without the file, a new UUID.
        self.nodes[i].gcomm = match &self.nodes[i].gvw {
            Some(v) if !self.nodes[i].gvw_unreadable => v.my_uuid.clone(),
            _ => gcomm_uuid(i, self.nodes[i].incarnation),
        };
        self.nodes[i].proc = Proc::Running;
        self.nodes[i].rolled_back = false;
        self.nodes[i].prepared = 0;
        self.nodes[i].recover_fails = false;
        match mode {
            StartMode::NewCluster => {
                let (pos, uuid) = match (known, self.nodes[i].data) {
                    (Some((u, s)), Some(d)) if u == self.uuid_of(d) && s == d.seqno as i64 => {
                        let b = self.new_branch(d, None);
                        (
                            Pos {
                                branch: b,
                                seqno: d.seqno,
                            },
                            u,
                        )
                    }
                    (_, data) => {
                        // No usable position (or one InnoDB does not hold): Galera starts a
                        // new history with a new UUID over whatever InnoDB holds.
                        let from = data.unwrap_or(Pos {
                            branch: 0,
                            seqno: 0,
                        });
                        let u = self.next_uuid;
                        self.next_uuid += 1;
                        let b = self.new_branch(from, Some(u));
                        (
                            Pos {
                                branch: b,
                                seqno: from.seqno,
                            },
                            u,
                        )
                    }
                };
                self.nodes[i].data = Some(pos);
                self.nodes[i].sst_in_progress = false;
                self.grastate_running(i, uuid);
                let c = self.new_comp(Comp {
                    members: BTreeSet::from([i]),
                    primary: true,
                    pos: Some(pos),
                    zero_state: false,
                    view_seq: 0,
                });
                self.install_prim_view(c);
                let side = self.nodes[i].side;
                // The non-Primary nodes of its side merge into it by themselves (runbook
                // case 5: "the survivor then merges into the new Primary by itself").
                self.merge_side(side, None);
                Ok(())
            }
            StartMode::Plain | StartMode::WithPosition => {
                let file_uuid = self.nodes[i].grastate.as_ref().map_or(0, |g| g.uuid);
                self.grastate_running(i, known.map_or(file_uuid, |k| k.0));
                // The saved view is restored for pc.recovery (facts).
                let restored = self.nodes[i].gvw.clone();
                self.nodes[i].restored = restored.is_some();
                self.nodes[i].last_prim = restored;
                let c = self.new_comp(Comp {
                    members: BTreeSet::from([i]),
                    primary: false,
                    pos: None,
                    zero_state: false,
                    view_seq: 0,
                });
                self.nodes[i].comp = Some(c);
                let side = self.nodes[i].side;
                self.merge_side(side, Some((i, known)));
                if self.nodes[i].proc == Proc::Stopped {
                    return Err(StartError::Diverged);
                }
                Ok(())
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // quorate's actions on the model (see apply.rs for the steps).

    /// `--wsrep-recover` on a stopped node: reads InnoDB, never touches grastate.dat
    /// (src/recover/position.rs, checked on the sandbox).
    pub fn run_recover(&mut self, i: NodeId) -> Option<RecOutcome> {
        let n = &self.nodes[i];
        if n.proc != Proc::Stopped || n.sst_in_progress {
            return None;
        }
        let outcome = if n.recover_fails {
            RecOutcome::Failed
        } else if n.prepared > 0 {
            RecOutcome::Prepared(n.prepared)
        } else {
            match n.data {
                // facts: a brand-new (or emptied) datadir recovers 00000000-…:-1.
                None => RecOutcome::Position { uuid: 0, seqno: -1 },
                Some(d) => RecOutcome::Position {
                    uuid: self.uuid_of(d),
                    seqno: d.seqno as i64,
                },
            }
        };
        self.clock += 1;
        let fp = self.nodes[i]
            .grastate
            .as_ref()
            .map(|_| self.nodes[i].gra_version);
        self.nodes[i].recovered = Some(RecoveredT {
            at: self.clock,
            fingerprint: fp,
            outcome: outcome.clone(),
        });
        Some(outcome)
    }

    /// `pc.bootstrap=YES` on a live node: acts only in a non-Primary component (facts).
    pub fn promote(&mut self, i: NodeId) -> bool {
        if self.nodes[i].proc != Proc::Running {
            return false;
        }
        let c = self.nodes[i].comp.expect("comp");
        if self.comps[&c].primary {
            return false;
        }
        let members = self.comps[&c].members.clone();
        // The most advanced member is the state (docs quorum-reset: the component syncs to
        // the most up-to-date node); ties: the promoted node.
        let rep = members
            .iter()
            .copied()
            .filter_map(|m| {
                self.nodes[m]
                    .data
                    .map(|d| (d.seqno, m == i, std::cmp::Reverse(m)))
            })
            .max()
            .map(|(_, _, std::cmp::Reverse(m))| m)
            .unwrap_or(i);
        let Some(rp) = self.nodes[rep].data else {
            return false;
        };
        let b = self.new_branch(rp, None);
        let pos = Pos {
            branch: b,
            seqno: rp.seqno,
        };
        let comp = self.comps.get_mut(&c).expect("comp");
        comp.primary = true;
        comp.zero_state = false;
        comp.pos = Some(pos);
        comp.members = BTreeSet::from([rep]);
        self.nodes[rep].data = Some(pos);
        for m in members {
            if m != rep {
                let known = self.nodes[m]
                    .data
                    .map(|d| (self.uuid_of(d), d.seqno as i64));
                self.comps.get_mut(&c).expect("comp").members.remove(&m);
                self.join_primary(m, c, known);
            }
        }
        self.install_prim_view(c);
        true
    }

    /// quorate's bootstrap: safe_to_bootstrap set to 1 if it is 0 (only while stopped), then
    /// `--wsrep-new-cluster` (docs/runbook.md case 6, src/recover/act.rs's contract).
    pub fn set_safe(&mut self, i: NodeId) {
        let n = &self.nodes[i];
        if n.proc != Proc::Stopped || n.grastate_unreadable {
            return;
        }
        if let Some(g) = n.grastate.clone() {
            if g.safe == Some(false) {
                self.write_grastate(
                    i,
                    GraFile {
                        safe: Some(true),
                        ..g
                    },
                );
            }
        }
    }

    /// `rejoin --move-aside`: grastate.dat, gvwstate.dat and galera.cache go aside.
    pub fn move_aside(&mut self, i: NodeId) {
        let n = &mut self.nodes[i];
        n.grastate = None;
        n.grastate_unreadable = false;
        n.gvw = None;
        n.gvw_unreadable = false;
        n.gra_version += 1;
    }

    /// A start whose state transfer is killed midway: the datadir is incomplete
    /// (`sst_in_progress`), grastate.dat says -1.
    pub fn interrupted_sst(&mut self, i: NodeId) {
        let u = self.nodes[i].grastate.as_ref().map_or(0, |g| g.uuid);
        self.nodes[i].data = None;
        self.nodes[i].sst_in_progress = true;
        self.grastate_running(i, u);
    }

    // -----------------------------------------------------------------------------------
    // Faults of the environment.

    pub fn corrupt_grastate(&mut self, i: NodeId) -> bool {
        if self.nodes[i].proc != Proc::Stopped || self.nodes[i].grastate.is_none() {
            return false;
        }
        self.nodes[i].grastate_unreadable = true;
        self.nodes[i].gra_version += 1;
        true
    }

    pub fn corrupt_gvwstate(&mut self, i: NodeId) -> bool {
        if self.nodes[i].proc != Proc::Stopped || self.nodes[i].gvw.is_none() {
            return false;
        }
        self.nodes[i].gvw_unreadable = true;
        true
    }

    /// A backup restored under the existing grastate.dat: InnoDB goes back `k` writesets
    /// on its own history (grastate.dat then claims more than InnoDB holds).
    pub fn rollback_innodb(&mut self, i: NodeId, k: u64) -> bool {
        let n = &self.nodes[i];
        if n.proc != Proc::Stopped || k == 0 {
            return false;
        }
        let Some(d) = n.data else { return false };
        let d = self.normalize(d);
        // A restored backup has no XA leftovers.
        self.nodes[i].prepared = 0;
        self.nodes[i].recover_fails = false;
        let floor = self.branches[d.branch as usize]
            .parent
            .map_or(0, |p| p.seqno);
        let s = d.seqno.saturating_sub(k).max(floor);
        if s == d.seqno {
            return false;
        }
        self.nodes[i].data = Some(Pos {
            branch: d.branch,
            seqno: s,
        });
        self.nodes[i].rolled_back = true;
        true
    }

    // -----------------------------------------------------------------------------------

    /// One line per node, for the history.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let comp = n.comp.map(|c| {
                let c = &self.comps[&c];
                format!(
                    " {}{{{}}}{}",
                    if c.primary { "PRIM" } else { "non-prim" },
                    names(&c.members),
                    match (c.zero_state, c.pos) {
                        (true, _) => " zero-state".to_string(),
                        (_, Some(p)) => format!(" at {}", self.pos_str(p)),
                        _ => String::new(),
                    }
                )
            });
            let _ = writeln!(
                s,
                "    {}: {:?}{} side {} innodb {} grastate {} gvw {}{}{}{}{}{}{}",
                Self::name(i),
                n.proc,
                comp.unwrap_or_default(),
                n.side,
                n.data.map_or("unusable".into(), |d| self.pos_str(d)),
                if n.grastate_unreadable {
                    "UNREADABLE".to_string()
                } else {
                    n.grastate.as_ref().map_or("absent".into(), |g| {
                        format!(
                            "{}:{} safe {:?} v{}",
                            g.uuid, g.seqno, g.safe, n.gra_version
                        )
                    })
                },
                if n.gvw_unreadable {
                    "UNREADABLE".to_string()
                } else {
                    n.gvw.as_ref().map_or("absent".into(), |v| {
                        format!("#{} {{{}}}", v.view_seq, names(&v.members))
                    })
                },
                n.recovered.as_ref().map_or(String::new(), |r| format!(
                    " recovered {:?} fp {:?}",
                    r.outcome, r.fingerprint
                )),
                if n.endpoint_down {
                    " ENDPOINT-DOWN"
                } else {
                    ""
                },
                if n.sst_in_progress {
                    " sst_in_progress"
                } else {
                    ""
                },
                if n.prepared > 0 { " prepared" } else { "" },
                if n.recover_fails {
                    " recover-fails"
                } else {
                    ""
                },
                if n.corrupt { " CORRUPT" } else { "" },
            );
        }
        s
    }

    pub fn pos_str(&self, p: Pos) -> String {
        let p = self.normalize(p);
        format!("b{}(u{}):{}", p.branch, self.uuid_of(p), p.seqno)
    }
}

pub fn gcomm_uuid(i: NodeId, inc: u32) -> String {
    format!("{:08x}-0000-11f1-8000-{:012x}", i + 1, inc)
}

pub fn names(s: &BTreeSet<NodeId>) -> String {
    s.iter()
        .map(|&i| Model::name(i))
        .collect::<Vec<_>>()
        .join(",")
}
