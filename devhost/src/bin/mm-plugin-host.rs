//! `mm-plugin-host run <plugin-dir>`: run one Mattermost plugin locally on an in-memory server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use mattermost_plugin_devhost::host::watch::{DirWatcher, describe_changes, restart_on_changes};
use mattermost_plugin_devhost::host::{DevHost, HostConfig, display_dir};
use mattermost_plugin_runtime::http_bridge::HttpTimeouts;

#[derive(Parser)]
#[command(
    name = "mm-plugin-host",
    about = "Run a Mattermost plugin locally on an in-memory server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the plugin in <PLUGIN_DIR> and serve it until Ctrl-C.
    Run {
        plugin_dir: PathBuf,
        /// Address of the HTTP server (plugin routes and the REST surface).
        #[arg(long, default_value = "127.0.0.1:8065")]
        listen: SocketAddr,
        /// Timeout for each unary hook call, in seconds.
        #[arg(long, default_value_t = 30)]
        hook_timeout: u64,
        /// Seconds a plugin has to send its HTTP response head before the client gets 504.
        #[arg(long, default_value_t = 60)]
        http_timeout: u64,
        /// Seconds a plugin's HTTP response may stay silent before it is aborted.
        #[arg(long, default_value_t = 300)]
        http_idle_timeout: u64,
        /// Restart the plugin when a file in <PLUGIN_DIR> changes (caches, version control and
        /// virtualenvs excepted); one that fails to start is reported and retried on the next
        /// change.
        #[arg(long)]
        watch: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only where a person reads them, not in files or captured test output.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let Command::Run {
        plugin_dir,
        listen,
        hook_timeout,
        http_timeout,
        http_idle_timeout,
        watch,
    } = Cli::parse().command;
    let config = HostConfig {
        plugin_dir: plugin_dir.clone(),
        http_addr: listen,
        hook_timeout: Duration::from_secs(hook_timeout),
        http_timeouts: HttpTimeouts {
            head: Duration::from_secs(http_timeout),
            idle: Duration::from_secs(http_idle_timeout),
        },
    };
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mm-plugin-host: cannot watch SIGTERM: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Taken before the first start, so that a change made while the plugin starts is seen.
    let mut watcher = if watch {
        match DirWatcher::new(&plugin_dir).await {
            Ok(w) => Some(w),
            Err(e) => {
                eprintln!("mm-plugin-host: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let mut host = loop {
        // Ctrl-C while starting: dropping the start kills the plugin and removes its socket
        // directory (the default SIGINT action would leave both to the kernel, which removes
        // nothing).
        let started = tokio::select! {
            started = DevHost::start(config.clone()) => started,
            _ = tokio::signal::ctrl_c() => return interrupted("interrupted while starting"),
            _ = term.recv() => return interrupted("terminated while starting"),
        };
        let e = match started {
            Ok(h) => break h,
            Err(e) => e,
        };
        eprintln!("mm-plugin-host: {e}");
        // Watching: the next save may fix it.
        let Some(watcher) = watcher.as_mut() else {
            return ExitCode::FAILURE;
        };
        eprintln!(
            "mm-plugin-host: watching {} for a change to try again",
            display_dir(&plugin_dir)
        );
        tokio::select! {
            changed = watcher.changed() => {
                eprintln!("mm-plugin-host: {} changed; starting again", describe_changes(&changed));
            }
            _ = tokio::signal::ctrl_c() => return ExitCode::FAILURE,
            _ = term.recv() => return ExitCode::FAILURE,
        }
    };
    let addr = host.http_addr();
    println!(
        "plugin {} ({}) from {}",
        host.plugin_id(),
        host.manifest().version,
        display_dir(&plugin_dir)
    );
    println!("implements: {}", host.implemented().join(", "));
    println!("listening on http://{addr}");
    println!(
        "  plugin routes:  http://{addr}/plugins/{}/…",
        host.plugin_id()
    );
    println!("  create a post:  POST http://{addr}/api/v4/posts {{\"message\": \"hi\"}}");
    println!(
        "  slash command:  POST http://{addr}/api/v4/commands/execute {{\"command\": \"/…\"}}"
    );
    println!(
        "  configuration:  PUT  http://{addr}/api/v4/plugins/{}/config {{…}}",
        host.plugin_id()
    );
    if watch {
        println!(
            "watching {} for changes: the plugin restarts on save",
            display_dir(&plugin_dir)
        );
    }
    println!("press Ctrl-C to stop");
    use std::io::Write;
    let _ = std::io::stdout().flush();

    // Restarts run inside this select: Ctrl-C during one drops it, which stops whichever plugin
    // process it had started, and `stop` below ends the rest.
    let watching = async {
        match watcher.as_mut() {
            Some(watcher) => restart_on_changes(&mut host, watcher).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = watching => {}
    }
    println!("stopping (Ctrl-C again to kill the plugin at once)");
    let _ = std::io::stdout().flush();
    let supervisor = host.supervisor().clone();
    let stop = host.stop();
    tokio::pin!(stop);
    tokio::select! {
        _ = &mut stop => {}
        _ = tokio::signal::ctrl_c() => {
            supervisor.kill_now();
            stop.await;
        }
    }
    ExitCode::SUCCESS
}

fn interrupted(why: &str) -> ExitCode {
    eprintln!("mm-plugin-host: {why}");
    ExitCode::FAILURE
}
