//! A decision as text for an operator at 3 a.m.: the situation, the decision, the evidence
//! per node, why, what it risks, and the exact commands to run, in order.

use std::fmt::Write as _;
use std::path::Path;

use super::act::verdict_line;
use super::decide::{Action, Decision};

/// What the rendered commands need to be copy-pasted as they are.
#[derive(Debug, Clone)]
pub struct CommandContext<'a> {
    pub config: &'a Path,
    pub assume_lost: Vec<String>,
}

/// The command that performs `action` for `node`.
pub fn command(
    action: Action,
    node: &str,
    digest: &str,
    ctx: &CommandContext<'_>,
) -> Option<String> {
    let config = ctx.config.display();
    let lost = if ctx.assume_lost.is_empty() {
        String::new()
    } else {
        format!(" --assume-lost {}", ctx.assume_lost.join(" "))
    };
    Some(match action {
        Action::RecoverPosition => format!("quorate recover position --config {config} --execute {node}"),
        Action::Bootstrap => format!(
            "quorate recover bootstrap --config {config} --node {node}{lost} --plan {digest} --execute   # on {node}"
        ),
        Action::Promote => format!(
            "quorate recover promote --config {config} --node {node}{lost} --plan {digest} --execute   # on {node}"
        ),
        Action::Rejoin => format!("quorate recover rejoin --config {config} --node {node} --execute   # on {node}"),
        Action::RejoinMoveAside => format!(
            "quorate recover rejoin --config {config} --node {node} --move-aside --execute   # on {node}"
        ),
        Action::Investigate | Action::WaitFor => return None,
    })
}

/// The whole decision as text.
pub fn text(d: &Decision, ctx: &CommandContext<'_>) -> String {
    let mut t = String::new();
    let case = d
        .case
        .map_or_else(String::new, |c| format!(" (runbook case {c})"));
    let _ = writeln!(t, "Situation: {}{case}", d.situation);
    let _ = writeln!(t, "Decision:  {}", verdict_line(d));
    let _ = writeln!(t, "\nEvidence:");
    let width = d.evidence.iter().map(|e| e.node.len()).max().unwrap_or(4);
    for e in &d.evidence {
        let _ = writeln!(t, "  {:<width$}  {}", e.node, e.state);
        let mut facts = Vec::new();
        if let Some(u) = &e.uuid {
            facts.push(format!("uuid {u}"));
        }
        if let Some(s) = e.seqno {
            facts.push(format!(
                "seqno {s}{}",
                e.seqno_source
                    .as_deref()
                    .map_or_else(String::new, |src| format!(" ({src})"))
            ));
        }
        if let Some(safe) = e.safe_to_bootstrap {
            facts.push(format!("safe_to_bootstrap {}", u8::from(safe)));
        }
        if !facts.is_empty() {
            let _ = writeln!(t, "  {:<width$}  {}", "", facts.join(", "));
        }
        if let Some(m) = &e.maintenance {
            let _ = writeln!(t, "  {:<width$}  {m}", "");
        }
    }
    if !d.reasons.is_empty() {
        let _ = writeln!(t, "\nWhy:");
        for r in &d.reasons {
            let _ = writeln!(t, "  - {r}");
        }
    }
    if !d.risks.is_empty() {
        let _ = writeln!(t, "\nRISKS (from your --assume-lost and the evidence):");
        for r in &d.risks {
            let _ = writeln!(t, "  ! {r}");
        }
    }
    if !d.wait_for.is_empty() {
        let _ = writeln!(t, "\nWaiting for: {}", d.wait_for.join(", "));
    }
    if !d.steps.is_empty() {
        let _ = writeln!(t, "\nSteps:");
        for (i, s) in d.steps.iter().enumerate() {
            let label = match s.action {
                Action::Investigate => "investigate",
                Action::WaitFor => "wait for",
                _ => "",
            };
            match command(s.action, &s.node, &d.digest, ctx) {
                Some(cmd) => {
                    let _ = writeln!(t, "  {}. {cmd}", i + 1);
                    let _ = writeln!(t, "     {}: {}", s.node, s.why);
                }
                None => {
                    let _ = writeln!(t, "  {}. {label} {}: {}", i + 1, s.node, s.why);
                }
            }
        }
    }
    let _ = writeln!(
        t,
        "\nPlan digest: {} (actions refuse if the situation no longer matches it)",
        d.digest
    );
    t
}
