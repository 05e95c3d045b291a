//! `quorate check galera|cluster|gluster|backup`: the monitoring-plugin front end.
//!
//! Everything here is I/O around the pure verdicts of `quorate::check`: resolving which node
//! to read and with which credentials, the internal timeout, the flow-control state file,
//! printing. It never fails with a Rust error: every problem becomes plugin output with a
//! state (UNKNOWN for bad arguments, configuration or credentials) and the exit code 0-3.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use quorate::backup::BackupReading;
use quorate::check::backup::{self as backup_check, BackupPolicy};
use quorate::check::cluster::{self, ClusterPolicy, NodeOutcome};
use quorate::check::flow::{self, FlowObservation, FlowSample};
use quorate::check::galera::{self, GaleraPolicy};
use quorate::check::gluster::{self as gluster_check, GlusterPolicy};
use quorate::check::{state, CheckResult, PerfDatum, Status, Thresholds, TimeoutSpec, Uom};
use quorate::config::{self, HostIdentity, MysqlAuth, MysqlEndpoint, Secret, Settings};
use quorate::galera::client::NodeClient;

use crate::cli::{
    CheckArgs, CheckBackupArgs, CheckClusterArgs, CheckCommonArgs, CheckFormat, CheckGaleraArgs,
    CheckGlusterArgs, CheckTarget, MysqlCredentialArgs, SizeArgs,
};

/// Environment variable holding the monitoring password (for Icinga 2's `env`, systemd
/// credentials and the like): never a command-line option.
pub const PASSWORD_ENV: &str = "QUORATE_MYSQL_PASSWORD";

/// Set once some output has been printed: the watchdog and the normal path never both print.
static PRINTED: Mutex<bool> = Mutex::new(false);

/// Whether the command line is a `quorate check …` invocation (global options may come first),
/// so argument errors, --help and --version follow the plugin rules (exit 3).
pub fn is_plugin_invocation(args: impl Iterator<Item = OsString>) -> bool {
    let mut args = args.skip(1);
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy();
        if arg == "--log-level" {
            args.next();
            continue;
        }
        if arg.starts_with('-') {
            continue;
        }
        return arg == "check";
    }
    false
}

/// Prints a command-line error the plugin way and returns the exit code (3, UNKNOWN).
/// --help and --version print as usual (on stdout) and also exit 3, as the guidelines say.
pub fn argument_error(e: &clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // A closed stdout (`| head`) is not worth a panic.
            let _ = write!(std::io::stdout(), "{e}");
        }
        _ => {
            let text = e.to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            let _ = writeln!(std::io::stdout(), "UNKNOWN - invalid arguments: {first}");
            let _ = write!(std::io::stderr(), "{text}");
        }
    }
    let _ = std::io::stdout().flush();
    Status::Unknown.exit_code()
}

/// Runs one check and returns the process exit code.
pub fn run(args: CheckArgs) -> i32 {
    match args.target {
        CheckTarget::Galera(a) => run_galera(*a),
        CheckTarget::Cluster(a) => run_cluster(*a),
        CheckTarget::Gluster(a) => run_gluster(*a),
        CheckTarget::Backup(a) => run_backup(*a),
    }
}

/// How to print a result.
struct Output {
    format: CheckFormat,
    item: Option<String>,
    verbose: bool,
}

impl Output {
    fn plugin() -> Output {
        Output {
            format: CheckFormat::Nagios,
            item: None,
            verbose: false,
        }
    }

    fn from(common: &CheckCommonArgs) -> Output {
        Output {
            format: common.format,
            item: common.item.clone(),
            verbose: common.verbose > 0,
        }
    }
}

