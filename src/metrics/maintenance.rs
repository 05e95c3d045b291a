//! The local node's maintenance state as metrics: `quorate_maintenance{node}` and its expiry,
//! from the one rule in [`crate::maintenance::judge`]. Exported on `/metrics` of the node's own
//! `quorate serve` only (not on `/probe`), so each node's state has one source.

use super::Family;
use crate::maintenance::Maintenance;

/// The families for `node` in `state`.
pub fn families(node: &str, state: &Maintenance) -> Vec<Family> {
    let label = || vec![("node".into(), node.to_string())];
    let mut families = vec![Family::new(
        "quorate_maintenance",
        "1 while the node is in planned maintenance (quorate maintenance on, until it expires or quorate maintenance off); the shipped alerts are silent for it.",
    )
    .with(label(), f64::from(u8::from(state.is_active())))];
    if let Some(record) = state.record() {
        families.push(
            Family::new(
                "quorate_maintenance_expiry_timestamp_seconds",
                "Unix time the node's maintenance ends by itself (also after it has, until quorate maintenance off).",
            )
            .with(label(), record.expires as f64),
        );
        families.push(
            Family::new(
                "quorate_maintenance_desync",
                "1 if quorate maintenance on set wsrep_desync=ON on the node and quorate maintenance off has not set it back.",
            )
            .with(label(), f64::from(u8::from(record.desync))),
        );
    }
    families
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maintenance::Record;

    #[test]
    fn off_active_and_expired() {
        let set = |state: &Maintenance| {
            let mut s = super::super::MetricSet::default();
            s.extend(families("n2", state));
            s
        };
        let off = set(&Maintenance::Off);
        assert_eq!(
            off.value("quorate_maintenance", &[("node", "n2")]),
            Some(0.0)
        );
        assert_eq!(
            off.value(
                "quorate_maintenance_expiry_timestamp_seconds",
                &[("node", "n2")]
            ),
            None
        );
        let record = Record {
            reason: "r".into(),
            since: 10,
            expires: 20,
            desync: true,
            by: None,
        };
        let active = set(&Maintenance::Active {
            record: Some(record.clone()),
            why: "r".into(),
        });
        assert_eq!(
            active.value("quorate_maintenance", &[("node", "n2")]),
            Some(1.0)
        );
        assert_eq!(
            active.value(
                "quorate_maintenance_expiry_timestamp_seconds",
                &[("node", "n2")]
            ),
            Some(20.0)
        );
        let expired = set(&Maintenance::Expired(record));
        assert_eq!(
            expired.value("quorate_maintenance", &[("node", "n2")]),
            Some(0.0)
        );
        assert_eq!(
            expired.value("quorate_maintenance_desync", &[("node", "n2")]),
            Some(1.0)
        );
    }
}
