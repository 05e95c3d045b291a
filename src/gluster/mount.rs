//! The client mount probe's words (pure): why a probe failed ([`MountFailure`], a short
//! reason class for metrics and a detail for the log), the one-line report the probe child
//! prints and its parsing, and which paths `/proc/self/mountinfo` lists as mount points.
//!
//! The probe itself runs in a child process ([`mount_probe`](super::mount_probe)): a hung FUSE
//! mount leaves whatever touches it in uninterruptible sleep, so nothing here or in the server
//! ever touches a mount.

use std::fmt;

/// Why a mount probe failed: the class is what `gluster_mount_probe_failure_info{reason}`
/// exports (no paths, no free text); `detail` goes to the log and the check's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountFailure {
    pub reason: FailureReason,
    pub detail: String,
}

impl fmt::Display for MountFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason.as_str(), self.detail)
    }
}

impl std::error::Error for MountFailure {}

/// The reason classes, in the order a probe meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureReason {
    /// The probe child could not be started (or its report was unreadable).
    ProbeFailed,
    /// A probe killed at its timeout is still alive (uninterruptible sleep in the mount): no
    /// new probe is started for this mount while it lives.
    Stuck,
    /// The probe did not finish within its timeout and was killed.
    Timeout,
    /// The path is not a mount point.
    NotMounted,
    /// stat(2) of the mount failed (e.g. "Transport endpoint is not connected").
    StatFailed,
    /// Creating, writing or syncing the probe file failed.
    WriteFailed,
    /// Reading the probe file back failed.
    ReadFailed,
    /// The probe file read back differs from what was written.
    ReadMismatch,
    /// The probe file could not be removed: it is left behind (the detail names it).
    RemoveFailed,
}

impl FailureReason {
    pub const ALL: [FailureReason; 9] = [
        FailureReason::ProbeFailed,
        FailureReason::Stuck,
        FailureReason::Timeout,
        FailureReason::NotMounted,
        FailureReason::StatFailed,
        FailureReason::WriteFailed,
        FailureReason::ReadFailed,
        FailureReason::ReadMismatch,
        FailureReason::RemoveFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::ProbeFailed => "probe_failed",
            FailureReason::Stuck => "stuck",
            FailureReason::Timeout => "timeout",
            FailureReason::NotMounted => "not_mounted",
            FailureReason::StatFailed => "stat_failed",
            FailureReason::WriteFailed => "write_failed",
            FailureReason::ReadFailed => "read_failed",
            FailureReason::ReadMismatch => "read_mismatch",
            FailureReason::RemoveFailed => "remove_failed",
        }
    }

    pub fn parse(word: &str) -> Option<FailureReason> {
        FailureReason::ALL.into_iter().find(|r| r.as_str() == word)
    }

    /// A probe child that failed this way got past stat: it tried to remove the files earlier
    /// probes left, and (unless that failed) to create its own, which a failed step removes
    /// but that removal can fail too.
    pub fn after_stale_removal(self) -> bool {
        matches!(
            self,
            FailureReason::WriteFailed
                | FailureReason::ReadFailed
                | FailureReason::ReadMismatch
                | FailureReason::RemoveFailed
        )
    }

    pub fn failure(self, detail: impl Into<String>) -> MountFailure {
        MountFailure {
            reason: self,
            detail: detail.into(),
        }
    }
}

/// The word the probe child prints first when every step succeeded.
const OK: &str = "ok";

/// The probe child's report on stdout: `ok`, or the reason class, a space and the detail (one
/// line: newlines in the detail are replaced).
pub fn format_report(outcome: &Result<(), MountFailure>) -> String {
    match outcome {
        Ok(()) => format!("{OK}\n"),
        Err(f) => format!("{} {}\n", f.reason.as_str(), f.detail.replace('\n', " ")),
    }
}

/// Parses [`format_report`]'s line; anything else (a crash, a panic's output) is
/// [`FailureReason::ProbeFailed`] quoting what was printed.
pub fn parse_report(stdout: &str) -> Result<(), MountFailure> {
    let line = stdout.lines().next().unwrap_or("").trim_end();
    if line == OK {
        return Ok(());
    }
    let (word, detail) = line.split_once(' ').unwrap_or((line, ""));
    match FailureReason::parse(word) {
        Some(reason) => Err(reason.failure(detail)),
        None => Err(FailureReason::ProbeFailed.failure(format!(
            "the probe printed no report: {:?}",
            stdout.chars().take(200).collect::<String>()
        ))),
    }
}

