//! Spawning from one long-lived thread.
//!
//! Linux's parent-death signal (`PR_SET_PDEATHSIG`) fires when the *thread* that forked the child
//! exits, not the process. Tokio's blocking-pool threads come and go, and a runtime's worker
//! threads end with that runtime, so a plugin forked from one of them could be SIGKILLed while the
//! host lives on. Every plugin is therefore forked from a dedicated thread that lives as long as
//! the host process; it enters the caller's runtime so the child is still reaped by that runtime.

use std::io;
use std::sync::{OnceLock, mpsc};

use tokio::process::{Child, Command};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

struct Request {
    command: Command,
    runtime: Handle,
    reply: oneshot::Sender<io::Result<Child>>,
}

static SPAWNER: OnceLock<Option<mpsc::Sender<Request>>> = OnceLock::new();

fn spawner() -> Option<&'static mpsc::Sender<Request>> {
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Request>();
            let thread = std::thread::Builder::new()
                .name("mm-plugin-spawner".into())
                .spawn(move || {
                    for mut request in rx {
                        let _runtime = request.runtime.enter();
                        // If the caller went away, the child is dropped here and, being
                        // `kill_on_drop`, killed and reaped by the runtime.
                        let _ = request.reply.send(request.command.spawn());
                    }
                });
            match thread {
                Ok(_) => Some(tx),
                Err(error) => {
                    tracing::warn!(%error, "could not start the plugin spawner thread; spawning from runtime threads");
                    None
                }
            }
        })
        .as_ref()
}

/// Spawns `command` from the spawner thread (falling back to the current thread).
pub(crate) async fn spawn(command: Command) -> io::Result<Child> {
    let mut command = command;
    if let Some(tx) = spawner() {
        let (reply, response) = oneshot::channel();
        let request = Request {
            command,
            runtime: Handle::current(),
            reply,
        };
        match tx.send(request) {
            Ok(()) => {
                return response
                    .await
                    .unwrap_or_else(|_| Err(io::Error::other("plugin spawner thread is gone")));
            }
            Err(mpsc::SendError(request)) => command = request.command,
        }
    }
    command.spawn()
}
