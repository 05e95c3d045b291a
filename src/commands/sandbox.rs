//! `quorate sandbox …`: start, inspect, fault and remove a real local Galera cluster.

use anyhow::Context;
use quorate::sandbox::{self, UpOptions};

use crate::cli::{GlusterFault, SandboxCommand};

pub fn run(cmd: SandboxCommand) -> anyhow::Result<i32> {
    match cmd {
        SandboxCommand::Up {
            dir,
            nodes,
            gluster,
            netns,
            serve,
        } => {
            if nodes == 0 && !gluster {
                anyhow::bail!("--nodes 0 needs --gluster (a sandbox must run something)");
            }
            let opts = UpOptions {
                dir: dir.clone(),
                nodes: usize::from(nodes),
            };
            let mut sb = if gluster && netns {
                sandbox::up_gluster_netns(&opts)
            } else if gluster {
                sandbox::up_gluster(&opts)
            } else if netns {
                sandbox::up_netns(&opts)
            } else {
                sandbox::up(&opts)
            }
            .map_err(quorate::Error::from)?;
            println!(
                "sandbox up: {} Galera node(s){} in {}",
                nodes,
                if gluster {
                    " and a GlusterFS volume"
                } else {
                    ""
                },
                sb.dir().display()
            );
            if serve {
                let me = std::env::current_exe().context("locating this quorate binary")?;
                sb.start_serves(&me).map_err(quorate::Error::from)?;
            }
            print_status(&sb)?;
            println!("config: {}", sb.config_path().display());
            for node in sb.node_names() {
                if serve {
                    println!(
                        "recovery endpoint of {node}: http://{} (quorate serve started; `quorate recover plan --config {} --node {node}`)",
                        sb.serve_address(&node)?,
                        sb.config_path().display()
                    );
                } else {
                    println!(
                        "recovery endpoint of {node}: quorate serve --config {} --node {node} --listen {}   (or up --serve)",
                        sb.config_path().display(),
                        sb.serve_address(&node)?
                    );
                }
            }
            println!(
                "next:   quorate serve --config {}   (then curl http://<listen>/metrics)",
                sb.config_path().display()
            );
        }
        SandboxCommand::Status { dir } => {
            let sb = sandbox::open(&dir).map_err(quorate::Error::from)?;
            print_status(&sb)?;
        }
        SandboxCommand::Partition { dir, groups } => {
            let sb = sandbox::open(&dir).map_err(quorate::Error::from)?;
            let groups: Vec<Vec<String>> = groups
                .iter()
                .map(|g| {
                    g.split(',')
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .collect();
            sb.network()
                .and_then(|n| n.partition(&groups))
                .map_err(quorate::Error::from)?;
            print_segments(&sb)?;
        }
        SandboxCommand::Heal { dir } => {
            let sb = sandbox::open(&dir).map_err(quorate::Error::from)?;
            sb.network()
                .and_then(|n| n.heal())
                .map_err(quorate::Error::from)?;
            print_segments(&sb)?;
        }
        SandboxCommand::Down { dir } => {
            sandbox::down_dir(&dir).map_err(quorate::Error::from)?;
            println!("sandbox in {} stopped and removed", dir.display());
        }
        SandboxCommand::Stop(a) => node_op(&a.dir, &a.node, "stopped", |sb, n| sb.stop_node(n))?,
        SandboxCommand::Start(a) => node_op(&a.dir, &a.node, "started", |sb, n| sb.start_node(n))?,
        SandboxCommand::Bootstrap(a) => node_op(&a.dir, &a.node, "bootstrapped", |sb, n| {
            sb.bootstrap_node(n)
        })?,
        SandboxCommand::Crash(a) => node_op(&a.dir, &a.node, "crashed (SIGKILL)", |sb, n| {
            sb.crash_node(n)
        })?,
        SandboxCommand::Freeze(a) => node_op(&a.dir, &a.node, "frozen (SIGSTOP)", |sb, n| {
            sb.freeze_node(n)
        })?,
        SandboxCommand::Gluster { dir, fault, brick } => {
            let sb = sandbox::open(&dir).map_err(quorate::Error::from)?;
            let g = sb.gluster().ok_or_else(|| {
                anyhow::anyhow!(
                    "the sandbox in {} has no GlusterFS pool (start it with `up --gluster`)",
                    dir.display()
                )
            })?;
            let done = match (fault, brick) {
                (GlusterFault::KillBrick, None) => anyhow::bail!("kill-brick needs --brick N"),
                (GlusterFault::KillBrick, Some(n)) => {
                    let i = usize::from(n) - 1;
                    let name = g
                        .brick_name(i)
                        .ok_or_else(|| anyhow::anyhow!("the volume has no brick {n}"))?;
                    g.kill_brick(i)
                        .map(|()| format!("brick {name} killed (SIGKILL)"))
                }
                (_, Some(_)) => anyhow::bail!("--brick goes with kill-brick only"),
                (GlusterFault::CrashPeer, None) => g.stop_peer().map(|()| {
                    format!(
                        "peer {} crashed (every process of its namespace killed)",
                        g.peer_address().unwrap_or("?")
                    )
                }),
                (GlusterFault::StartPeer, None) => g.start_peer().map(|pid| {
                    format!(
                        "peer {} started (glusterd pid {pid}), every brick online",
                        g.peer_address().unwrap_or("?")
                    )
                }),
                (GlusterFault::StartBricks, None) => {
                    g.start_bricks().map(|()| "every brick online".to_owned())
                }
                (GlusterFault::Heal, None) => g.heal().map(|()| "heal triggered".to_owned()),
            }
            .map_err(quorate::Error::from)?;
            println!("{done}");
        }
        SandboxCommand::Backup {
            dir,
            node,
            incremental,
        } => {
            let sb = sandbox::open(&dir).map_err(quorate::Error::from)?;
            let kind = if incremental {
                quorate::backup::BackupType::Incremental
            } else {
                quorate::backup::BackupType::Full
            };
            let taken = sb
                .take_backup(&node, kind)
                .map_err(quorate::Error::from)
                .with_context(|| format!("backup of sandbox node {node}"))?;
            match &taken.base {
                Some(base) => println!(
                    "incremental backup of {node} in {} (on {}), {:.1} s",
                    taken.path.display(),
                    base.display(),
                    taken.elapsed.as_secs_f64()
                ),
                None => println!(
                    "full backup of {node} in {}, {:.1} s",
                    taken.path.display(),
                    taken.elapsed.as_secs_f64()
                ),
            }
        }
        SandboxCommand::Thaw(a) => {
            node_op(&a.dir, &a.node, "thawed (SIGCONT)", |sb, n| sb.thaw_node(n))?
        }
    }
    Ok(quorate::error::exit::OK)
}

fn node_op(
    dir: &std::path::Path,
    node: &str,
    done: &str,
    op: impl FnOnce(&mut sandbox::Sandbox, &str) -> Result<(), sandbox::SandboxError>,
) -> anyhow::Result<()> {
    let mut sb = sandbox::open(dir).map_err(quorate::Error::from)?;
    op(&mut sb, node)
        .map_err(quorate::Error::from)
        .with_context(|| format!("sandbox node {node}"))?;
    println!("{node} {done}");
    Ok(())
}

/// One line per node: its address and network segment (`qbr0` is the whole network).
fn print_segments(sb: &sandbox::Sandbox) -> anyhow::Result<()> {
    let network = sb.network().map_err(quorate::Error::from)?;
    for (node, segment) in network.segments().map_err(quorate::Error::from)? {
        let address = network.address(&node).map_err(quorate::Error::from)?;
        println!("{node:<8} {address:<12} segment {segment}");
    }
    Ok(())
}

fn print_status(sb: &sandbox::Sandbox) -> anyhow::Result<()> {
    for node in sb.status() {
        println!("{node}");
    }
    if sb.network().is_ok() {
        print_segments(sb)?;
    }
    if let Some(g) = sb.gluster() {
        let peer = match (g.peer_address(), g.namespaces().get(1)) {
            (Some(address), Some(namespace)) => format!(" (peer {address} in {namespace})"),
            _ => String::new(),
        };
        println!(
            "gluster  volume {} in network namespace {}{peer}, mounted at {}",
            g.volume(),
            g.namespace(),
            g.mount().display()
        );
        println!("         cli: {}", g.cli_command().join(" "));
    }
    Ok(())
}
