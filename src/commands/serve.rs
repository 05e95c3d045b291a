//! `quorate serve`: run the exporter until SIGTERM or ctrl-c.

use anyhow::Context;
use quorate::server::{self, ServeOptions};

use crate::cli::ServeArgs;

pub fn run(args: ServeArgs) -> anyhow::Result<i32> {
    // One thread serves every request: a scrape is a few microseconds of work between waits,
    // and with several workers most of its CPU went to handing tasks between them (thread
    // switches, futex and epoll wake-ups; bench/results/binary.md). Reads of outside files
    // still run on the blocking pool under a deadline, and the backup scan, the config watcher
    // and the gluster CLI have their own threads, so nothing slow runs on this one.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let opts = ServeOptions {
        config_path: args.config,
        listen: args.listen,
        node: args.node,
        web_config: args.web_config_file,
    };
    runtime.block_on(server::serve(opts, shutdown_signal()))?;
    Ok(quorate::error::exit::OK)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