/// Prints `result` (once per process) and returns the exit code.
///
/// Zabbix reads values, not exit codes: with `--format zabbix` a printed value exits 0 (the
/// state is in the `status` value); only an unknown `--item` exits 3.
fn emit(result: &CheckResult, out: &Output) -> i32 {
    let (text, code) = match out.format {
        CheckFormat::Nagios => (result.render_plugin(out.verbose), result.status.exit_code()),
        CheckFormat::Zabbix => match result.render_zabbix(out.item.as_deref()) {
            Ok(text) => (format!("{text}\n"), 0),
            Err(e) => {
                eprintln!("quorate check: {e}");
                (String::new(), Status::Unknown.exit_code())
            }
        },
    };
    let mut printed = match PRINTED.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if *printed {
        // The watchdog answered already; it is about to exit the process.
        return code;
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    *printed = true;
    code
}

/// The plugin's own deadline: a thread that answers with the timeout state and ends the
/// process if the check has not printed by then, whatever it is blocked on (DNS, a hung file
/// system, a server that accepted the connection and went silent).
fn start_watchdog(service: &'static str, timeout: TimeoutSpec, out: Output) {
    let spawned = std::thread::Builder::new()
        .name("check-timeout".into())
        .spawn(move || {
            std::thread::sleep(timeout.duration);
            let r = CheckResult::new(
                service,
                timeout.state,
                format!(
                    "no result within the {} s timeout (-t)",
                    quorate::check::range::format_number(timeout.duration.as_secs_f64())
                ),
            );
            let code = emit(&r, &out);
            std::process::exit(code);
        });
    if let Err(e) = spawned {
        eprintln!("quorate check: cannot start the timeout thread: {e}");
    }
}

/// The budget for the work itself: the timeout less a margin for printing, so the normal path
/// answers before the watchdog.
fn work_budget(timeout: Duration) -> Duration {
    let margin = (timeout / 10).min(Duration::from_millis(250));
    timeout.saturating_sub(margin)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// What a galera check reads: one endpoint, with a name.
struct Target {
    node: String,
    endpoint: MysqlEndpoint,
    auth: MysqlAuth,
    settings: Option<Settings>,
}

/// --config, else the default configuration file.
fn config_path(common: &CheckCommonArgs) -> PathBuf {
    common
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH))
}

fn load_settings(path: &Path) -> Result<Settings, String> {
    let loaded = config::load(path).map_err(|e| e.to_string())?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    Ok(loaded.settings)
}

/// Credentials: --defaults-file or --password-file, else $QUORATE_MYSQL_PASSWORD, else the
/// configuration; --user (or the defaults file's user) over the configured user.
fn resolve_auth(
    common: &MysqlCredentialArgs,
    configured: Option<&MysqlAuth>,
) -> Result<MysqlAuth, String> {
    let mut auth = configured.cloned().unwrap_or(MysqlAuth {
        user: "quorate".into(),
        password: None,
    });
    // Empty counts as unset: Icinga 2 passes an undefined `env` macro as "".
    if let Some(pw) = std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty()) {
        auth.password = Some(Secret::new(pw));
    }
    if let Some(file) = &common.defaults_file {
        let text = read_secret(file)?;
        let client = config::parse_defaults_file(&text);
        if let Some(user) = client.user {
            auth.user = user;
        }
        auth.password = client.password.map(Secret::new);
    }
    if let Some(file) = &common.password_file {
        let text = read_secret(file)?;
        let first = text.lines().next().unwrap_or("").trim_end_matches('\r');
        if first.is_empty() {
            return Err(format!("{}: the first line is empty", file.display()));
        }
        auth.password = Some(Secret::new(first));
    }
    if let Some(user) = &common.user {
        auth.user = user.clone();
    }
    Ok(auth)
}

fn read_secret(file: &Path) -> Result<String, String> {
    std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))
}

