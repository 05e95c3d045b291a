//! Keeping what a plan found apart ([`ApartRecord`]): `<state_dir>/apart/<node>.json` on the
//! node's own host, one record per node, listed in the node's report (`/galera/state`).
//!
//! Why: a stopped node ahead of the running Primary, or at its seqno from another branch, is
//! seen as such only until clients commit past its seqno; after that its position looks
//! merely behind and a plan would rejoin it over the transactions only it holds. Every
//! `recover` command that decides keeps the decision's findings ([`Decision::apart`]), on the
//! node's host so that the node's own `rejoin` always reads it (locally, never through a peer
//! that may not answer). A record counts only while the node's position is the one it names
//! (see the decision); it is retired, never deleted, by `rejoin --move-aside --accept-loss`
//! (renamed `<node>.<found_at>.json`, which nothing reads) or replaced by a newer finding (the
//! old one retired the same way).

use std::path::PathBuf;

use super::decide::{ApartFinding, Decision};
use super::report::ApartRecord;
use super::{peer, sys, unix_now, RecoverError};
use crate::config::Settings;

/// The largest body `POST /galera/apart` reads, and the largest record file read.
pub const MAX_RECORD: usize = 16 * 1024;

/// `<state_dir>/apart`.
fn dir(settings: &Settings) -> PathBuf {
    settings.recovery.state_dir.join("apart")
}

/// `<state_dir>/apart/<node>.json`.
pub fn path(settings: &Settings, node: &str) -> PathBuf {
    dir(settings).join(format!("{node}.json"))
}

/// The node's current record, if it has one. A record that cannot be read is reported in the
/// log and read as none: quorate writes it atomically, so only a hand edit breaks it.
pub fn load(settings: &Settings, node: &str) -> Option<ApartRecord> {
    sys::read_json(
        &path(settings, node),
        MAX_RECORD as u64,
        "record of a node found apart",
    )
}

/// Keeps `finding` as the node's record; `Ok(false)` when the same position
/// is already recorded. A record of another position is retired first.
pub fn keep(settings: &Settings, node: &str, finding: &ApartRecord) -> Result<bool, RecoverError> {
    if let Some(old) = load(settings, node) {
        if old.uuid == finding.uuid && old.seqno == finding.seqno {
            return Ok(false);
        }
        retire_as(settings, node, old.found_at)?;
    }
    let text = serde_json::to_vec_pretty(finding).unwrap_or_default();
    ensure_dir(settings)?;
    sys::write_durably(&dir(settings), &path(settings, node), &text)?;
    Ok(true)
}

/// Creates `<state_dir>/apart` owned like the state directory: `recover` runs as root, and
/// `quorate serve` (its own user) must still be able to add and retire records in it when a
/// peer posts one.
fn ensure_dir(settings: &Settings) -> Result<(), RecoverError> {
    use std::os::unix::fs::MetadataExt;
    let apart = dir(settings);
    if apart.is_dir() {
        return Ok(());
    }
    let state_dir = &settings.recovery.state_dir;
    std::fs::create_dir_all(&apart).map_err(|e| RecoverError::io("cannot create", &apart, e))?;
    if rustix::process::geteuid().is_root() {
        if let Ok(m) = std::fs::metadata(state_dir) {
            std::os::unix::fs::chown(&apart, Some(m.uid()), Some(m.gid())).map_err(|e| {
                RecoverError::io("cannot give to the state directory's owner", &apart, e)
            })?;
        }
    }
    sys::sync_dir(state_dir)
}

/// Renames the node's record `<node>.<found_at>.json` (kept, no longer read), with the
/// directory synced; returns where it went, `None` when there was none.
pub fn retire(settings: &Settings, node: &str) -> Result<Option<PathBuf>, RecoverError> {
    if !path(settings, node).exists() {
        return Ok(None);
    }
    let found_at = load(settings, node).map_or_else(unix_now, |r| r.found_at);
    retire_as(settings, node, found_at).map(Some)
}

/// [`retire`] of a record found at `found_at`.
fn retire_as(settings: &Settings, node: &str, found_at: u64) -> Result<PathBuf, RecoverError> {
    let from = path(settings, node);
    let mut to = dir(settings).join(format!("{node}.{found_at}.json"));
    let mut i = 1;
    while to.exists() {
        to = dir(settings).join(format!("{node}.{found_at}.{i}.json"));
        i += 1;
    }
    std::fs::rename(&from, &to).map_err(|e| RecoverError::io("cannot retire", &from, e))?;
    sys::sync_dir(&dir(settings))?;
    Ok(to)
}

/// The record a finding makes now.
fn record_of(finding: &ApartFinding) -> ApartRecord {
    ApartRecord {
        uuid: finding.uuid.clone(),
        seqno: finding.seqno,
        found_at: unix_now(),
        why: finding.why.clone(),
    }
}

