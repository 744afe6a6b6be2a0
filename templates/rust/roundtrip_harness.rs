//! The fixed half of the generated round-trip test: a recording fake of `PluginApi` served
//! over a real gRPC connection on loopback. The per-method fake bodies and checks are generated
//! into `roundtrip_tests.rs`.
//!
//! Hand-written: the generator copies this file verbatim from `templates/rust/`.

// See `support.rs`: `ApiError` is large on purpose.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex};

use crate::pb;
use crate::{ApiError, PluginApiClient, PluginApiServer};

/// Every call the fake saw: (Go method name, its arguments as `Debug` text).
pub(crate) type Calls = Arc<Mutex<Vec<(String, String)>>>;

/// Answers every method with a sample value, or with the method's sample error when `fail`.
pub(crate) struct Fake {
    pub(crate) fail: bool,
    pub(crate) calls: Calls,
}

pub(crate) fn sample_app_error_value(method: &str) -> pb::AppError {
    pb::AppError {
        id: format!("{method}.app_error"),
        message: "sample failure".into(),
        detailed_error: "details".into(),
        request_id: "req-1".into(),
        status_code: 404,
        r#where: method.into(),
        skip_translation: true,
        params: Some(crate::support::any::map([(
            "key",
            crate::support::any::string("v"),
        )])),
    }
}

pub(crate) fn sample_app_error(method: &str) -> ApiError {
    ApiError::App(sample_app_error_value(method))
}

/// Serves a fake on a loopback port and returns a client of it, with the fake's call log.
pub(crate) async fn serve(fail: bool) -> (PluginApiClient, Calls) {
    let calls: Calls = Calls::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("the bound address");
    let service = PluginApiServer::new(Fake {
        fail,
        calls: calls.clone(),
    })
    .into_service(64 << 20);
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .expect("the fake server runs");
    });
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("a valid endpoint")
        .connect()
        .await
        .expect("connect to the fake");
    (PluginApiClient::new(channel), calls)
}
