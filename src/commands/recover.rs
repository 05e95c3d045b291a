//! `quorate recover plan|position|bootstrap|rejoin|promote`: load the configuration, find
//! which node this host is, run the library's gather/decide/act, print text or JSON, and map
//! a refusal to exit code 4.

use anyhow::Context;
use quorate::config::{self, HostIdentity, Settings};
use quorate::error::exit;
use quorate::recover::act::{self, ActError, ActOptions, ActReport};
use quorate::recover::decide::{decide, Assumptions, Decision, Verdict};
use quorate::recover::render::{self, CommandContext};
use quorate::recover::{apart, gather, RecoverError};

use crate::cli::{OutputFormat, RecoverActArgs, RecoverCommand, RecoverCommon};

pub fn run(cmd: RecoverCommand) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(cmd))
}

fn load(common: &RecoverCommon) -> anyhow::Result<(Settings, Option<String>)> {
    let settings = config::load_logging_warnings(&common.config).map_err(quorate::Error::from)?;
    let local = settings
        .resolve_local_node(common.node.as_deref(), &HostIdentity::current())?
        .map(|n| n.name.clone());
    Ok((settings, local))
}

async fn run_async(cmd: RecoverCommand) -> anyhow::Result<i32> {
    match cmd {
        RecoverCommand::Plan(args) => {
            let (settings, local) = load(&args.common)?;
            let view = gather::gather(&settings, local.as_deref()).await;
            let d = decide(
                &view,
                &Assumptions {
                    assume_lost: args.assume_lost.iter().cloned().collect(),
                },
            );
            for line in apart::keep_findings(&settings, local.as_deref(), &d).await {
                eprintln!("{line}");
            }
            let ctx = CommandContext {
                config: &args.common.config,
                assume_lost: args.assume_lost.clone(),
            };
            print_decision(&d, &ctx, args.common.format)?;
            Ok(if d.is_refusal() {
                exit::REFUSED
            } else {
                exit::OK
            })
        }
        RecoverCommand::Position(args) => {
            let (settings, local) = load(&args.common)?;
            let nodes = if args.nodes.is_empty() {
                let view = gather::gather(&settings, local.as_deref()).await;
                let d = decide(&view, &Assumptions::default());
                for line in apart::keep_findings(&settings, local.as_deref(), &d).await {
                    eprintln!("{line}");
                }
                d.steps
                    .iter()
                    .filter(|s| s.action == quorate::recover::decide::Action::RecoverPosition)
                    .map(|s| s.node.clone())
                    .collect()
            } else {
                args.nodes.clone()
            };
            if nodes.is_empty() {
                println!("no node needs its position recovered");
                return Ok(exit::OK);
            }
            if !args.execute {
                println!(
                    "would recover the position of {} (--wsrep-recover; each node refuses while its mysqld runs)\ndry run: add --execute to act",
                    nodes.join(", ")
                );
                return Ok(exit::OK);
            }
            let results = act::positions(&settings, local.as_deref(), &nodes).await;
            let failed = results.iter().any(|r| r.result.is_err());
            match args.common.format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&results)?),
                OutputFormat::Text => {
                    for r in &results {
                        match &r.result {
                            Ok(rec) => println!("{}: {}", r.node, rec.outcome),
                            Err(e) => println!("{}: FAILED: {e}", r.node),
                        }
                    }
                    println!(
                        "next: quorate recover plan --config {}",
                        args.common.config.display()
                    );
                }
            }
            Ok(if failed { exit::FAILURE } else { exit::OK })
        }
        RecoverCommand::Bootstrap(args) => action(args, "bootstrap", false, false).await,
        RecoverCommand::Promote(args) => action(args, "promote", false, false).await,
        RecoverCommand::Rejoin(args) => {
            let (m, a) = (args.move_aside, args.accept_loss);
            action(args.act, "rejoin", m, a).await
        }
    }
}

async fn action(
    args: RecoverActArgs,
    what: &str,
    move_aside: bool,
    accept_loss: bool,
) -> anyhow::Result<i32> {
    let (settings, local) = load(&args.common)?;
    let node = local.ok_or(RecoverError::NoLocalNode)?;
    let opts = ActOptions {
        node,
        assume_lost: args.assume_lost.iter().cloned().collect(),
        plan: args.plan.clone(),
        execute: args.execute,
        move_aside,
        accept_loss,
    };
    let result = match what {
        "bootstrap" => act::bootstrap(&settings, &opts).await,
        "promote" => act::promote(&settings, &opts).await,
        _ => act::rejoin(&settings, &opts).await,
    };
    let ctx = CommandContext {
        config: &args.common.config,
        assume_lost: Vec::new(),
    };
    match result {
        Ok(report) => {
            print_report(&report, &ctx, args.common.format)?;
            Ok(exit::OK)
        }
        Err(ActError { error, decision }) => {
            let refused = matches!(error, RecoverError::Refused { .. });
            match args.common.format {
                OutputFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "action": what,
                        "refused": refused,
                        "error": error.to_string(),
                        "decision": decision,
                    }))?
                ),
                OutputFormat::Text => {
                    println!(
                        "{} {what}: {}",
                        if refused { "REFUSED" } else { "FAILED" },
                        error
                    );
                    if let Some(d) = &decision {
                        println!();
                        print!("{}", render::text(d, &ctx));
                    }
                }
            }
            Ok(if refused {
                exit::REFUSED
            } else {
                exit::FAILURE
            })
        }
    }
}

fn print_decision(
    d: &Decision,
    ctx: &CommandContext<'_>,
    format: OutputFormat,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(d)?),
        OutputFormat::Text => print!("{}", render::text(d, ctx)),
    }
    Ok(())
}

fn print_report(
    r: &ActReport,
    ctx: &CommandContext<'_>,
    format: OutputFormat,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(r)?),
        OutputFormat::Text => {
            let mode = if r.executed { "done" } else { "dry run" };
            println!("{} {} ({mode}):", r.action, r.node);
            for line in &r.done {
                println!("  - {line}");
            }
            if let Some(next) = &r.next {
                if r.executed {
                    let label = if matches!(next.verdict, Verdict::Healthy) {
                        "Now"
                    } else {
                        "Next step"
                    };
                    println!("\n{label}:");
                }
                println!();
                print!("{}", render::text(next, ctx));
            }
        }
    }
    Ok(())
}
