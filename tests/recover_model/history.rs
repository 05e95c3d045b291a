//! Histories: what happens to the cluster (events), what quorate plans, what the operator
//! applies, and the invariants checked after every step.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use proptest::prelude::*;
use quorate::recover::decide::{Action, Assumptions, Decision, Verdict};

use crate::apply::{apply_step, node_index, Fault};
use crate::invariants::{self, Violation};
use crate::model::{Model, Proc, StartMode};
use crate::observe;

/// Something that happens to the cluster (not quorate's doing). Node numbers are taken
/// modulo the cluster size.
#[derive(Debug, Clone)]
pub enum Ev {
    Write(u8),
    Apply,
    Stop(u8),
    Crash(u8),
    /// Several nodes killed at once (a bit mask).
    CrashMany(u8),
    Freeze(u8),
    Thaw(u8),
    /// Network sides, one per node.
    Partition(Vec<u8>),
    Heal,
    /// Started by someone else: plainly (`mariadbd`) or as systemd does.
    Start(u8, bool),
    EndpointDown(u8),
    EndpointUp(u8),
    CorruptGrastate(u8),
    CorruptGvwstate(u8),
    /// The next `--wsrep-recover` finds prepared transactions.
    Prepared(u8),
    RecoverFails(u8),
    /// A backup restored under grastate.dat: InnoDB goes back this many writesets.
    RollbackInnodb(u8, u8),
    /// A crash during DDL (total order isolation): grastate.dat left as `00000000-…:-1`.
    CrashToi(u8),
    /// Someone (not quorate) bootstraps a stopped node by hand: sets safe_to_bootstrap: 1
    /// and runs galera_new_cluster (the runbook's "someone bootstrapped a new cluster").
    OperatorBootstrap(u8),
    /// The operator runs `quorate recover position` on a node by hand.
    RunRecover(u8),
    /// The operator runs quorate: plan, apply, plan again, until done.
    Recover,
}

/// How the operator follows the plans.
#[derive(Debug, Clone)]
pub struct Operator {
    /// Runs only the first step of each plan, then plans again.
    pub first_step_only: bool,
    /// When the plan waits for nodes that are really down, names them with --assume-lost.
    pub assume_lost: bool,
    /// Faults of successive steps (cycled).
    pub faults: Vec<Fault>,
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub nodes: usize,
    pub legacy_files: bool,
    pub events: Vec<Ev>,
    pub operator: Operator,
}

/// Figures of one or many histories.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub histories: u64,
    pub events: u64,
    pub decisions: u64,
    pub steps: u64,
    pub verdicts: BTreeMap<String, u64>,
    /// Refusals while every node answered with a known position: by first reason.
    pub unambiguous_refusals: BTreeMap<String, u64>,
    /// The first history of each such refusal kind, for a human to judge.
    pub refusal_examples: BTreeMap<String, String>,
    pub healthy_at_end: u64,
    /// Acknowledged writes lost by Galera itself (pc.recovery SST, IST over divergence...)
    /// before quorate acted: not quorate's doing, counted only.
    pub lost_by_environment: u64,
    pub accepted_losses: u64,
    pub corruptions: u64,
    /// Histories ended because the environment had made two histories with acknowledged
    /// writes, with no trace decide could read: no tool could keep both.
    pub unavoidable: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.histories += o.histories;
        self.events += o.events;
        self.decisions += o.decisions;
        self.steps += o.steps;
        for (k, v) in &o.verdicts {
            *self.verdicts.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.unambiguous_refusals {
            *self.unambiguous_refusals.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.refusal_examples {
            self.refusal_examples
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        self.healthy_at_end += o.healthy_at_end;
        self.lost_by_environment += o.lost_by_environment;
        self.accepted_losses += o.accepted_losses;
        self.corruptions += o.corruptions;
        self.unavoidable += o.unavoidable;
    }
}

/// A history that broke an invariant, with everything needed to replay it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub violation: Violation,
    pub log: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invariant {} broken: {}{}\n  {}\n--- history ---\n{}",
            self.violation.invariant,
            self.violation.kind,
            self.violation
                .class
                .map(|c| format!(" [class {c}]"))
                .unwrap_or_default(),
            self.violation.detail,
            self.log
        )
    }
}

pub const MAX_PLANS: usize = 12;

pub fn verdict_kind(v: &Verdict) -> &'static str {
    match v {
        Verdict::Healthy => "healthy",
        Verdict::Wait => "wait",
        Verdict::Join { .. } => "join",
        Verdict::RecoverPositions { .. } => "recover_positions",
        Verdict::Bootstrap { .. } => "bootstrap",
        Verdict::Promote { .. } => "promote",
        Verdict::Refuse => "refuse",
    }
}

