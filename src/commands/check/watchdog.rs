//! What every check shares around its work: the output options, printing the result exactly
//! once, the watchdog that answers with the timeout state when the work hangs, the work budget,
//! the `time` perfdata and the async runtime.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use quorate::check::{CheckResult, PerfDatum, Status, TimeoutSpec, Uom};

use crate::cli::{CheckCommonArgs, CheckFormat};

/// Set once some output has been printed: the watchdog and the normal path never both print.
static PRINTED: Mutex<bool> = Mutex::new(false);

/// How to print a result.
pub(super) struct Output {
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
pub(super) fn emit(result: &CheckResult, out: &Output) -> i32 {
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

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// What every check does first: validate the output options and arm the watchdog.
/// Returns the start time, how to print, and the budget for the work; or the exit code of an
/// argument error already printed.
pub(super) fn begin(
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

/// The check's own duration as `time` perfdata, in seconds rounded to the millisecond.
pub(super) fn push_time(result: &mut CheckResult, elapsed: Duration) {
    let seconds = (elapsed.as_secs_f64() * 1000.0).round() / 1000.0;
    result.perfdata.push(
        PerfDatum::new("time", Some(seconds))
            .uom(Uom::Seconds)
            .min(0.0),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

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
