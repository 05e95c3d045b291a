//! A node in planned maintenance, as `check galera` and `check cluster` report it. Pure.
//!
//! While a node is in maintenance ([`crate::maintenance::judge`]) what it says about itself
//! does not page: its findings take the maintenance state (`--maintenance`, else
//! `quorate.check.maintenance_state`, else OK) and the text says why and until when. What
//! it would have been is kept in the long output. Once expired, a node that `maintenance on`
//! desynced and that still runs with `wsrep_desync=ON` is a WARNING until `maintenance off`.

use super::output::CheckResult;
use super::{Finding, Status};
use crate::maintenance::Maintenance;

/// `result` of `check galera` for `node`, seen through its maintenance state. `desync_now` is
/// the node's `wsrep_desync` when it answered.
pub fn overlay(
    mut result: CheckResult,
    node: &str,
    state: &Maintenance,
    now: i64,
    maintenance_state: Status,
    desync_now: Option<bool>,
) -> CheckResult {
    let text = format!("{node}: {}", state.describe(now));
    match state {
        Maintenance::Off => {}
        Maintenance::Active { .. } => {
            let was = format!(
                "[{}] without maintenance: {}",
                result.status, result.summary
            );
            result.status = maintenance_state;
            result.summary = text.clone();
            result
                .details
                .insert(0, format!("[{maintenance_state}] {text}"));
            result.details.insert(1, was);
        }
        Maintenance::Expired(_) => match owed_desync(node, state, now, desync_now) {
            Some(f) => {
                result.status = result.status.worst(f.status);
                result.summary = format!("{}; {}", f.text, result.summary);
                result
                    .details
                    .insert(0, format!("[{}] {}", f.status, f.text));
            }
            None => result.details.push(format!("[OK] {text}")),
        },
    }
    result.values.insert(
        "maintenance".into(),
        serde_json::Value::from(u8::from(state.is_active())),
    );
    result
}

/// The finding for an expired maintenance whose desync is still owed: WARNING while the node
/// is (or may be: it did not answer) still desynced; none once `wsrep_desync` is OFF anyway.
pub fn owed_desync(
    node: &str,
    state: &Maintenance,
    now: i64,
    desync_now: Option<bool>,
) -> Option<Finding> {
    (state.expired_desynced() && desync_now != Some(false))
        .then(|| Finding::new(Status::Warning, format!("{node}: {}", state.describe(now))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maintenance::Record;

    fn record(desync: bool) -> Record {
        Record {
            reason: "kernel update".into(),
            since: 0,
            expires: 100,
            desync,
            by: None,
        }
    }

    fn critical() -> CheckResult {
        CheckResult::new("GALERA", Status::Critical, "n2: cannot connect")
    }

    #[test]
    fn maintenance_takes_the_configured_state_and_keeps_what_it_hides() {
        let active = Maintenance::Active {
            record: Some(record(false)),
            why: "kernel update".into(),
        };
        let r = overlay(critical(), "n2", &active, 50, Status::Ok, None);
        assert_eq!(r.status, Status::Ok);
        assert!(
            r.summary.starts_with("n2: maintenance: kernel update"),
            "{}",
            r.summary
        );
        assert!(
            r.details[1].contains("[CRITICAL] without maintenance"),
            "{:?}",
            r.details
        );
        assert_eq!(r.values["maintenance"], 1);
        let w = overlay(critical(), "n2", &active, 50, Status::Warning, None);
        assert_eq!(w.status, Status::Warning);
    }

    #[test]
    fn an_expired_desync_warns_until_it_is_undone() {
        let ok = CheckResult::new("GALERA", Status::Ok, "n2: Synced");
        let owed = Maintenance::Expired(record(true));
        let r = overlay(ok.clone(), "n2", &owed, 200, Status::Ok, Some(true));
        assert_eq!(r.status, Status::Warning);
        assert!(r.summary.contains("maintenance off"), "{}", r.summary);
        assert_eq!(
            overlay(ok.clone(), "n2", &owed, 200, Status::Ok, Some(false)).status,
            Status::Ok
        );
        let plain = Maintenance::Expired(record(false));
        let r = overlay(critical(), "n2", &plain, 200, Status::Ok, Some(true));
        assert_eq!(
            r.status,
            Status::Critical,
            "an expired maintenance hides nothing"
        );
        assert_eq!(
            overlay(ok, "n2", &Maintenance::Off, 0, Status::Ok, None).values["maintenance"],
            0
        );
    }
}