/// Reasons without node names and numbers, to count kinds.
pub fn reason_kind(d: &Decision) -> String {
    let r = d
        .reasons
        .first()
        .cloned()
        .unwrap_or_else(|| d.situation.clone());
    normalize(&r)
}

fn normalize(r: &str) -> String {
    let mut s = String::new();
    let mut prev_digit = false;
    for ch in r.chars() {
        if ch.is_ascii_digit() || ch.is_ascii_hexdigit() && prev_digit {
            if !prev_digit {
                s.push('N');
            }
            prev_digit = true;
        } else {
            prev_digit = false;
            s.push(ch);
        }
    }
    s.chars().take(110).collect()
}

pub struct Runner {
    pub m: Model,
    pub stats: Stats,
    pub log: String,
    op: Operator,
    fault_i: usize,
    accepted: BTreeSet<crate::model::Pos>,
    /// Nodes a plan found apart and quorate recorded, with their data at that moment.
    found_apart: Vec<(usize, Option<crate::model::Pos>)>,
}

impl Runner {
    pub fn new(nodes: usize, legacy_files: bool, op: Operator) -> Runner {
        Runner {
            m: Model::new(nodes, legacy_files),
            stats: Stats {
                histories: 1,
                ..Stats::default()
            },
            log: String::new(),
            op,
            fault_i: 0,
            accepted: BTreeSet::new(),
            found_apart: Vec::new(),
        }
    }

    fn flush_model_log(&mut self) {
        for l in self.m.log.drain(..) {
            let _ = writeln!(self.log, "{l}");
        }
    }

    /// A violation once the environment made two histories that each hold acknowledged
    /// writes (and nothing in the reports shows it): no tool can keep both. Counted, and
    /// the history ends.
    fn unavoidable(&mut self, v: &Violation) -> bool {
        if self.m.env_diverged && matches!(v.invariant, 1 | 3) && v.class.is_none() {
            self.stats.unavoidable += 1;
            let _ = writeln!(
                self.log,
                "  (unavoidable after a hand-made split brain: {})",
                v.detail
            );
            return true;
        }
        false
    }

    fn fail(&mut self, v: Violation) -> Failure {
        self.flush_model_log();
        let _ = writeln!(self.log, "  state now:\n{}", self.m.describe());
        Failure {
            violation: v,
            log: self.log.clone(),
        }
    }