fn resolve_target(a: &CheckGaleraArgs) -> Result<Target, String> {
    let direct = match (&a.hostname, &a.socket) {
        (Some(host), _) => Some(MysqlEndpoint::Tcp {
            host: host.clone(),
            port: a.port,
        }),
        (None, Some(socket)) => Some(MysqlEndpoint::Socket(socket.clone())),
        (None, None) => None,
    };
    if let Some(endpoint) = direct {
        // A configuration is read only when named: it may supply the credentials.
        let settings = match &a.common.config {
            Some(path) => Some(load_settings(path)?),
            None => None,
        };
        let auth = resolve_auth(&a.credentials, settings.as_ref().map(|s| &s.mysql))?;
        let node = a
            .node
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| endpoint.to_string());
        return Ok(Target {
            node,
            endpoint,
            auth,
            settings,
        });
    }
    let path = a
        .common
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH));
    let settings = load_settings(&path)?;
    // An empty --node (a Zabbix key without its parameter) means "this host".
    let explicit = a.node.as_deref().filter(|n| !n.is_empty());
    let node = settings
        .resolve_local_node(explicit, &HostIdentity::current())?
        .ok_or_else(|| {
            format!(
                "cannot tell which controller of {} is this host; pass --node NAME or set quorate.node",
                path.display()
            )
        })?
        .clone();
    if !node.mariadb {
        return Err(format!(
            "controller {} does not run MariaDB (services.mariadb is not true in {})",
            node.name,
            path.display()
        ));
    }
    let auth = resolve_auth(&a.credentials, Some(&settings.mysql))?;
    Ok(Target {
        node: node.name.clone(),
        endpoint: node.mysql.clone(),
        auth,
        settings: Some(settings),
    })
}

fn galera_policy(a: &CheckGaleraArgs, configured_nodes: Option<u32>) -> GaleraPolicy {
    let cluster_size = size_thresholds(&a.size, configured_nodes);
    GaleraPolicy {
        non_primary: a.non_primary,
        not_ready: a.not_ready,
        not_connected: a.not_connected,
        joining: a.joining,
        initialized: a.initialized,
        donor: a.donor.donor,
        allow_desync: a.donor.allow_desync,
        read_only: a.read_only,
        cluster_size,
        recv_queue: Thresholds::new(a.recv_queue_warning.clone(), a.recv_queue_critical.clone()),
        send_queue: Thresholds::new(a.send_queue_warning.clone(), a.send_queue_critical.clone()),
        flow_control: Thresholds::new(Some(a.fc_warning.clone()), Some(a.fc_critical.clone())),
    }
}

/// -w/-c when given; otherwise the `--expected-size` (else `configured`) defaults, if any.
fn size_thresholds(size: &SizeArgs, configured: Option<u32>) -> Thresholds {
    if size.warning.is_some() || size.critical.is_some() {
        return Thresholds::new(size.warning.clone(), size.critical.clone());
    }
    size.expected_size
        .or(configured)
        .map_or_else(Thresholds::default, Thresholds::expected_size)
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What every check does first: validate the output options and arm the watchdog.
/// Returns the start time, how to print, and the budget for the work; or the exit code of an
/// argument error already printed.
fn begin(
    common: &CheckCommonArgs,
    service: &'static str,
) -> Result<(Instant, Output, Duration), i32> {
    let started = Instant::now();
    if common.item.is_some() && common.format != CheckFormat::Zabbix {
        return Err(emit(
            &CheckResult::new(
                service,
                Status::Unknown,
                "invalid arguments: --item needs --format zabbix",
            ),
            &Output::plugin(),
        ));
    }
    start_watchdog(service, common.timeout, Output::from(common));
    Ok((
        started,
        Output::from(common),
        work_budget(common.timeout.duration),
    ))
}

fn run_galera(a: CheckGaleraArgs) -> i32 {
    let (started, out, budget) = match begin(&a.common, galera::SERVICE) {
        Ok(b) => b,
        Err(code) => return code,
    };

    let target = match resolve_target(&a) {
        Ok(t) => t,
        Err(e) => return emit(&CheckResult::new(galera::SERVICE, Status::Unknown, e), &out),
    };
    let configured_nodes = target
        .settings
        .as_ref()
        .map(|s| s.galera_nodes().count() as u32)
        .filter(|n| *n > 0);
    let policy = galera_policy(&a, configured_nodes);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return emit(&CheckResult::new(galera::SERVICE, Status::Unknown, e), &out),
    };
    let client = NodeClient::new(&target.node, &target.endpoint, &target.auth);
    let deadline = budget.saturating_sub(started.elapsed());
    let (collected, read_at) = rt.block_on(async {
        let result = client.clone().collect(deadline).await;
        let read_at = SystemTime::now();
        if result.is_ok() {
            // Close the connection politely (no "Aborted connection" in the server log), but
            // never wait long for it; after a failure there is nothing worth waiting for.
            let left = budget.saturating_sub(started.elapsed());
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), client.disconnect())
                .await;
        }
        (result, read_at)
    });

    let mut result = match &collected {
        Ok(reading) => {
            let state_dir = state::state_dir(
                a.state_dir.as_deref(),
                |k| std::env::var(k).ok(),
                target
                    .settings
                    .as_ref()
                    .and_then(|s| s.check.state_dir.as_deref()),
            );
            let flow = flow_observation(
                &state::flow_state_path(&state_dir, &target.node),
                reading,
                read_at,
            );
            galera::judge(&target.node, reading, &flow, &policy)
        }
        Err(e) => galera::judge_error(&target.node, e, a.common.timeout.state, &policy),
    };
    let elapsed = started.elapsed();
    push_time(&mut result, elapsed);
    result.verbose_details.push(format!(
        "node {} at {} as {}, {:.1} ms",
        target.node,
        target.endpoint,
        target.auth.user,
        elapsed.as_secs_f64() * 1000.0
    ));
    emit(&result, &out)
}

