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

use std::sync::{Arc, Mutex};

use mattermost_plugin_api::{CallContext, PluginHooks};
use mattermost_plugin_gob::netrpc::{HOOKS, register_hooks};
use mattermost_plugin_gob::wire::{Z_OnActivateArgs, Z_OnActivateReturns};

use crate::broker::MuxBroker;
use crate::mux;
use crate::netrpc::ApiConnection;
use crate::rpc::{Client, Empty, MethodError, Service};

/// What the hooks service needs to know of the plugin besides its hooks: the hooks it
/// implements (Go names), from the contract's `Implemented`.
pub trait ImplementedHooks: Send + Sync + 'static {
    fn implemented_hook_names(
        &self,
    ) -> impl std::future::Future<Output = Result<Vec<String>, String>> + Send;
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

#[cfg(test)]
mod tests {
    use super::*;

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
