//! The per-method halves of a go-plugin net/rpc plugin, over the contract's traits:
//! `register_hooks` serves `Plugin.<Hook>` from a `PluginHooks`, `NetRpcApi` is a `PluginApi`
//! that calls `Plugin.<Method>` on the server; and their mirrors (`register_api`,
//! `NetRpcHooks`), which play the server's side in tests. The transport plugs in through the
//! `Registry` and `Caller` traits of the hand-written `netrpc_base.rs`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::proto::{ProtoRpc, RpcShape};
use crate::ir::TypeRef;

/// The trait method's return value from `into_contract`'s tuple, and the tuple back.
fn result_shape(rpc: &ProtoRpc) -> (TokenStream, TokenStream) {
    match rpc.results.len() {
        1 => (quote!(.map(|v| v.0)), quote!(.map(|v| (v,)))),
        _ => (quote!(), quote!()),
    }
}

fn method_ident(rpc: &ProtoRpc) -> proc_macro2::Ident {
    format_ident!("{}", crate::naming::snake(&rpc.method.name))
}

/// Whether the generic net/rpc path carries this rpc both ways (unary shapes only).
pub fn carried(rpc: &ProtoRpc) -> bool {
    match rpc.shape {
        RpcShape::Unary | RpcShape::ConfigurationJson { .. } => !super::hand_written(&rpc.method),
        RpcShape::Upload { .. }
        | RpcShape::ServeHttp
        | RpcShape::PluginHttp
        | RpcShape::FileUpload => false,
    }
}

/// Whether `NetRpcApi` carries this API rpc through the transport's stream capabilities
/// (`Caller::serve_stream`, `Caller::plugin_http`): a byte-stream upload, or plugin-to-plugin
/// HTTP. The server's side of these (`register_api`) is not generated.
pub fn streamed(rpc: &ProtoRpc) -> bool {
    match rpc.shape {
        RpcShape::Upload { .. } => !super::hand_written(&rpc.method),
        RpcShape::PluginHttp => true,
        RpcShape::Unary
        | RpcShape::ConfigurationJson { .. }
        | RpcShape::ServeHttp
        | RpcShape::FileUpload => false,
    }
}

/// A trait method for a [`streamed`] rpc: an upload serves its byte stream on a broker id the
/// arguments carry; plugin-to-plugin HTTP is the transport's exchange, only routed here.
fn streamed_call(
    rpc: &ProtoRpc,
    param_types: &[TokenStream],
    ret: &TokenStream,
) -> Result<TokenStream, String> {
    let go = &rpc.method.name;
    let path = format!("Plugin.{go}");
    let name = method_ident(rpc);
    match &rpc.shape {
        RpcShape::Upload { param, .. } => {
            let Some(id_field) = super::reader_stream_id(&rpc.method)? else {
                return Err(format!("{go}: an upload without a ReaderUpload row"));
            };
            let id_field = super::field_ident(id_field);
            let stream = crate::emit::rust::prost_field_ident(param);
            let (args, returns) = wire_idents(rpc);
            let ids = arg_idents(rpc);
            let (to_trait, _) = result_shape(rpc);
            Ok(quote! {
                fn #name(&self, ctx: &CallContext #(, #ids: #param_types)*, #stream: ByteStream) -> impl ::std::future::Future<Output = Result<#ret, ApiError>> + Send {
                    let _ = ctx;
                    let caller = self.caller.clone();
                    let mut args = #args::from_contract((#(#ids,)*));
                    async move {
                        let returns: #returns = call_with_stream(&caller, #go, #path, #stream, move |id| {
                            args.#id_field = id;
                            args
                        })
                        .await?;
                        returns.into_contract() #to_trait
                    }
                }
            })
        }
        RpcShape::PluginHttp => {
            let request = crate::emit::rust::prost_message_ident(&rpc.request);
            Ok(quote! {
                fn #name(&self, ctx: &CallContext, frames: BoxStream<Result<pb::#request, ApiError>>) -> impl ::std::future::Future<Output = Result<PluginHttpFrames, ApiError>> + Send {
                    let _ = ctx;
                    let caller = self.caller.clone();
                    async move { caller.plugin_http(#go, frames).await }
                }
            })
        }
        other => Err(format!("{go}: {other:?} is not a streamed API shape")),
    }
}