/// The check's own duration as `time` perfdata, in seconds rounded to the millisecond.
fn push_time(result: &mut CheckResult, elapsed: Duration) {
    let seconds = (elapsed.as_secs_f64() * 1000.0).round() / 1000.0;
    result.perfdata.push(
        PerfDatum::new("time", Some(seconds))
            .uom(Uom::Seconds)
            .min(0.0),
    );
}

/// Reads the previous flow-control sample, saves this one, and compares them.
fn flow_observation(
    path: &Path,
    reading: &quorate::galera::GaleraReading,
    read_at: SystemTime,
) -> FlowObservation {
    let Some(paused_ns) = reading.status.flow_control_paused_ns() else {
        return FlowObservation::Unavailable(
            "the server does not report wsrep_flow_control_paused_ns".into(),
        );
    };
    let current = FlowSample {
        paused_ns,
        at_unix_ms: unix_ms(read_at),
        gcomm_uuid: reading.status.gcomm_uuid(),
    };
    let previous = state::load(path);
    let saved = state::save(path, &current);
    match (previous, saved) {
        (_, Err(e)) => FlowObservation::Unavailable(format!(
            "{e} (set --state-dir, $QUORATE_STATE_DIR or quorate.check.state_dir to a writable directory)"
        )),
        (Err(e), Ok(())) => FlowObservation::Unavailable(e.to_string()),
        (Ok(previous), Ok(())) => flow::observe(previous.as_ref(), &current),
    }
}