    /// Applies one event of the environment.
    pub fn event(&mut self, ev: &Ev) -> Result<(), Failure> {
        let n = self.m.n();
        let idx = |x: u8| usize::from(x) % n;
        let held_before = invariants::recoverable(&self.m, &self.accepted);
        let did = match ev {
            Ev::Recover => return self.recover(),
            Ev::Write(x) => self.m.write(idx(*x)),
            Ev::Apply => {
                self.m.apply_all();
                true
            }
            Ev::Stop(x) => self.m.stop(idx(*x)),
            Ev::Crash(x) => self.m.crash(&BTreeSet::from([idx(*x)])),
            Ev::CrashMany(mask) => {
                let set: BTreeSet<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
                self.m.crash(&set)
            }
            Ev::Freeze(x) => self.m.freeze(idx(*x)),
            Ev::Thaw(x) => self.m.thaw(idx(*x)),
            Ev::Partition(s) => self.m.partition(s),
            Ev::Heal => self.m.heal(),
            Ev::Start(x, systemd) => self
                .m
                .start(
                    idx(*x),
                    if *systemd {
                        StartMode::WithPosition
                    } else {
                        StartMode::Plain
                    },
                )
                .is_ok(),
            Ev::EndpointDown(x) => {
                let i = idx(*x);
                let was = self.m.nodes[i].endpoint_down;
                self.m.nodes[i].endpoint_down = true;
                !was
            }
            Ev::EndpointUp(x) => {
                let i = idx(*x);
                let was = self.m.nodes[i].endpoint_down;
                self.m.nodes[i].endpoint_down = false;
                was
            }
            Ev::CorruptGrastate(x) => self.m.corrupt_grastate(idx(*x)),
            Ev::CorruptGvwstate(x) => self.m.corrupt_gvwstate(idx(*x)),
            Ev::Prepared(x) => {
                let i = idx(*x);
                let ok = self.m.nodes[i].proc == Proc::Stopped;
                if ok {
                    self.m.nodes[i].prepared = 2;
                }
                ok
            }
            Ev::RecoverFails(x) => {
                let i = idx(*x);
                let ok = self.m.nodes[i].proc == Proc::Stopped;
                if ok {
                    self.m.nodes[i].recover_fails = true;
                }
                ok
            }
            Ev::RollbackInnodb(x, k) => {
                // Whoever restores a backup under grastate.dat checks the position it left
                // (`quorate recover position`): without that no tool could know, and the
                // model only asks of decide what its reports can tell.
                let ok = self.m.rollback_innodb(idx(*x), u64::from(*k));
                if ok {
                    self.m.run_recover(idx(*x));
                }
                ok
            }
            Ev::CrashToi(x) => self.m.crash_in_toi(idx(*x)),
            Ev::OperatorBootstrap(x) => {
                let i = idx(*x);
                // A hand bootstrap of a node that lacks an acknowledged write forks the
                // history: the new Primary's line can never take that write in again.
                let held = invariants::recoverable(&self.m, &self.accepted);
                let lacks = held
                    .iter()
                    .any(|&w| !self.m.nodes[i].data.is_some_and(|d| self.m.contains(d, w)));
                // Beside a live Primary it makes a second one: every write on either side from
                // now on is on a branch the other lacks (the split shows only while both run).
                let beside_primary = !self.m.primary_comps().is_empty();
                self.m.set_safe(i);
                let ok = self.m.start(i, StartMode::NewCluster).is_ok();
                if ok && (lacks || beside_primary) && !self.m.env_diverged {
                    self.m.env_diverged = true;
                    let _ = writeln!(
                        self.log,
                        "  (a hand bootstrap {}: the history forked)",
                        if lacks {
                            "of a node that lacks acknowledged writes"
                        } else {
                            "beside a running Primary component"
                        }
                    );
                }
                ok
            }
            Ev::RunRecover(x) => self.m.run_recover(idx(*x)).is_some(),
        };
        self.m.clock += 1;
        if did {
            self.stats.events += 1;
            let _ = writeln!(self.log, "event {ev:?}");
            self.flush_model_log();
            if !self.m.env_diverged && invariants::diverged(&self.m, &self.accepted) {
                // Two histories now hold acknowledged writes: Galera (pc.recovery at a
                // lagging position) or a human did it; no single Primary can keep both.
                self.m.env_diverged = true;
                let _ = writeln!(
                    self.log,
                    "  (the histories diverged: acknowledged writes on two branches)"
                );
            }
            let lost = held_before
                .iter()
                .filter(|w| !self.m.recoverable(**w))
                .count() as u64;
            if lost > 0 {
                self.stats.lost_by_environment += lost;
                let _ = writeln!(
                    self.log,
                    "  ({lost} acknowledged write(s) lost by Galera itself)"
                );
                // Not quorate's to keep any more.
                for w in held_before {
                    if !self.m.recoverable(w) {
                        self.accepted.insert(w);
                    }
                }
            }
        }
        Ok(())
    }

    /// What `recover::apart` does after every decision: each finding is kept on its node's
    /// host (the record survives everything Galera does; it counts while the node's position
    /// is the one it names).
    fn keep_findings(&mut self, d: &Decision) {
        for f in &d.apart {
            let Some(i) = node_index(&self.m, &f.node) else {
                continue;
            };
            let node = &mut self.m.nodes[i];
            if node
                .apart_record
                .as_ref()
                .is_some_and(|r| r.uuid == f.uuid && r.seqno == f.seqno)
            {
                continue;
            }
            node.apart_record = Some(quorate::recover::report::ApartRecord {
                uuid: f.uuid.clone(),
                seqno: f.seqno,
                found_at: self.m.clock,
                why: f.why.clone(),
            });
            self.found_apart.push((i, node.data));
            let _ = writeln!(
                self.log,
                "  (recorded: {} apart at {}:{})",
                f.node, f.uuid, f.seqno
            );
        }
    }

    /// A loss is never excused as made by the environment when quorate had recorded a node
    /// apart while it held the lost write and the node has not changed since: the record was
    /// there to keep exactly that write.
    fn recorded_holder_lost(&mut self, before: &Model, v: &Violation) -> bool {
        let Some(w) = v.lost else {
            return false;
        };
        let holder = self.found_apart.iter().find(|(i, data)| {
            before.nodes[*i].data == *data && data.is_some_and(|d| before.contains(d, w))
        });
        if let Some((i, _)) = holder {
            let _ = writeln!(
                self.log,
                "  (quorate had recorded {} apart while it held this write: not the environment's doing)",
                Model::name(*i)
            );
            return true;
        }
        false
    }

