//! The `"Plugin"` service a stock server calls hooks on (Mattermost's `hooksRPCServer`), served
//! from a plugin reached over the contract (a [`PluginHooks`], e.g. the gRPC client of a Python
//! child).
//!
//! Every hook the generated [`register_hooks`] carries is served by it; on top of that:
//!
//! * `Plugin.ServeHTTP` / `Plugin.ServeMetrics` (the generated `HTTP_STREAM_HOOKS`), streamed
//!   over the server's broker streams by [`crate::http`].
//! * `Plugin.FileWillBeUploaded` (the generated `FILE_UPLOAD_STREAM_HOOKS`), the file and its
//!   replacement streamed over the server's broker streams by [`crate::upload`].
//! * `Plugin.Implemented` answers the plugin's own list, restricted to the hooks this service
//!   carries ([`HOOKS`], the HTTP hooks and the file upload hooks), so the server never calls
//!   a hook that would fail here.
//! * `Plugin.OnActivate` does what Mattermost's plugin side does (`client_rpc.go`): dial the
//!   API stream (`APIMuxId`) and the database driver stream (`DriverMuxId`) at once — the
//!   server accepts each for only 5 s — connect the API stream to the [`ApiConnection`] the
//!   plugin's API calls go through (with the session's broker, for the API's byte streams),
//!   run `OnConfigurationChange` (a failure is logged, as Go does) and then `OnActivate`, whose
//!   error goes back in `Z_OnActivateReturns.A` (a `*model.AppError` or Mattermost's
//!   `ErrorString`). The driver stream is kept open but not served.
//!
//! A bundle that records its plugin's hooks (`cargo xtask bundle`) is served through
//! [`LateHooks`]: `Implemented` answers the record at once, and the plugin's process starts in
//! `OnActivate` ([`ImplementedHooks::before_activate`]), once the plugin's settings (which may
//! name the interpreter) can be read from the server.

use std::future::Future;
use std::sync::{Arc, Mutex};

use mattermost_plugin_api::{
    ApiError, CallContext, Forwarding, HooksSource, PluginApi, PluginHooks,
};
use mattermost_plugin_gob::netrpc::{HOOKS, NetRpcApi, register_hooks};
use mattermost_plugin_gob::wire::{Z_OnActivateArgs, Z_OnActivateReturns};
use tokio::sync::watch;

use crate::broker::MuxBroker;
use crate::bundle::{INTERPRETER_SETTING, PythonChoice};
use crate::mux;
use crate::netrpc::ApiConnection;
use crate::rpc::{Client, Empty, MethodError, Service};

/// What the hooks service needs to know of the plugin besides its hooks: the hooks it
/// implements (Go names), from the contract's `Implemented`, and what to do first in
/// `OnActivate`.
pub trait ImplementedHooks: Send + Sync + 'static {
    fn implemented_hook_names(&self) -> impl Future<Output = Result<Vec<String>, String>> + Send;

    /// Runs in `OnActivate` once the server's API stream is connected, before the plugin's
    /// `OnConfigurationChange` and `OnActivate`; an error fails the activation with its text.
    fn before_activate(
        &self,
        api: &ApiConnection,
    ) -> impl Future<Output = Result<(), String>> + Send {
        let _ = api;
        std::future::ready(Ok(()))
    }
}

impl ImplementedHooks for mattermost_plugin_api::PluginHooksClient {
    async fn implemented_hook_names(&self) -> Result<Vec<String>, String> {
        self.implemented_hooks()
            .await
            .map(|names| names.iter().cloned().collect())
            .map_err(|e| e.to_string())
    }
}

/// Of the hooks a plugin implements, those this service carries, sorted.
pub fn served_hooks(implemented: &[String]) -> Vec<String> {
    let mut served: Vec<String> = implemented
        .iter()
        .filter(|name| {
            HOOKS.contains(&name.as_str())
                || crate::http::carries(name)
                || crate::upload::carries(name)
        })
        .cloned()
        .collect();
    served.sort();
    served.dedup();
    served
}

