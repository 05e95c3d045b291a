//! The check state file: what one plugin run leaves for the next (the flow-control sample).
//!
//! One small JSON file per checked node, `<dir>/galera-<node>.json`, written atomically
//! (temporary file + rename) so two overlapping runs never read half a file. The directory is,
//! in order: `--state-dir`, `$QUORATE_STATE_DIR`, `quorate.check.state_dir`,
//! `$XDG_STATE_HOME/quorate`, `/var/lib/quorate`. It is created (mode 0700) when missing.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::flow::FlowSample;

/// The last resort when nothing else names a state directory.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/quorate";

/// A state file that could not be read or written; names the file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("state file {path}: {message}")]
pub struct StateError {
    pub path: PathBuf,
    pub message: String,
}

/// Picks the state directory (see the module documentation for the order).
pub fn state_dir(
    explicit: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
    configured: Option<&Path>,
) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    if let Some(dir) = env("QUORATE_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = configured {
        return dir.to_path_buf();
    }
    if let Some(xdg) = env("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Path::new(&xdg).join("quorate");
    }
    PathBuf::from(DEFAULT_STATE_DIR)
}

/// The file for `node`'s flow-control sample in `dir`. The node name is reduced to a safe file
/// name (anything but letters, digits, `.`, `-`, `_` becomes `_`).
pub fn flow_state_path(dir: &Path, node: &str) -> PathBuf {
    let safe: String = node
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("galera-{safe}.json"))
}

/// Reads the previous sample. A missing file is `Ok(None)` (first run); an unreadable or
/// corrupt one is an error, so the run can say why it has no delta.
pub fn load(path: &Path) -> Result<Option<FlowSample>, StateError> {
    let err = |message: String| StateError {
        path: path.to_path_buf(),
        message,
    };
    let bytes = match crate::bounded::read(path, crate::bounded::SMALL_FILE_CAP) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(err(e.reason())),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        err(format!(
            "not a quorate state file ({e}); it is replaced on this run"
        ))
    })
}

/// Writes `sample` atomically, creating the directory if needed.
pub fn save(path: &Path, sample: &FlowSample) -> Result<(), StateError> {
    let err = |message: String| StateError {
        path: path.to_path_buf(),
        message,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
    }
    let body = serde_json::to_vec(sample).map_err(|e| err(e.to_string()))?;
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&body)?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_precedence() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let none: &[(&str, &str)] = &[];
        assert_eq!(
            state_dir(None, env(none), None),
            PathBuf::from("/var/lib/quorate")
        );
        assert_eq!(
            state_dir(None, env(&[("XDG_STATE_HOME", "/h/.local/state")]), None),
            PathBuf::from("/h/.local/state/quorate")
        );
        assert_eq!(
            state_dir(
                None,
                env(&[("XDG_STATE_HOME", "/x")]),
                Some(Path::new("/cfg"))
            ),
            PathBuf::from("/cfg")
        );
        assert_eq!(
            state_dir(
                None,
                env(&[("QUORATE_STATE_DIR", "/e")]),
                Some(Path::new("/cfg"))
            ),
            PathBuf::from("/e")
        );
        assert_eq!(
            state_dir(
                Some(Path::new("/cli")),
                env(&[("QUORATE_STATE_DIR", "/e")]),
                None
            ),
            PathBuf::from("/cli")
        );
    }

    #[test]
    fn round_trip_missing_and_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = flow_state_path(&dir.path().join("sub"), "db 1/x");
        assert!(path.ends_with("sub/galera-db_1_x.json"));
        assert_eq!(load(&path).unwrap(), None);
        let sample = FlowSample {
            paused_ns: 42,
            at_unix_ms: 7,
            gcomm_uuid: Some("u".into()),
        };
        save(&path, &sample).unwrap();
        assert_eq!(load(&path).unwrap(), Some(sample.clone()));
        std::fs::write(&path, "garbage").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("galera-db_1_x.json"), "{e}");
        // Saving over a corrupt file repairs it.
        save(&path, &sample).unwrap();
        assert_eq!(load(&path).unwrap(), Some(sample));
    }

    #[test]
    fn unwritable_directory_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let path = flow_state_path(&blocker.join("sub"), "n");
        let e = save(
            &path,
            &FlowSample {
                paused_ns: 0,
                at_unix_ms: 0,
                gcomm_uuid: None,
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("galera-n.json"), "{e}");
    }
}
