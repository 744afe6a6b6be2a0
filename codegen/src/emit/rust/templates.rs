//! quote! templates for the generated crate's hand-shaped modules.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::types::{field_ident, field_type, message_ident, method_ident, sample};
use crate::emit::EmitError;
use crate::emit::proto::{ErrorField, FieldType, ProtoFile, RpcShape};
use crate::ir::{HookDefault, Ir, Method, ServiceKind};

/// One method with everything the templates need.
struct M<'a> {
    ir: &'a Method,
    go: String,
    rust: Ident,
    /// tonic-build's name for the rpc (heck's snake case, which splits initialisms).
    tonic: Ident,
    req: Ident,
    resp: Ident,
    /// Argument fields of the request as (ident, type); never the upload's chunk field.
    args: Vec<(Ident, TokenStream)>,
    /// Response fields that are results, as (ident, type).
    results: Vec<(Ident, TokenStream)>,
    /// The arguments' and results' contract types, for sample values.
    arg_types: Vec<FieldType>,
    result_types: Vec<FieldType>,
    /// The response's error field, if any.
    error_field: Option<Ident>,
    error: ErrorField,
    /// The contract's shape; `shape` is what this emitter makes of it.
    contract_shape: RpcShape,
    shape: Shape,
    docs: Vec<String>,
}

#[derive(Clone, PartialEq, Eq)]
enum Shape {
    Unary,
    /// Frames in, frames out (HTTP, file upload).
    Bidi,
    /// Arguments in the first frame, then chunks of one byte stream: the request's chunk field
    /// and the byte-stream parameter's name.
    Upload {
        chunk: Ident,
        param: Ident,
    },
}

pub struct Generator<'a> {
    ir: &'a Ir,
    api: Vec<M<'a>>,
    hooks: Vec<M<'a>>,
}

fn fail(msg: String) -> EmitError {
    EmitError {
        messages: vec![format!("rust emitter: {msg}")],
    }
}

fn pretty(tokens: TokenStream) -> Result<String, EmitError> {
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| fail(format!("generated code does not parse: {e}")))?;
    Ok(prettyplease::unparse(&file))
}

impl<'a> Generator<'a> {
    pub fn new(ir: &'a Ir, schema: &'a [ProtoFile]) -> Result<Self, EmitError> {
        let mut api = Vec::new();
        let mut hooks = Vec::new();
        for service in [ServiceKind::Api, ServiceKind::Hooks] {
            let rpcs = crate::emit::proto::rpcs(schema, service).ok_or_else(|| {
                fail(format!("the contract has no {} service", service.go_name()))
            })?;
            for rpc in rpcs {
                let m = &rpc.method;
                let shape = match &rpc.shape {
                    RpcShape::Unary | RpcShape::ConfigurationJson { .. } => Shape::Unary,
                    RpcShape::ServeHttp | RpcShape::PluginHttp | RpcShape::FileUpload => {
                        Shape::Bidi
                    }
                    RpcShape::Upload { chunk_field, param } => Shape::Upload {
                        chunk: field_ident(chunk_field),
                        param: field_ident(param),
                    },
                };
                let mut docs = vec![format!(" Go: `{}`", m.go_signature())];
                if service == ServiceKind::Hooks && !m.protocol {
                    // A hook's facts (version, ID, default, error, arguments), as in Python.
                    let doc = crate::emit::hook_doc::HookDoc::new(rpc);
                    docs.push(String::new());
                    docs.extend(doc.facts.iter().map(|fact| format!(" - {fact}")));
                } else if let Some(v) = &m.min_server_version {
                    docs.push(format!(" Minimum server version: {v}."));
                }
                let entry = M {
                    ir: m,
                    go: m.name.clone(),
                    rust: method_ident(&m.name),
                    tonic: format_ident!("{}", heck::AsSnakeCase(&m.name).to_string()),
                    req: message_ident(&rpc.request),
                    resp: message_ident(&rpc.response),
                    args: rpc
                        .args
                        .iter()
                        .map(|f| (field_ident(&f.name), field_type(&f.ty)))
                        .collect(),
                    results: rpc
                        .results
                        .iter()
                        .map(|f| (field_ident(&f.name), field_type(&f.ty)))
                        .collect(),
                    arg_types: rpc.args.iter().map(|f| f.ty.clone()).collect(),
                    result_types: rpc.results.iter().map(|f| f.ty.clone()).collect(),
                    error_field: rpc.error.field_name().map(field_ident),
                    error: rpc.error,
                    contract_shape: rpc.shape.clone(),
                    shape,
                    docs,
                };
                match service {
                    ServiceKind::Api => api.push(entry),
                    ServiceKind::Hooks => hooks.push(entry),
                }
            }
        }
        Ok(Generator { ir, api, hooks })
    }