/// Keeps every finding of `d` on its node's host: locally for `local`, through the peer's
/// `POST /galera/apart` for the others. Returns one line per record written and per failure,
/// for the operator, and logs each (a failure does not change the plan, which says the same).
pub async fn keep_findings(settings: &Settings, local: Option<&str>, d: &Decision) -> Vec<String> {
    let mut out = Vec::new();
    for f in &d.apart {
        let record = record_of(f);
        let kept = if Some(f.node.as_str()) == local {
            // Off the async thread: `quorate serve` runs decisions too, on one thread, and a
            // synced write can take a while on a busy disk.
            let (s, node) = (settings.clone(), f.node.clone());
            tokio::task::spawn_blocking(move || keep(&s, &node, &record))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
        } else {
            keep_remote(settings, &f.node, &record).await
        };
        match kept {
            Ok(true) => {
                let line = format!(
                    "recorded: {} is apart from the Primary's history at {}:{} (kept on its host as {})",
                    f.node,
                    f.uuid,
                    f.seqno,
                    path(settings, &f.node).display()
                );
                tracing::info!("{line}");
                out.push(line);
            }
            Ok(false) => {}
            Err(e) => {
                let line = format!(
                    "warning: could not record that {} is apart from the Primary's history: {e}; once clients commit past its seqno {} a later plan can no longer see it",
                    f.node, f.seqno
                );
                tracing::warn!("{line}");
                out.push(line);
            }
        }
    }
    out
}

async fn keep_remote(
    settings: &Settings,
    node: &str,
    record: &ApartRecord,
) -> Result<bool, String> {
    let json = serde_json::to_string(record).map_err(|e| e.to_string())?;
    let asked = peer::ask(
        &settings.recovery,
        node,
        hyper::Method::POST,
        "/galera/apart",
        Some(json),
        settings.recovery.peer_timeout,
    )
    .await?;
    match asked.answer.status {
        hyper::StatusCode::CREATED => Ok(true),
        hyper::StatusCode::OK => Ok(false),
        _ => Err(asked.unexpected()),
    }
}

/// A record received by `POST /galera/apart`, checked: a cluster UUID and a seqno that can
/// be a position, and a reason of bounded length.
pub fn parse_posted(body: &[u8]) -> Result<ApartRecord, String> {
    let r: ApartRecord =
        serde_json::from_slice(body).map_err(|e| format!("not an apart record: {e}"))?;
    let uuid_ok = r.uuid.len() == 36 && r.uuid.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if !uuid_ok {
        return Err(format!("uuid {:?} is not a cluster UUID", r.uuid));
    }
    if r.seqno < 0 {
        return Err(format!("seqno {} is not a position", r.seqno));
    }
    if r.why.len() > 4096 {
        return Err("why is longer than 4096 bytes".into());
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &std::path::Path) -> Settings {
        let yaml = format!(
            "cluster: {{name: c}}\nnodes:\n  controllers:\n    - {{hostname: node1, ip_address: 10.0.0.1}}\nquorate:\n  recovery:\n    state_dir: {}\n",
            dir.display()
        );
        crate::config::parse(
            std::path::Path::new("/etc/quorate/q.yaml"),
            &yaml,
            &Default::default(),
            &mut Vec::new(),
        )
        .expect("settings")
    }

    fn record(seqno: i64, found_at: u64) -> ApartRecord {
        ApartRecord {
            uuid: "6a3a757c-e627-11f1-8417-e7ac2a1d04b7".into(),
            seqno,
            found_at,
            why: "ahead".into(),
        }
    }

    #[test]
    fn a_record_is_kept_once_replaced_by_a_newer_one_and_retired_never_deleted() {
        let tmp = tempfile::tempdir().expect("tmp");
        let s = settings(tmp.path());
        assert_eq!(load(&s, "node1"), None);
        assert_eq!(keep(&s, "node1", &record(7, 100)).ok(), Some(true));
        assert_eq!(load(&s, "node1"), Some(record(7, 100)));
        // The same position again: nothing new (the first finding's time stays).
        assert_eq!(keep(&s, "node1", &record(7, 200)).ok(), Some(false));
        assert_eq!(load(&s, "node1").map(|r| r.found_at), Some(100));
        // Another position: the old record is retired beside it.
        assert_eq!(keep(&s, "node1", &record(9, 300)).ok(), Some(true));
        assert_eq!(load(&s, "node1"), Some(record(9, 300)));
        assert!(tmp.path().join("apart/node1.100.json").exists());
        let retired = retire(&s, "node1").expect("retire").expect("a record");
        assert_eq!(retired, tmp.path().join("apart/node1.300.json"));
        assert_eq!(load(&s, "node1"), None);
        assert_eq!(retire(&s, "node1").expect("retire"), None);
        let kept = std::fs::read_dir(tmp.path().join("apart"))
            .expect("dir")
            .count();
        assert_eq!(kept, 2, "both old records are kept");
    }

    #[test]
    fn an_unreadable_record_reads_as_none_and_posted_records_are_checked() {
        let tmp = tempfile::tempdir().expect("tmp");
        let s = settings(tmp.path());
        std::fs::create_dir_all(tmp.path().join("apart")).expect("dir");
        std::fs::write(path(&s, "node1"), b"{not json").expect("write");
        assert_eq!(load(&s, "node1"), None);
        let ok = serde_json::to_vec(&record(5, 1)).expect("json");
        assert_eq!(parse_posted(&ok), Ok(record(5, 1)));
        let bad_uuid = br#"{"uuid":"x","seqno":5,"found_at":1,"why":""}"#;
        assert!(parse_posted(bad_uuid)
            .unwrap_err()
            .contains("not a cluster UUID"));
        let bad_seqno =
            br#"{"uuid":"6a3a757c-e627-11f1-8417-e7ac2a1d04b7","seqno":-1,"found_at":1,"why":""}"#;
        assert!(parse_posted(bad_seqno)
            .unwrap_err()
            .contains("not a position"));
        assert!(parse_posted(b"[]").is_err());
    }
}