/// `service.method("Plugin.X", …)` serving one rpc from `target`, each call made as `ctx`.
fn registration(rpc: &ProtoRpc) -> TokenStream {
    let path = format!("Plugin.{}", rpc.method.name);
    let (args, returns) = wire_idents(rpc);
    let name = method_ident(rpc);
    let indices = (0..rpc.args.len()).map(syn::Index::from);
    let (_, back) = result_shape(rpc);
    quote! {
        .method(#path, {
            let (target, ctx) = (target.clone(), ctx.clone());
            move |args: #args| {
                let (target, ctx) = (target.clone(), ctx.clone());
                async move {
                    let _a = args.into_contract();
                    let result = target.#name(&ctx #(, _a.#indices)*).await;
                    Ok::<_, String>(#returns::from_contract(result #back))
                }
            }
        })
    }
}

/// `Z_<Method>Args` / `Z_<Method>Returns` (or upstream's own names) as identifiers.
fn wire_idents(rpc: &ProtoRpc) -> (proc_macro2::Ident, proc_macro2::Ident) {
    let (args, returns) = super::wire_names(&rpc.method);
    (format_ident!("{}", args), format_ident!("{}", returns))
}

/// The trait method's argument names, in contract order.
fn arg_idents(rpc: &ProtoRpc) -> Vec<proc_macro2::Ident> {
    rpc.args
        .iter()
        .map(|f| crate::emit::rust::prost_field_ident(&f.name))
        .collect()
}