fn run_cluster(a: CheckClusterArgs) -> i32 {
    let (started, out, budget) = match begin(&a.common, cluster::SERVICE) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let unknown = |e: String| CheckResult::new(cluster::SERVICE, Status::Unknown, e);

    let path = config_path(&a.common);
    let settings = match load_settings(&path) {
        Ok(s) => s,
        Err(e) => return emit(&unknown(e), &out),
    };
    let auth = match resolve_auth(&a.credentials, Some(&settings.mysql)) {
        Ok(a) => a,
        Err(e) => return emit(&unknown(e), &out),
    };
    let nodes: Vec<&config::Node> = settings.galera_nodes().collect();
    if nodes.is_empty() {
        return emit(
            &unknown(format!(
                "{}: no controller has services.mariadb: true",
                path.display()
            )),
            &out,
        );
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return emit(&unknown(e), &out),
    };
    let deadline = budget.saturating_sub(started.elapsed());
    let results = rt.block_on(async {
        let clients: Vec<NodeClient> = nodes
            .iter()
            .map(|n| NodeClient::new(&n.name, &n.mysql, &auth))
            .collect();
        let results = futures::future::join_all(clients.iter().map(|c| c.collect(deadline))).await;
        // Polite close of the connections that worked, within what is left of the budget.
        let left = budget.saturating_sub(started.elapsed());
        let answered = clients
            .into_iter()
            .zip(results.iter())
            .filter(|(_, r)| r.is_ok())
            .map(|(c, _)| c.disconnect());
        let _ = tokio::time::timeout(
            left.min(Duration::from_millis(200)),
            futures::future::join_all(answered),
        )
        .await;
        results
    });
    let outcomes: Vec<NodeOutcome<'_>> = nodes
        .iter()
        .zip(results.iter())
        .map(|(n, r)| NodeOutcome {
            node: &n.name,
            result: r,
        })
        .collect();
    let configured = nodes.len() as u32;
    let policy = ClusterPolicy {
        cluster_size: size_thresholds(&a.size, Some(configured)),
        degraded: a.degraded,
        donor: a.donor.donor,
        allow_desync: a.donor.allow_desync,
        timeout_state: a.common.timeout.state,
    };
    let mut result = cluster::judge(&outcomes, &policy);
    push_time(&mut result, started.elapsed());
    emit(&result, &out)
}

/// The gluster CLI settings of `settings` (whether or not this host runs a brick: the check
/// was asked for), for `volume` (else storage.glusterfs.volume_name, else every volume), with
/// each command bounded by what is left of the plugin's budget.
pub fn gluster_config(
    settings: &Settings,
    volume: Option<&str>,
    budget: Duration,
) -> quorate::gluster::GlusterConfig {
    let cli = &settings.gluster_cli;
    let configured = settings
        .gluster
        .as_ref()
        .and_then(|g| g.volume_name.clone());
    quorate::gluster::GlusterConfig {
        command: cli.command.clone(),
        timeout: cli.timeout.min(budget),
        heal_timeout: cli.heal_timeout.min(budget),
        interval: cli.interval,
        heal_interval: settings.gluster_heal_interval,
        // An empty --volume (a Zabbix key without its parameter) means the configured one.
        volume: volume
            .filter(|v| !v.trim().is_empty())
            .map(str::to_string)
            .or(configured.filter(|v| !v.trim().is_empty())),
    }
}

fn run_gluster(a: CheckGlusterArgs) -> i32 {
    let service = gluster_check::SERVICE;
    let (started, out, budget) = match begin(&a.common, service) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let unknown = |e: String| CheckResult::new(service, Status::Unknown, e);
    let settings = match load_settings(&config_path(&a.common)) {
        Ok(s) => s,
        Err(e) => return emit(&unknown(e), &out),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return emit(&unknown(e), &out),
    };
    let deadline = budget.saturating_sub(started.elapsed());
    // Each command is killed a little before the overall deadline, so the answer names the
    // command that hung rather than only saying time ran out.
    let per_command = deadline.saturating_sub((deadline / 10).min(Duration::from_millis(200)));
    let config = gluster_config(&settings, a.volume.as_deref(), per_command);
    let collected = rt.block_on(async {
        tokio::time::timeout(deadline, quorate::gluster::collector::collect_once(&config)).await
    });
    let mut result = match collected {
        Ok(snapshot) => {
            let reading = quorate::gluster::reading(&snapshot, SystemTime::now(), None);
            let bricks = if a.warning.is_some() || a.critical.is_some() {
                Some(Thresholds::new(a.warning.clone(), a.critical.clone()))
            } else {
                None
            };
            let policy = GlusterPolicy {
                bricks,
                pending: Thresholds::new(
                    Some(a.pending_warning.clone()),
                    a.pending_critical.clone(),
                ),
                brick_down: a.brick_down,
                peer_down: a.peer_down,
                split_brain: a.split_brain,
                unknown_heal: a.unknown_heal,
            };
            gluster_check::judge(&reading, &policy)
        }
        Err(_) => CheckResult::new(
            service,
            a.common.timeout.state,
            format!(
                "the gluster CLI did not answer within {:.1} s",
                deadline.as_secs_f64()
            ),
        ),
    };
    let elapsed = started.elapsed();
    push_time(&mut result, elapsed);
    result.verbose_details.push(format!(
        "gluster command {:?}, {:.1} ms",
        config.command,
        elapsed.as_secs_f64() * 1000.0
    ));
    emit(&result, &out)
}