    pub fn lib_rs(&self, hash: &str) -> Result<String, EmitError> {
        let version = &self.ir.source.version;
        let api_count = self.api.len();
        let hook_names: Vec<&str> = self
            .hooks
            .iter()
            .filter(|h| !h.ir.protocol)
            .map(|h| h.go.as_str())
            .collect();
        let hook_ids: Vec<u32> = self
            .hooks
            .iter()
            .filter(|h| !h.ir.protocol)
            .map(|h| h.ir.hook_id.unwrap_or(u32::MAX))
            .collect();
        let tokens = quote! {
            //! Typed access to Mattermost's plugin API and hooks over gRPC.
            //!
            //! - [`api::PluginApi`] and [`hooks::PluginHooks`]: one async method per Go method and hook;
            //! - [`api::PluginApiServer`] / [`hooks::PluginHooksServer`]: serve a trait implementation;
            //! - [`api::PluginApiClient`] / [`hooks::PluginHooksClient`]: call a remote one through the
            //!   same trait;
            //! - [`pb`]: the prost messages and tonic stubs of the contract;
            //! - [`protocol`]: what a plugin and its host agree on besides the contract (handshake,
            //!   environment variables, metadata keys, chunk size).
            //!
            //! `support`, `api_adapters`, `hooks_adapters` and `roundtrip_harness` are hand-written (copied from the
            //! generator's `templates/rust/`) and linted as such; the generated modules are not.

            #[allow(missing_docs, clippy::all, clippy::pedantic, rustdoc::all)]
            pub mod pb;
            #[allow(clippy::all, clippy::pedantic)]
            pub mod api;
            mod api_adapters;
            #[allow(clippy::all, clippy::pedantic)]
            pub mod enums;
            #[allow(clippy::all, clippy::pedantic)]
            pub mod hooks;
            mod hooks_adapters;
            #[allow(clippy::all, clippy::pedantic)]
            pub mod protocol;
            pub mod support;
            #[cfg(test)]
            mod roundtrip_harness;
            #[cfg(test)]
            #[allow(clippy::all, clippy::pedantic)]
            mod roundtrip_tests;

            pub use api::{PluginApi, PluginApiClient, PluginApiServer};
            pub use hooks::{Forwarding, HookObserver, HooksSource, PluginHooks, PluginHooksClient, PluginHooksServer};
            pub use support::{ApiError, BoxStream, ByteStream, CallContext};

            /// Fingerprint of the proto contract this crate was generated from.
            pub const CONTRACT_HASH: &str = #hash;
            /// The `server/public` version the contract was generated from.
            pub const MATTERMOST_VERSION: &str = #version;
            /// Number of `plugin.API` methods.
            pub const API_METHOD_COUNT: usize = #api_count;
            /// Every hook (without `Implemented`) with its wire ID.
            pub const HOOKS: &[(&str, u32)] = &[#((#hook_names, #hook_ids)),*];
        };
        pretty(tokens)
    }

    fn return_type(m: &M) -> TokenStream {
        match &m.shape {
            Shape::Bidi => {
                let resp = &m.resp;
                quote!(crate::support::BoxStream<Result<pb::#resp, ApiError>>)
            }
            _ => match m.results.as_slice() {
                [] => quote!(()),
                [(_, t)] => t.clone(),
                many => {
                    let ts = many.iter().map(|(_, t)| t);
                    quote!((#(#ts),*))
                }
            },
        }
    }

    /// A sample of a unary method's return value.
    fn result_sample(m: &M) -> TokenStream {
        match m.result_types.as_slice() {
            [] => quote!(()),
            [one] => sample(one),
            many => {
                let values = many.iter().map(sample);
                quote!((#(#values),*))
            }
        }
    }

    /// The trait method's parameters after `ctx`.
    fn params(m: &M) -> Vec<(Ident, TokenStream)> {
        match &m.shape {
            Shape::Unary => m.args.clone(),
            Shape::Bidi => {
                let req = &m.req;
                vec![(
                    format_ident!("frames"),
                    quote!(crate::support::BoxStream<Result<pb::#req, ApiError>>),
                )]
            }
            Shape::Upload { param, .. } => {
                let mut params = m.args.clone();
                params.push((param.clone(), quote!(crate::support::ByteStream)));
                params
            }
        }
    }

    fn trait_method(m: &M, body: TokenStream) -> TokenStream {
        let name = &m.rust;
        let ret = Self::return_type(m);
        let params = Self::params(m);
        let (ids, tys): (Vec<_>, Vec<_>) = params.into_iter().unzip();
        let docs = &m.docs;
        quote! {
            #(#[doc = #docs])*
            fn #name(&self, ctx: &CallContext #(, #ids: #tys)*) -> impl std::future::Future<Output = Result<#ret, ApiError>> + Send {
                #body
            }
        }
    }

    /// `Ok(result) => Response { field: result, .. }` for the server adapters.
    fn ok_response(m: &M) -> (TokenStream, TokenStream) {
        let resp = &m.resp;
        let ids: Vec<&Ident> = m.results.iter().map(|(i, _)| i).collect();
        match ids.as_slice() {
            [] => (quote!(()), quote!(pb::#resp::default())),
            [one] => (
                quote!(value),
                quote!(pb::#resp { #one: value, ..Default::default() }),
            ),
            many => {
                let vars: Vec<Ident> = (0..many.len()).map(|i| format_ident!("v{}", i)).collect();
                (
                    quote!((#(#vars),*)),
                    quote!(pb::#resp { #(#many: #vars,)* ..Default::default() }),
                )
            }
        }
    }

    fn err_response(m: &M) -> TokenStream {
        let resp = &m.resp;
        let go = &m.go;
        match (&m.error_field, m.error) {
            (Some(f), ErrorField::AppError) => quote! {
                Err(ApiError::Transport { status, .. }) => Err(status),
                Err(e) => Ok(tonic::Response::new(pb::#resp { #f: Some(e.into_app_error(#go)), ..Default::default() })),
            },
            // A Go `error` or no error at all has no room for a 501: the status says it, and
            // the clients turn it back into the same not-implemented error.
            (Some(f), _) => quote! {
                Err(ApiError::Transport { status, .. }) => Err(status),
                Err(e) if e.is_not_implemented() => Err(tonic::Status::unimplemented(e.into_app_error(#go).message)),
                Err(e) => Ok(tonic::Response::new(pb::#resp { #f: Some(e.into_error()), ..Default::default() })),
            },
            (None, _) => quote! {
                Err(e) if e.is_not_implemented() => Err(tonic::Status::unimplemented(e.into_app_error(#go).message)),
                Err(e) => Err(e.into_status()),
            },
        }
    }

    /// A server adapter method: transport request → trait call → transport response.
    fn server_method(m: &M, tonic_trait: &TokenStream) -> TokenStream {
        let _ = tonic_trait;
        let name = &m.rust;
        let tonic_name = &m.tonic;
        let req = &m.req;
        let resp = &m.resp;
        let go = &m.go;
        match &m.shape {
            Shape::Unary => {
                let ids: Vec<&Ident> = m.args.iter().map(|(i, _)| i).collect();
                let (ok_pat, ok_value) = Self::ok_response(m);
                let err = Self::err_response(m);
                quote! {
                    async fn #tonic_name(&self, request: tonic::Request<pb::#req>) -> Result<tonic::Response<pb::#resp>, tonic::Status> {
                        let (metadata, _, message) = request.into_parts();
                        let ctx = CallContext::from_owned_metadata(metadata);
                        let pb::#req { #(#ids),* } = message;
                        match self.inner.#name(&ctx #(, #ids)*).await {
                            Ok(#ok_pat) => Ok(tonic::Response::new(#ok_value)),
                            #err
                        }
                    }
                }
            }
            Shape::Bidi => {
                let stream_ty = format_ident!("{}Stream", m.go);
                quote! {
                    type #stream_ty = crate::support::BoxStream<Result<pb::#resp, tonic::Status>>;

                    async fn #tonic_name(&self, request: tonic::Request<tonic::Streaming<pb::#req>>) -> Result<tonic::Response<Self::#stream_ty>, tonic::Status> {
                        let (metadata, _, message) = request.into_parts();
                        let ctx = CallContext::from_owned_metadata(metadata);
                        let frames = crate::support::from_transport(#go, message);
                        match self.inner.#name(&ctx, frames).await {
                            Ok(out) => Ok(tonic::Response::new(crate::support::to_transport(out))),
                            Err(e) => Err(e.into_status()),
                        }
                    }
                }
            }
            Shape::Upload { chunk, .. } => {
                let mut ids: Vec<&Ident> = m.args.iter().map(|(i, _)| i).collect();
                ids.push(chunk);
                let call_args: Vec<Ident> = ids
                    .iter()
                    .map(|i| {
                        if *i == chunk {
                            format_ident!("data")
                        } else {
                            (*i).clone()
                        }
                    })
                    .collect();
                let (ok_pat, ok_value) = Self::ok_response(m);
                let err = Self::err_response(m);
                quote! {
                    async fn #tonic_name(&self, request: tonic::Request<tonic::Streaming<pb::#req>>) -> Result<tonic::Response<pb::#resp>, tonic::Status> {
                        let (metadata, _, message) = request.into_parts();
                        let ctx = CallContext::from_owned_metadata(metadata);
                        let mut frames = message;
                        let first = frames.message().await?.unwrap_or_default();
                        let pb::#req { #(#ids),* } = first;
                        let head = futures_util::stream::iter((!#chunk.is_empty()).then(|| Ok(#chunk)));
                        let rest = frames.map(|frame| frame.map(|f| f.#chunk).map_err(|status| ApiError::transport(#go, status)));
                        let data: crate::support::ByteStream = Box::pin(head.chain(rest));
                        match self.inner.#name(&ctx #(, #call_args)*).await {
                            Ok(#ok_pat) => Ok(tonic::Response::new(#ok_value)),
                            #err
                        }
                    }
                }
            }
        }
    }

    /// Client-side result extraction from a response.
    fn client_result(m: &M) -> TokenStream {
        let check = match (&m.error_field, m.error) {
            (Some(f), ErrorField::AppError) => {
                quote!(if let Some(e) = response.#f { return Err(ApiError::App(e)); })
            }
            (Some(f), ErrorField::GoError) => {
                quote!(if let Some(e) = response.#f { return Err(ApiError::Error(e)); })
            }
            _ => quote!(),
        };
        let ids: Vec<&Ident> = m.results.iter().map(|(i, _)| i).collect();
        let value = match ids.as_slice() {
            [] => quote!(()),
            [one] => quote!(response.#one),
            many => quote!((#(response.#many),*)),
        };
        if ids.is_empty() && m.error_field.is_none() {
            quote! { let _ = response; Ok(()) }
        } else {
            quote! { #check Ok(#value) }
        }
    }

    /// A client adapter method body (inside the trait method).
    fn client_body(m: &M, client: &TokenStream) -> TokenStream {
        let tonic_name = &m.tonic;
        let req = &m.req;
        let go = &m.go;
        match &m.shape {
            Shape::Unary => {
                let ids: Vec<&Ident> = m.args.iter().map(|(i, _)| i).collect();
                let result = Self::client_result(m);
                quote! {
                    let mut client = #client;
                    let request = crate::support::request_with(pb::#req { #(#ids),* }, &self.metadata, ctx);
                    async move {
                        let response = client.#tonic_name(request).await.map_err(|status| ApiError::from_api_status(#go, status))?.into_inner();
                        #result
                    }
                }
            }
            Shape::Bidi => quote! {
                let mut client = #client;
                let request = crate::support::request_with(crate::support::ok_items(frames), &self.metadata, ctx);
                async move {
                    let response = client.#tonic_name(request).await.map_err(|status| ApiError::from_api_status(#go, status))?.into_inner();
                    Ok(crate::support::from_transport(#go, response))
                }
            },
            Shape::Upload { chunk, param: data } => {
                let others: Vec<&Ident> = m.args.iter().map(|(i, _)| i).collect();
                let result = Self::client_result(m);
                quote! {
                    let mut client = #client;
                    let first = pb::#req { #(#others,)* ..Default::default() };
                    let frames = futures_util::stream::iter([first]).chain(
                        crate::support::ok_items(#data).map(|chunk| pb::#req { #chunk: chunk, ..Default::default() }),
                    );
                    let request = crate::support::request_with(frames, &self.metadata, ctx);
                    async move {
                        let response = client.#tonic_name(request).await.map_err(|status| ApiError::from_api_status(#go, status))?.into_inner();
                        #result
                    }
                }
            }
        }
    }

    pub fn api_rs(&self) -> Result<String, EmitError> {
        let methods = self.api.iter().map(|m| {
            let go = &m.go;
            let names: Vec<Ident> = Self::params(m).into_iter().map(|(i, _)| i).collect();
            Self::trait_method(
                m,
                quote! {
                    let _ = (ctx, #(#names,)*);
                    std::future::ready(Err(ApiError::not_implemented(#go)))
                },
            )
        });
        let server = self.api.iter().map(|m| Self::server_method(m, &quote!()));
        let client = self
            .api
            .iter()
            .map(|m| Self::client_body(m, &quote!(self.inner.clone())))
            .zip(&self.api)
            .map(|(body, m)| Self::trait_method(m, body));
        let names = self.api.iter().map(|m| &m.go);
        let streaming = self
            .api
            .iter()
            .filter(|m| !matches!(m.shape, Shape::Unary))
            .map(|m| &m.go);
        pretty(quote! {
            //! The server's API as called by a plugin (Go: `plugin.API`).

            use futures_util::StreamExt;

            use crate::pb;
            use crate::support::{ApiError, CallContext};
            pub use crate::api_adapters::{PluginApiClient, PluginApiServer};

            /// The gRPC method names of the `PluginAPI` service (the Go method names), in
            /// contract order.
            pub const API_METHODS: &[&str] = &[#(#names),*];

            /// The methods of [`API_METHODS`] whose requests or responses are streams of frames
            /// (uploads, plugin-to-plugin HTTP): a proxy must pass them through unbuffered.
            pub const STREAMING_API_METHODS: &[&str] = &[#(#streaming),*];

            /// One method per `plugin.API` method. Every method has a default that answers 501 Not
            /// Implemented naming the method, so an implementation provides what it supports.
            pub trait PluginApi: Send + Sync + 'static {
                #(#methods)*
            }

            #[tonic::async_trait]
            impl<T: PluginApi> pb::plugin_api_server::PluginApi for PluginApiServer<T> {
                #(#server)*
            }

            impl PluginApi for PluginApiClient {
                #(#client)*
            }
        })
    }

    fn default_hook_body(m: &M) -> TokenStream {
        let names: Vec<Ident> = Self::params(m).into_iter().map(|(i, _)| i).collect();
        let name = &m.rust;
        let call = match (m.ir.hook_default, &m.shape) {
            (Some(HookDefault::NotFound | HookDefault::ReturnParam(_)), Shape::Bidi) => {
                quote!(defaults::#name(frames))
            }
            (Some(HookDefault::ReturnParam(p)), _) => {
                let arg = names
                    .get(p)
                    .cloned()
                    .unwrap_or_else(|| format_ident!("missing"));
                quote!(defaults::#name(#arg))
            }
            _ => quote!(defaults::#name()),
        };
        quote! {
            let _ = (ctx, #(&#names,)*);
            #call
        }
    }

    fn default_fn(m: &M) -> Result<TokenStream, EmitError> {
        let name = &m.rust;
        let ret = Self::return_type(m);
        let resp = &m.resp;
        let doc = format!(
            " What the server does when a plugin does not implement {}.",
            m.go
        );
        Ok(match (m.ir.hook_default, &m.shape) {
            (Some(HookDefault::NotFound), Shape::Bidi) => quote! {
                #[doc = #doc]
                pub fn #name<F: Send + 'static>(frames: crate::support::BoxStream<F>) -> impl std::future::Future<Output = Result<#ret, ApiError>> + Send {
                    drop(frames);
                    let head = pb::HttpResponseHead {
                        status_code: 404,
                        headers: vec![pb::HttpHeader { name: "Content-Type".into(), values: vec!["text/plain; charset=utf-8".into()] }],
                    };
                    let frame = pb::#resp { head: Some(head), body_chunk: b"404 page not found\n".to_vec(), body_complete: true, ..Default::default() };
                    let out: #ret = Box::pin(futures_util::stream::iter([Ok(frame)]));
                    std::future::ready(Ok(out))
                }
            },
            (Some(HookDefault::ReturnParam(p)), Shape::Bidi) => {
                // The first frame carries the arguments; answer with the parameter unchanged.
                let req = &m.req;
                let param = m
                    .ir
                    .params
                    .get(p)
                    .and_then(|p| p.name.as_deref())
                    .map(|n| field_ident(&crate::emit::proto::field_name(n)))
                    .ok_or_else(|| fail(format!("{}: default parameter {p} is unnamed", m.go)))?;
                quote! {
                    #[doc = #doc]
                    pub fn #name(mut frames: crate::support::BoxStream<Result<pb::#req, ApiError>>) -> impl std::future::Future<Output = Result<#ret, ApiError>> + Send {
                        async move {
                            let first = frames.next().await.transpose()?.unwrap_or_default();
                            let frame = pb::#resp { replacement: first.#param, complete: true, ..Default::default() };
                            let out: #ret = Box::pin(futures_util::stream::iter([Ok(frame)]));
                            Ok(out)
                        }
                    }
                }
            }
            (Some(HookDefault::ReturnParam(p)), Shape::Unary) => {
                let (_, ty) = m
                    .args
                    .get(p)
                    .ok_or_else(|| fail(format!("{}: default parameter {p} missing", m.go)))?;
                let value = if m.results.len() > 1 {
                    let rest = (1..m.results.len()).map(|_| quote!(Default::default()));
                    quote!((value #(, #rest)*))
                } else {
                    quote!(value)
                };
                quote! {
                    #[doc = #doc]
                    pub fn #name(value: #ty) -> impl std::future::Future<Output = Result<#ret, ApiError>> + Send {
                        std::future::ready(Ok(#value))
                    }
                }
            }
            (Some(HookDefault::NotFound), _) => {
                return Err(fail(format!(
                    "{}: a 404 default needs an HTTP stream",
                    m.go
                )));
            }
            (_, Shape::Bidi) => {
                return Err(fail(format!(
                    "{}: a streaming hook needs an explicit default",
                    m.go
                )));
            }
            _ => quote! {
                #[doc = #doc]
                pub fn #name() -> impl std::future::Future<Output = Result<#ret, ApiError>> + Send {
                    std::future::ready(Ok(Default::default()))
                }
            },
        })
    }

    /// The hooks client's body: skip what the plugin lacks, bound unary hooks by a timeout.
    fn hooks_client_body(m: &M) -> TokenStream {
        if m.ir.protocol {
            return Self::client_body(m, &quote!(self.inner.clone()));
        }
        let go = &m.go;
        let name = &m.rust;
        let tonic_name = &m.tonic;
        let req = &m.req;
        let params: Vec<Ident> = Self::params(m).into_iter().map(|(i, _)| i).collect();
        match &m.shape {
            Shape::Bidi => quote! {
                let this = self.clone();
                let ctx = ctx.clone();
                async move {
                    if !this.is_implemented(#go).await? {
                        return defaults::#name(frames).await;
                    }
                    let mut client = this.inner.clone();
                    let request = crate::support::request_with(crate::support::ok_items(frames), &this.metadata, &ctx);
                    let response = client.#tonic_name(request).await.map_err(|status| ApiError::transport(#go, status))?.into_inner();
                    Ok(crate::support::from_transport(#go, response))
                }
            },
            _ => {
                let (prepare, fallback) = match m.ir.hook_default {
                    Some(HookDefault::ReturnParam(p)) => {
                        let arg = params
                            .get(p)
                            .cloned()
                            .unwrap_or_else(|| format_ident!("missing"));
                        (
                            quote!(let fallback_value = #arg.clone();),
                            quote!(defaults::#name(fallback_value.clone())),
                        )
                    }
                    _ => (quote!(), quote!(defaults::#name())),
                };
                let result = Self::client_result(m);
                quote! {
                    let this = self.clone();
                    #prepare
                    let limit = self.timeout_for(#go);
                    let mut request = crate::support::request_with(pb::#req { #(#params),* }, &self.metadata, ctx);
                    // The plugin learns the deadline too (grpc-timeout), so it can say which
                    // handler overran it.
                    request.set_timeout(limit);
                    let plugin_id = ctx.plugin_id.clone();
                    async move {
                        if !this.is_implemented(#go).await? {
                            return #fallback.await;
                        }
                        let mut client = this.inner.clone();
                        let started = tokio::time::Instant::now();
                        match tokio::time::timeout(limit, client.#tonic_name(request)).await {
                            Err(_elapsed) => {
                                this.report_timeout(&plugin_id, #go, limit);
                                #fallback.await
                            }
                            // The deadline travels with the call, so the plugin or tonic's own
                            // timer may end it a moment before ours does.
                            Ok(Err(status)) if crate::support::deadline_passed(&status, started, limit) => {
                                this.report_timeout(&plugin_id, #go, limit);
                                #fallback.await
                            }
                            Ok(outcome) => {
                                this.report_answer(#go);
                                let response = outcome.map_err(|status| ApiError::transport(#go, status))?.into_inner();
                                #result
                            }
                        }
                    }
                }
            }
        }
    }

    pub fn hooks_rs(&self) -> Result<String, EmitError> {
        let mut methods = Vec::new();
        let mut defaults = Vec::new();
        for m in &self.hooks {
            if m.ir.protocol {
                methods.push(Self::trait_method(
                    m,
                    quote! {
                        let _ = ctx;
                        std::future::ready(Ok(Vec::new()))
                    },
                ));
            } else {
                methods.push(Self::trait_method(m, Self::default_hook_body(m)));
                defaults.push(Self::default_fn(m)?);
            }
        }
        let server = self.hooks.iter().map(|m| Self::server_method(m, &quote!()));
        let client = self
            .hooks
            .iter()
            .map(|m| Self::trait_method(m, Self::hooks_client_body(m)));
        let forwarding = self.hooks.iter().map(|m| {
            let name = &m.rust;
            let ids: Vec<Ident> = Self::params(m).into_iter().map(|(i, _)| i).collect();
            Self::trait_method(
                m,
                quote!(async move { self.0.hooks().await?.#name(ctx #(, #ids)*).await }),
            )
        });
        pretty(quote! {
            //! The plugin's hooks as called by the server (Go: `plugin.Hooks`).

            #[allow(unused_imports)]
            use futures_util::StreamExt;

            use crate::pb;
            use crate::support::{ApiError, CallContext};
            pub use crate::hooks_adapters::{HookObserver, PluginHooksClient, PluginHooksServer};

            /// One method per hook. Each default does what the server does for a plugin that does
            /// not implement the hook; `implemented` must list the hooks a plugin overrides.
            pub trait PluginHooks: Send + Sync + 'static {
                #(#methods)*
            }

            /// Go's behaviour for hooks a plugin does not implement.
            pub mod defaults {
                #![allow(unused_imports)]
                use futures_util::StreamExt;

                use crate::pb;
                use crate::support::ApiError;

                #(#defaults)*
            }

            #[tonic::async_trait]
            impl<T: PluginHooks> pb::plugin_hooks_server::PluginHooks for PluginHooksServer<T> {
                #(#server)*
            }

            impl PluginHooks for PluginHooksClient {
                #(#client)*
            }

            /// Where [`Forwarding`] finds the implementation of each call: one resolved per call,
            /// such as a plugin process that is started after the hooks are first asked for.
            pub trait HooksSource: Send + Sync + 'static {
                type Hooks: PluginHooks;
                /// The implementation to call now; its error is the hook's.
                fn hooks(&self) -> impl std::future::Future<Output = Result<std::sync::Arc<Self::Hooks>, ApiError>> + Send;
            }

            /// [`PluginHooks`] that forwards every hook to its source's implementation.
            pub struct Forwarding<S>(pub S);

            impl<S: HooksSource> PluginHooks for Forwarding<S> {
                #(#forwarding)*
            }
        })
    }

    /// A generated round-trip test: every unary and upload method of `PluginApi` through client →
    /// server → a recording fake, both for success and for the method's error.
    pub fn roundtrip_rs(&self) -> Result<String, EmitError> {
        let fake_methods = self.api.iter().filter(|m| m.shape != Shape::Bidi).map(|m| {
            let go = &m.go;
            let params = Self::params(m);
            let names: Vec<&Ident> = params.iter().map(|(i, _)| i).collect();
            let record = if let Shape::Upload { param: data, .. } = &m.shape {
                let others: Vec<&Ident> = m.args.iter().map(|(i, _)| i).collect();
                quote! {
                    let collected: Vec<Vec<u8>> = #data.map(|c| c.expect("chunk")).collect().await;
                    let recorded = format!("{:?}", (#(&#others,)* collected.concat()));
                }
            } else {
                quote!(let recorded = format!("{:?}", (#(&#names,)*));)
            };
            let value = Self::result_sample(m);
            let error = match m.error {
                ErrorField::AppError => quote!(sample_app_error(#go)),
                ErrorField::GoError => quote!(ApiError::Error(pb::Error {
                    code: 2,
                    message: format!("{} failed", #go)
                })),
                ErrorField::None => quote!(ApiError::app(418, "teapot", #go)),
            };
            let body = quote! {
                let fail = self.fail;
                let calls = self.calls.clone();
                async move {
                    #record
                    calls.lock().unwrap().push((#go.to_string(), recorded));
                    if fail { Err(#error) } else { Ok(#value) }
                }
            };
            Self::trait_method(m, body)
        });
        let checks = self.api.iter().filter(|m| m.shape != Shape::Bidi).map(|m| {
            let name = &m.rust;
            let go = &m.go;
            let values: Vec<TokenStream> = m.arg_types.iter().map(sample).collect();
            let mut args = values.clone();
            let expected_record = if matches!(m.shape, Shape::Upload { .. }) {
                args.push(quote!(Box::pin(futures_util::stream::iter([Ok(b"chunk-one".to_vec()), Ok(b"chunk-two".to_vec())]))));
                quote!(format!("{:?}", (#(&#values,)* b"chunk-onechunk-two".to_vec())))
            } else {
                quote!(format!("{:?}", (#(&#values,)*)))
            };
            let args2 = args.clone();
            let expected = Self::result_sample(m);
            let error_check = match m.error {
                ErrorField::AppError => quote! {
                    match err { ApiError::App(e) => assert_eq!(e, sample_app_error_value(#go), "{}", #go), other => panic!("{}: {other:?}", #go) }
                },
                ErrorField::GoError => quote! {
                    match err { ApiError::Error(e) => assert_eq!((e.code, e.message), (2, format!("{} failed", #go))), other => panic!("{}: {other:?}", #go) }
                },
                ErrorField::None => quote! {
                    assert!(matches!(err, ApiError::Transport { .. }), "{}: {err:?}", #go);
                },
            };
            // Each check is boxed: one async block holding every call would overflow the stack.
            quote! {
                count += Box::pin(async {
                    let got = ok.#name(&ctx #(, #args)*).await.unwrap_or_else(|e| panic!("{}: {e}", #go));
                    assert_eq!(got, #expected, "{} result", #go);
                    let (method, recorded) = ok_calls.lock().unwrap().pop().expect("recorded");
                    assert_eq!(method, #go);
                    assert_eq!(recorded, #expected_record, "{} arguments", #go);
                    let err = failing.#name(&ctx #(, #args2)*).await.expect_err(#go);
                    #error_check
                    1usize
                })
                .await;
            }
        });
        // Plugin-to-plugin HTTP: the fake echoes each request frame back as a response frame.
        let http_methods: Vec<&M> = self
            .api
            .iter()
            .filter(|m| m.contract_shape == RpcShape::PluginHttp)
            .collect();
        let http_fakes = http_methods.iter().map(|m| {
            let resp = &m.resp;
            let go = &m.go;
            Self::trait_method(m, quote! {
                let fail = self.fail;
                let calls = self.calls.clone();
                async move {
                    calls.lock().unwrap().push((#go.to_string(), String::new()));
                    if fail {
                        return Err(ApiError::app(418, "teapot", #go));
                    }
                    let echoed = frames.map(|frame| {
                        frame.map(|f| pb::#resp {
                            head: f.head.map(|h| pb::HttpResponseHead { status_code: 200, headers: h.headers }),
                            body_chunk: f.body_chunk,
                            body_complete: f.body_complete,
                            ..Default::default()
                        })
                    });
                    let out: crate::support::BoxStream<_> = Box::pin(echoed);
                    Ok(out)
                }
            })
        });
        let http_checks = http_methods.iter().map(|m| {
            let name = &m.rust;
            let req = &m.req;
            let go = &m.go;
            quote! {
                count += Box::pin(async {
                    let frames = || -> crate::support::BoxStream<Result<pb::#req, ApiError>> {
                        Box::pin(futures_util::stream::iter([
                            Ok(pb::#req {
                                head: Some(pb::HttpRequestHead {
                                    method: "POST".into(),
                                    url: "/plugins/other/echo".into(),
                                    headers: vec![pb::HttpHeader { name: "X-Multi".into(), values: vec!["1".into(), "2".into()] }],
                                    ..Default::default()
                                }),
                                ..Default::default()
                            }),
                            Ok(pb::#req { body_chunk: b"ab".to_vec(), ..Default::default() }),
                            Ok(pb::#req { body_chunk: b"cd".to_vec(), ..Default::default() }),
                            Ok(pb::#req { body_complete: true, ..Default::default() }),
                        ]))
                    };
                    let got: Vec<_> = ok.#name(&ctx, frames()).await.expect(#go).collect().await;
                    let got: Vec<_> = got.into_iter().map(|f| f.expect("frame")).collect();
                    let head = got[0].head.clone().expect("head first");
                    assert_eq!(head.status_code, 200);
                    assert_eq!(head.headers[0].values, ["1", "2"]);
                    let body: Vec<u8> = got.iter().flat_map(|f| f.body_chunk.clone()).collect();
                    assert_eq!(body, b"abcd");
                    assert!(got.last().unwrap().body_complete);
                    let err = match failing.#name(&ctx, frames()).await {
                        Err(e) => e,
                        Ok(mut stream) => stream.next().await.expect("an item").expect_err(#go),
                    };
                    assert!(matches!(err, ApiError::Transport { .. }), "{}: {err:?}", #go);
                    1usize
                })
                .await;
            }
        });
        pretty(quote! {
            //! Every `PluginApi` method through `PluginApiClient` → `PluginApiServer` → a recording
            //! fake over a real gRPC connection: arguments and results arrive unchanged, and so do
            //! errors. Plugin-to-plugin HTTP streams through an echoing fake.
            #![allow(clippy::all, unused_imports, unused_variables)]

            use std::collections::HashMap;

            use futures_util::StreamExt;

            use crate::pb;
            use crate::roundtrip_harness::{Fake, sample_app_error, sample_app_error_value, serve};
            use crate::{ApiError, CallContext, PluginApi};

            impl PluginApi for Fake {
                #(#fake_methods)*
                #(#http_fakes)*
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn every_api_method_round_trips() {
                let (ok, ok_calls) = serve(false).await;
                let (failing, _) = serve(true).await;
                let ctx = CallContext::new("roundtrip");
                let mut count = 0usize;
                #(#checks)*
                #(#http_checks)*
                assert!(count > 0);
                println!("{count} methods round-tripped");
            }
        })
    }
}