/// A trait method calling `Plugin.X` through the caller.
fn call(rpc: &ProtoRpc, param_types: &[TokenStream], ret: &TokenStream) -> TokenStream {
    let go = &rpc.method.name;
    let path = format!("Plugin.{go}");
    let (args, returns) = wire_idents(rpc);
    let name = method_ident(rpc);
    let ids = arg_idents(rpc);
    let (to_trait, _) = result_shape(rpc);
    // Arguments carried as another library's JSON are checked first: a malformed one is the
    // caller's 400, not a zero value sent to the server.
    let checks: Vec<TokenStream> = rpc
        .args
        .iter()
        .zip(&ids)
        .filter_map(|(f, id)| {
            let param = f.go_position.and_then(|p| rpc.method.params.get(p))?;
            let (ty, optional) = match &param.ty {
                TypeRef::Pointer(inner) => (&**inner, true),
                ty => (ty, false),
            };
            let TypeRef::External { path, name, .. } = ty else {
                return None;
            };
            let rust = super::opaque_gob(path, name)?;
            let arg = &f.name;
            Some(if optional {
                quote!(if let Some(json) = &#id { crate::externals::check_json::<crate::externals::#rust>(#go, #arg, json)?; })
            } else {
                quote!(crate::externals::check_json::<crate::externals::#rust>(#go, #arg, &#id)?;)
            })
        })
        .collect();
    let (check, checked) = if checks.is_empty() {
        (quote!(), quote!())
    } else {
        (
            quote!(let checked = (|| -> Result<(), ApiError> { #(#checks)* Ok(()) })();),
            quote!(checked?;),
        )
    };
    quote! {
        fn #name(&self, ctx: &CallContext #(, #ids: #param_types)*) -> impl ::std::future::Future<Output = Result<#ret, ApiError>> + Send {
            let _ = ctx;
            let caller = self.caller.clone();
            #check
            let args = #args::from_contract((#(#ids,)*));
            async move {
                #checked
                let returns: #returns = call(&caller, #go, #path, args).await?;
                returns.into_contract() #to_trait
            }
        }
    }
}

fn signature(rpc: &ProtoRpc) -> (Vec<TokenStream>, TokenStream) {
    let params: Vec<TokenStream> = rpc
        .args
        .iter()
        .map(|f| crate::emit::rust::prost_field_type(&f.ty))
        .collect();
    let results: Vec<TokenStream> = rpc
        .results
        .iter()
        .map(|f| crate::emit::rust::prost_field_type(&f.ty))
        .collect();
    let ret = match results.as_slice() {
        [] => quote!(()),
        [one] => one.clone(),
        many => quote!((#(#many),*)),
    };
    (params, ret)
}

/// `netrpc.rs`.
pub fn netrpc_rs(
    api: &[&ProtoRpc],
    streamed_api: &[&ProtoRpc],
    hooks: &[&ProtoRpc],
    http_stream_hooks: &[&str],
    file_upload_stream_hooks: &[&str],
) -> Result<TokenStream, String> {
    let hook_registrations = hooks.iter().map(|r| registration(r));
    let api_registrations = api.iter().map(|r| registration(r));
    let api_calls = api.iter().map(|r| {
        let (params, ret) = signature(r);
        call(r, &params, &ret)
    });
    let streamed_calls = streamed_api
        .iter()
        .map(|r| {
            let (params, ret) = signature(r);
            streamed_call(r, &params, &ret)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let streamed_names = streamed_api.iter().map(|r| r.method.name.as_str());
    let hook_calls = hooks.iter().map(|r| {
        let (params, ret) = signature(r);
        call(r, &params, &ret)
    });
    let hook_names = hooks.iter().map(|r| r.method.name.as_str());
    let api_names = api.iter().map(|r| r.method.name.as_str());
    Ok(quote! {
        //! go-plugin net/rpc for the contract's traits, method by method.
        #![allow(unused_parens, clippy::all, clippy::pedantic)]

        use std::sync::Arc;

        use mattermost_plugin_api::{ApiError, BoxStream, ByteStream, CallContext, PluginApi, PluginHooks, pb};

        use crate::netrpc_base::{Caller, PluginHttpFrames, Registry, call, call_with_stream};
        use crate::wire::*;

        /// The hooks [`register_hooks`] serves (the others travel by special case).
        pub const HOOKS: &[&str] = &[#(#hook_names),*];
        /// The hooks carried as streamed HTTP exchanges (`Special::HttpStream`): upstream writes
        /// their net/rpc form by hand, with the response writer and the request body on broker
        /// streams.
        pub const HTTP_STREAM_HOOKS: &[&str] = &[#(#http_stream_hooks),*];
        /// The hooks carried as streamed file uploads (`Special::FileUploadStream`): upstream
        /// writes their net/rpc form by hand, with the uploaded file and its replacement on
        /// broker streams.
        pub const FILE_UPLOAD_STREAM_HOOKS: &[&str] = &[#(#file_upload_stream_hooks),*];
        /// The API methods [`NetRpcApi`] calls over net/rpc and [`register_api`] serves (the
        /// others travel by special case).
        pub const API_METHODS: &[&str] = &[#(#api_names),*];
        /// The API methods [`NetRpcApi`] carries with the transport's stream capabilities: an
        /// `io.Reader` served on a broker stream (`Special::ReaderUpload`), or plugin-to-plugin
        /// HTTP (`Special::PluginHttp`). [`register_api`] does not serve them.
        pub const STREAMED_API_METHODS: &[&str] = &[#(#streamed_names),*];

        /// Serves `Plugin.<Hook>` for every hook in [`HOOKS`] from `target` (a plugin's hooks,
        /// reached over the contract).
        pub fn register_hooks<S: Registry, T: PluginHooks>(service: S, target: Arc<T>) -> S {
            let ctx = CallContext::default();
            service #(#hook_registrations)*
        }

        /// Serves `Plugin.<Method>` for every method in [`API_METHODS`] from `target`, calling
        /// as `ctx` (the plugin the stream belongs to): the server's side of the API stream, for
        /// tests and fakes.
        pub fn register_api<S: Registry, T: PluginApi>(service: S, target: Arc<T>, ctx: CallContext) -> S {
            service #(#api_registrations)*
        }

        /// A [`PluginApi`] whose methods call the server over net/rpc. Methods outside
        /// [`API_METHODS`] and [`STREAMED_API_METHODS`] answer 501 until their special case is
        /// wired.
        #[derive(Clone)]
        pub struct NetRpcApi<C> {
            caller: C,
        }

        impl<C: Caller> NetRpcApi<C> {
            pub fn new(caller: C) -> Self {
                NetRpcApi { caller }
            }
        }

        impl<C: Caller> PluginApi for NetRpcApi<C> {
            #(#api_calls)*
            #(#streamed_calls)*
        }

        /// A [`PluginHooks`] whose hooks call a net/rpc plugin: the server's side, for tests.
        #[derive(Clone)]
        pub struct NetRpcHooks<C> {
            caller: C,
        }

        impl<C: Caller> NetRpcHooks<C> {
            pub fn new(caller: C) -> Self {
                NetRpcHooks { caller }
            }
        }

        impl<C: Caller> PluginHooks for NetRpcHooks<C> {
            #(#hook_calls)*
        }
    })
}