/// The `"Plugin"` service for one `Dispense("hooks")`.
pub fn hooks_service<T>(broker: MuxBroker, hooks: Arc<T>, api: ApiConnection) -> Service
where
    T: PluginHooks + ImplementedHooks,
{
    // Idle driver streams stay open as long as the service lives.
    let idle: Arc<Mutex<Vec<mux::Stream>>> = Arc::default();
    let service = register_hooks(Service::new(), hooks.clone());
    let service = crate::http::register_all(service, &broker, &hooks);
    let service = crate::upload::register_all(service, &broker, &hooks);
    let implemented = {
        let hooks = hooks.clone();
        move |_: Empty| {
            let hooks = hooks.clone();
            async move {
                let all = hooks.implemented_hook_names().await.map_err(MethodError)?;
                let served = served_hooks(&all);
                let left_out: Vec<&String> = all.iter().filter(|h| !served.contains(h)).collect();
                if !left_out.is_empty() {
                    tracing::warn!(
                        "hooks the plugin implements that the shim does not carry yet (the server sees them as not implemented): {left_out:?}"
                    );
                }
                tracing::debug!("implemented hooks: {served:?}");
                Ok::<_, MethodError>(served)
            }
        }
    };
    let on_activate = move |args: Z_OnActivateArgs| {
        let (broker, hooks, api, idle) = (broker.clone(), hooks.clone(), api.clone(), idle.clone());
        async move {
            // Both dials first: the server's Accept gives up after 5 s.
            let api_stream = broker
                .dial(args.api_mux_id)
                .await
                .map_err(MethodError::new)?;
            // Older servers send no driver id.
            if args.driver_mux_id != 0 {
                let driver = broker
                    .dial(args.driver_mux_id)
                    .await
                    .map_err(MethodError::new)?;
                idle.lock().expect("not poisoned").push(driver);
            }
            api.connect_with_broker(Client::new(api_stream), broker.clone());
            if let Err(why) = hooks.before_activate(&api).await {
                tracing::error!("{why}");
                return Ok(Z_OnActivateReturns::from_contract(Err(ApiError::plain(
                    why,
                ))));
            }
            let ctx = CallContext::default();
            if let Err(e) = hooks.on_configuration_change(&ctx).await {
                tracing::error!("call to OnConfigurationChange failed, error: {e}");
            }
            let result = hooks.on_activate(&ctx).await;
            if let Err(e) = &result {
                tracing::error!("OnActivate failed: {e}");
            }
            Ok::<_, MethodError>(Z_OnActivateReturns::from_contract(result))
        }
    };
    // Registered after the generic ones, which they replace.
    service
        .method("Implemented", implemented)
        .method("OnActivate", on_activate)
}

/// The plugin's process as [`LateHooks`] sees it: its hooks once it is up, or why it could
/// not start; `None` until then.
pub type Started<T> = Option<Result<Arc<T>, String>>;

/// The hooks of a plugin whose process starts in `OnActivate`, for a bundle that recorded its
/// hooks at build time: `Implemented` answers the record, `OnActivate` asks for the start
/// (sending the interpreter choice on `launch`, once) and waits for `child`; every hook waits
/// for the process and is then forwarded to it (the generated [`Forwarding`] over
/// [`LateStart`]).
pub type LateHooks<T> = Forwarding<LateStart<T>>;

/// Where [`LateHooks`] finds the plugin's process.
pub struct LateStart<T> {
    recorded: Vec<String>,
    launch: watch::Sender<Option<PythonChoice>>,
    child: watch::Receiver<Started<T>>,
}

impl<T: Send + Sync + 'static> LateStart<T> {
    pub fn new(
        recorded: Vec<String>,
        launch: watch::Sender<Option<PythonChoice>>,
        child: watch::Receiver<Started<T>>,
    ) -> Self {
        LateStart {
            recorded,
            launch,
            child,
        }
    }

    /// The started process, waited for; its start failure as the hook's error.
    async fn started(&self) -> Result<Arc<T>, String> {
        let mut child = self.child.clone();
        child
            .wait_for(Option::is_some)
            .await
            .map_err(|_| "the Python plugin was never started".to_string())?
            .clone()
            .expect("waited for Some")
    }
}

impl<T: PluginHooks> HooksSource for LateStart<T> {
    type Hooks = T;

    async fn hooks(&self) -> Result<Arc<T>, ApiError> {
        self.started().await.map_err(ApiError::plain)
    }
}

impl<T: PluginHooks + ImplementedHooks> ImplementedHooks for LateHooks<T> {
    async fn implemented_hook_names(&self) -> Result<Vec<String>, String> {
        let this = &self.0;
        tracing::info!(
            "answering Implemented from the bundle's hook record (the plugin starts on activation): {:?}",
            this.recorded
        );
        Ok(this.recorded.clone())
    }