/// The backup roots and the zone of mariabackup's local times: --backup-dir (the configuration
/// read only when --config is given), else quorate.backup.directories of the configuration.
pub fn backup_roots(
    config: Option<&Path>,
    backup_dirs: &[PathBuf],
) -> Result<(Vec<PathBuf>, jiff::tz::TimeZone), String> {
    let settings = match (config, backup_dirs.is_empty()) {
        (Some(path), _) => Some(load_settings(path)?),
        (None, true) => Some(load_settings(Path::new(config::DEFAULT_PATH))?),
        (None, false) => None,
    };
    let tz = settings
        .as_ref()
        .map_or_else(jiff::tz::TimeZone::system, |s| {
            quorate::backup::MonitorConfig::from_settings(s).tz
        });
    let roots = match (backup_dirs.is_empty(), &settings) {
        (false, _) => backup_dirs.to_vec(),
        (true, Some(s)) => s.backup_dirs.clone(),
        (true, None) => Vec::new(),
    };
    Ok((roots, tz))
}

fn run_backup(a: CheckBackupArgs) -> i32 {
    let service = backup_check::SERVICE;
    let (started, out, _budget) = match begin(&a.common, service) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let (roots, tz) = match backup_roots(a.common.config.as_deref(), &a.backup_dir) {
        Ok(r) => r,
        Err(e) => return emit(&CheckResult::new(service, Status::Unknown, e), &out),
    };
    // The scan is synchronous; a hung file system (a dead NFS mount) is cut short by the
    // watchdog with the -t state.
    let report = quorate::backup::scan_once(&roots, &tz);
    let reading = BackupReading::from_scan(&report, SystemTime::now());
    let policy = BackupPolicy {
        kind: a.kind.0,
        age: Thresholds::new(Some(a.warning.clone()), Some(a.critical.clone())),
        min_size: a.min_size,
        too_small: a.too_small,
        no_backup: a.no_backup,
        failed_attempt: a.failed_attempt,
        chain_broken: a.chain_broken,
    };
    let mut result = backup_check::judge(&reading, &policy);
    let elapsed = started.elapsed();
    push_time(&mut result, elapsed);
    result.verbose_details.push(format!(
        "scanned {} in {:.1} ms, {} directories read",
        roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        report.duration.as_secs_f64() * 1000.0,
        report.value.dirs_read
    ));
    emit(&result, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> impl Iterator<Item = OsString> {
        list.iter()
            .map(OsString::from)
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn plugin_invocations_are_recognised() {
        assert!(is_plugin_invocation(args(&["quorate", "check", "galera"])));
        assert!(is_plugin_invocation(args(&[
            "quorate",
            "--log-level",
            "debug",
            "check"
        ])));
        assert!(is_plugin_invocation(args(&[
            "quorate",
            "--log-level=warn",
            "check"
        ])));
        assert!(!is_plugin_invocation(args(&["quorate", "serve"])));
        assert!(!is_plugin_invocation(args(&[
            "quorate", "discover", "check"
        ])));
        assert!(!is_plugin_invocation(args(&["quorate"])));
    }

    #[test]
    fn budget_leaves_a_margin() {
        assert_eq!(
            work_budget(Duration::from_secs(10)),
            Duration::from_millis(9750)
        );
        assert_eq!(
            work_budget(Duration::from_secs(1)),
            Duration::from_millis(900)
        );
    }
}