/// The command name (`comm`, at most 15 bytes) a probe child of `mount` gives itself, so any
/// quorate process (a restarted collector, `quorate check gluster` run by cron or an agent) can
/// find a probe of that mount still alive in `/proc/PID/stat` without reading its command line
/// (which would wait on the memory of a process blocked in the mount).
pub fn probe_comm(mount: &str) -> String {
    // FNV-1a: stable across builds and architectures, unlike std's hasher.
    let hash = mount.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("qprobe-{hash:08x}")
}

/// The command name in a `/proc/PID/stat` line (between the first `(` and the last `)`).
pub fn stat_comm(stat: &str) -> Option<&str> {
    let start = stat.find('(')? + 1;
    let end = stat.rfind(')')?;
    stat.get(start..end)
}

/// Whether `path` is a mount point according to `mountinfo` (the text of
/// `/proc/self/mountinfo`), and its file system type if so.
pub fn mount_type(mountinfo: &str, path: &str) -> Option<String> {
    mountinfo.lines().find_map(|line| {
        // Fields: id parent major:minor root mount-point options [optional...] - fstype ...
        let mut fields = line.split(' ');
        let mount_point = fields.nth(4)?;
        if unescape_mountinfo(mount_point) != path {
            return None;
        }
        let rest = line.split(" - ").nth(1)?;
        Some(rest.split(' ').next().unwrap_or("").to_string())
    })
}

/// Undoes mountinfo's octal escapes of space, tab, newline and backslash.
pub fn unescape_mountinfo(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip_and_garbage_is_a_probe_failure() {
        assert_eq!(parse_report(&format_report(&Ok(()))), Ok(()));
        for reason in FailureReason::ALL {
            let failure = reason.failure("stat /mnt/g: Transport endpoint\nis not connected");
            let parsed = parse_report(&format_report(&Err(failure))).unwrap_err();
            assert_eq!(parsed.reason, reason);
            assert_eq!(
                parsed.detail,
                "stat /mnt/g: Transport endpoint is not connected"
            );
        }
        let garbage = parse_report("thread 'main' panicked at ...\n").unwrap_err();
        assert_eq!(garbage.reason, FailureReason::ProbeFailed);
        assert!(garbage.detail.contains("panicked"), "{garbage}");
        assert_eq!(
            parse_report("").unwrap_err().reason,
            FailureReason::ProbeFailed
        );
    }

    #[test]
    fn reason_words_are_short_label_values() {
        for reason in FailureReason::ALL {
            let w = reason.as_str();
            assert!(w.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{w}");
            assert_eq!(FailureReason::parse(w), Some(reason));
        }
    }

    #[test]
    fn probe_names_fit_comm_and_are_found_in_stat() {
        let a = probe_comm("/mnt/gluster");
        assert_eq!(a.len(), 15, "{a}");
        assert_eq!(a, probe_comm("/mnt/gluster"), "stable");
        assert_ne!(a, probe_comm("/mnt/gluster2"));
        let stat = format!("4242 ({a}) D 1 4242 4242 0 -1 4194560");
        assert_eq!(stat_comm(&stat), Some(a.as_str()));
        assert_eq!(stat_comm("7 (a (b) c) S 1"), Some("a (b) c"));
        assert_eq!(stat_comm("garbage"), None);
    }

    #[test]
    fn mount_points_from_mountinfo() {
        let info = "22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n\
                    99 22 0:50 / /tmp/sb/gl/a\\040b rw,relatime shared:40 - fuse.glusterfs 10.254.0.1:gv rw\n";
        assert_eq!(mount_type(info, "/proc").as_deref(), Some("proc"));
        assert_eq!(
            mount_type(info, "/tmp/sb/gl/a b").as_deref(),
            Some("fuse.glusterfs")
        );
        assert_eq!(mount_type(info, "/tmp/sb/gl"), None);
        assert_eq!(unescape_mountinfo("/a\\040b\\134"), "/a b\\");
    }
}