    fn next_fault(&mut self) -> Fault {
        if self.op.faults.is_empty() {
            return Fault::None;
        }
        let f = self.op.faults[self.fault_i % self.op.faults.len()];
        self.fault_i += 1;
        f
    }

    /// quorate: plan → apply → plan, until healthy, refused, or the bound.
    pub fn recover(&mut self) -> Result<(), Failure> {
        let mut assumptions = Assumptions::default();
        let _ = writeln!(self.log, "recover (operator: {:?})", self.op);
        let _ = writeln!(self.log, "  state:\n{}", self.m.describe());
        for _ in 0..MAX_PLANS {
            // The members of a live Primary apply their queues within milliseconds: by the
            // time anyone plans, they have (a lag matters only at the instant of a crash).
            self.m.apply_all();
            let view = observe::view(&self.m);
            let d = match invariants::decide_checked(&view, &assumptions) {
                Ok(d) => d,
                Err(v) => {
                    let _ = writeln!(
                        self.log,
                        "  view: {}",
                        view.nodes
                            .iter()
                            .map(|n| format!("{:?}", n.observed))
                            .collect::<Vec<_>>()
                            .join("\n        ")
                    );
                    return Err(self.fail(v));
                }
            };
            self.stats.decisions += 1;
            *self
                .stats
                .verdicts
                .entry(verdict_kind(&d.verdict).into())
                .or_default() += 1;
            let _ = writeln!(
                self.log,
                "  plan{}: {} — {}\n    reasons: {:?}\n    risks: {:?} wait_for: {:?}\n    steps: {}",
                if assumptions.assume_lost.is_empty() {
                    String::new()
                } else {
                    format!(" --assume-lost {:?}", assumptions.assume_lost)
                },
                serde_json::to_string(&d.verdict).expect("verdict"),
                d.situation,
                d.reasons,
                d.risks,
                d.wait_for,
                d.steps
                    .iter()
                    .map(|s| format!("{} {:?}", s.node, s.action))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            self.keep_findings(&d);
            // A stopped node left to "investigate" (a live non-Primary one merges by itself
            // when the network lets it).
            let investigate = d
                .steps
                .iter()
                .find(|s| {
                    s.action == Action::Investigate
                        && node_index(&self.m, &s.node)
                            .is_some_and(|i| self.m.nodes[i].proc == Proc::Stopped)
                })
                .filter(|_| d.verdict == Verdict::Wait);
            if (d.is_refusal() || investigate.is_some()) && invariants::unambiguous(&self.m, &view)
            {
                // A wait whose step is "investigate" leaves that node out for good: as much
                // a refusal as a refusal.
                let kind = match investigate {
                    Some(s) if !d.is_refusal() => {
                        format!("(wait) investigate: {}", normalize(&s.why))
                    }
                    _ => reason_kind(&d),
                };
                *self
                    .stats
                    .unambiguous_refusals
                    .entry(kind.clone())
                    .or_default() += 1;
                if !self.stats.refusal_examples.contains_key(&kind) {
                    self.flush_model_log();
                    let example = self.log.clone();
                    self.stats.refusal_examples.insert(kind, example);
                }
                let _ = writeln!(
                    self.log,
                    "  (a refusal although every node answered with a known position)"
                );
            }
            if let Some(v) = invariants::check_split_brain(&self.m, &view, &d).or_else(|| {
                invariants::check_plan(&self.m, &view, &d, &assumptions, &self.accepted)
                    .into_iter()
                    .next()
            }) {
                if self.unavoidable(&v) {
                    return Ok(());
                }
                return Err(self.fail(v));
            }
            match d.verdict {
                Verdict::Healthy => return Ok(()),
                Verdict::Refuse => {
                    // A truthful operator names with --assume-lost the nodes the plan waits
                    // for, only if they really are down.
                    let down: BTreeSet<String> = d
                        .wait_for
                        .iter()
                        .filter(|n| {
                            node_index(&self.m, n)
                                .is_some_and(|i| self.m.nodes[i].proc == Proc::Stopped)
                        })
                        .cloned()
                        .collect();
                    if self.op.assume_lost
                        && assumptions.assume_lost.is_empty()
                        && !d.wait_for.is_empty()
                        && down.len() == d.wait_for.len()
                    {
                        assumptions.assume_lost = down;
                        continue;
                    }
                    return Ok(());
                }
                _ => {}
            }
            let steps: Vec<_> = d
                .steps
                .iter()
                .filter(|s| !matches!(s.action, Action::WaitFor | Action::Investigate))
                .cloned()
                .collect();
            if steps.is_empty() {
                return Ok(());
            }
            for step in steps {
                // Assumed-lost nodes stay down: the operator promised it.
                let before = self.m.clone();
                let fault = self.next_fault();
                let note = apply_step(&mut self.m, &step, fault);
                self.stats.steps += 1;
                let _ = writeln!(
                    self.log,
                    "  step {} {:?}{}: {note}",
                    step.node,
                    step.action,
                    if fault == Fault::None {
                        String::new()
                    } else {
                        format!(" (fault {fault:?})")
                    }
                );
                self.flush_model_log();
                let mut accepted = std::mem::take(&mut self.accepted);
                let n_acc = accepted.len();
                let v = invariants::check_step(
                    &view,
                    &before,
                    &self.m,
                    step.action,
                    &d,
                    &assumptions,
                    &mut accepted,
                );
                self.stats.accepted_losses += (accepted.len() - n_acc) as u64;
                self.accepted = accepted;
                if let Some(v) = v.into_iter().next() {
                    if !self.recorded_holder_lost(&before, &v) && self.unavoidable(&v) {
                        return Ok(());
                    }
                    return Err(self.fail(v));
                }
                if self.op.first_step_only {
                    break;
                }
            }
        }
        Ok(())
    }

    pub fn finish(&mut self) -> Result<(), Failure> {
        self.recover()?;
        let view = observe::view(&self.m);
        if let Ok(d) = invariants::decide_checked(&view, &Assumptions::default()) {
            if d.verdict == Verdict::Healthy {
                self.stats.healthy_at_end += 1;
            }
        }
        self.stats.corruptions += self.m.corruptions;
        Ok(())
    }
}

/// Runs a whole history.
pub fn run(spec: &Spec) -> (Stats, Result<(), Failure>) {
    let mut r = Runner::new(spec.nodes, spec.legacy_files, spec.operator.clone());
    let _ = writeln!(
        r.log,
        "history: {} node(s){}",
        spec.nodes,
        if spec.legacy_files {
            ", files written by Galera < 3.19 (no safe_to_bootstrap line)"
        } else {
            ""
        }
    );
    for ev in &spec.events {
        if let Err(f) = r.event(ev) {
            return (r.stats, Err(f));
        }
    }
    let res = r.finish();
    if std::env::var("QUORATE_MODEL_TRACE").is_ok_and(|v| v == "1") {
        r.flush_model_log();
        eprintln!("{}  end:\n{}", r.log, r.m.describe());
    }
    (r.stats, res)
}

// ---------------------------------------------------------------------------------------
// Generation.

fn node() -> impl Strategy<Value = u8> {
    0u8..5
}

pub fn event() -> impl Strategy<Value = Ev> {
    prop_oneof![
        12 => node().prop_map(Ev::Write),
        3 => Just(Ev::Apply),
        4 => node().prop_map(Ev::Stop),
        5 => node().prop_map(Ev::Crash),
        2 => (1u8..32).prop_map(Ev::CrashMany),
        1 => node().prop_map(Ev::Freeze),
        1 => node().prop_map(Ev::Thaw),
        2 => proptest::collection::vec(0u8..3, 5).prop_map(Ev::Partition),
        2 => Just(Ev::Heal),
        4 => (node(), any::<bool>()).prop_map(|(n, s)| Ev::Start(n, s)),
        2 => node().prop_map(Ev::EndpointDown),
        2 => node().prop_map(Ev::EndpointUp),
        1 => node().prop_map(Ev::CorruptGrastate),
        1 => node().prop_map(Ev::CorruptGvwstate),
        1 => node().prop_map(Ev::Prepared),
        1 => node().prop_map(Ev::RecoverFails),
        1 => (node(), 1u8..4).prop_map(|(n, k)| Ev::RollbackInnodb(n, k)),
        2 => node().prop_map(Ev::RunRecover),
        1 => node().prop_map(Ev::CrashToi),
        1 => node().prop_map(Ev::OperatorBootstrap),
        4 => Just(Ev::Recover),
    ]
}

pub fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        10 => Just(Fault::None),
        1 => Just(Fault::Before),
        1 => Just(Fault::Midway),
    ]
}

pub fn spec() -> impl Strategy<Value = Spec> {
    (
        1usize..=5,
        proptest::bool::weighted(0.1),
        proptest::collection::vec(event(), 0..28),
        any::<bool>(),
        proptest::bool::weighted(0.3),
        proptest::collection::vec(fault(), 0..4),
    )
        .prop_map(
            |(nodes, legacy_files, events, first, assume, faults)| Spec {
                nodes,
                legacy_files,
                events,
                operator: Operator {
                    first_step_only: first,
                    assume_lost: assume,
                    faults,
                },
            },
        )
}