    /// Reads the interpreter setting through the server's API, starts the process with it and
    /// waits for it; then checks the process's own `Implemented` against the record.
    async fn before_activate(&self, api: &ApiConnection) -> Result<(), String> {
        let this = &self.0;
        if this.launch.borrow().is_none() {
            let config = NetRpcApi::new(api.clone())
                .load_plugin_configuration(&CallContext::default())
                .await;
            let setting = match config {
                Ok(json) => crate::bundle::interpreter_setting(&json)?,
                Err(e) => {
                    // Not fatal: the host's Python may still be found without the setting.
                    tracing::warn!(
                        "reading the plugin's configuration for {INTERPRETER_SETTING} failed ({e}); looking for Python on PATH"
                    );
                    String::new()
                }
            };
            this.launch.send_if_modified(|launch| {
                if launch.is_some() {
                    return false;
                }
                *launch = Some(PythonChoice {
                    setting: Some(setting),
                });
                true
            });
        }
        let child = this.started().await?;
        match child.implemented_hook_names().await {
            Ok(mut own) => {
                own.sort();
                own.dedup();
                let mut recorded = this.recorded.clone();
                recorded.sort();
                recorded.dedup();
                if own != recorded {
                    tracing::warn!(
                        "the plugin's hooks differ from the bundle's record (made when it was built; the server goes by the record until the bundle is rebuilt): recorded {recorded:?}, the plugin has {own:?}"
                    );
                }
            }
            Err(e) => tracing::warn!("asking the plugin which hooks it implements: {e}"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mattermost_plugin_api::pb;

    /// A plugin process: one hook, and its own `Implemented`.
    struct Fake;

    impl PluginHooks for Fake {
        async fn user_will_log_in(
            &self,
            _ctx: &CallContext,
            _context: Option<pb::PluginContext>,
            user: Option<pb::User>,
        ) -> Result<String, ApiError> {
            Ok(format!("no, {}", user.unwrap_or_default().username))
        }
    }

    impl ImplementedHooks for Fake {
        async fn implemented_hook_names(&self) -> Result<Vec<String>, String> {
            Ok(vec!["UserWillLogIn".into()])
        }
    }

    #[tokio::test]
    async fn late_hooks_answer_the_record_and_wait_for_the_process() {
        let (launch_tx, launch_rx) = watch::channel(None);
        let (started_tx, started_rx) = watch::channel::<Started<Fake>>(None);
        let late = Arc::new(Forwarding(LateStart::new(
            vec!["OnActivate".into(), "UserWillLogIn".into()],
            launch_tx,
            started_rx,
        )));
        // No process yet, none asked for: Implemented is the record.
        assert_eq!(
            late.implemented_hook_names().await.unwrap(),
            ["OnActivate", "UserWillLogIn"]
        );
        assert!(launch_rx.borrow().is_none());
        let call = tokio::spawn({
            let late = late.clone();
            async move {
                let user = pb::User {
                    username: "ada".into(),
                    ..Default::default()
                };
                late.user_will_log_in(&CallContext::default(), None, Some(user))
                    .await
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!call.is_finished(), "a hook must wait for the process");
        started_tx.send_replace(Some(Ok(Arc::new(Fake))));
        assert_eq!(call.await.unwrap().unwrap(), "no, ada");
    }

    #[tokio::test]
    async fn a_failed_start_is_every_hooks_error() {
        let (launch_tx, _launch_rx) = watch::channel(None);
        let (started_tx, started_rx) = watch::channel::<Started<Fake>>(None);
        let late = Forwarding(LateStart::new(vec![], launch_tx, started_rx));
        started_tx.send_replace(Some(Err("no Python here".into())));
        let err = late
            .user_will_log_in(&CallContext::default(), None, None)
            .await
            .unwrap_err();
        assert!(err.into_error().message.contains("no Python here"));
    }

    #[test]
    fn only_carried_hooks_are_announced() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            served_hooks(&names(&[
                "ServeHTTP",
                "MessageWillBePosted",
                "OnActivate",
                "FileWillBeUploaded",
                "ServeMetrics",
                "NoSuchHook",
            ])),
            names(&[
                "FileWillBeUploaded",
                "MessageWillBePosted",
                "OnActivate",
                "ServeHTTP",
                "ServeMetrics"
            ])
        );
    }
}
