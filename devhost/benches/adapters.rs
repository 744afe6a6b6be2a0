//! `GetUser` through the generated adapters (PluginApiClient → PluginApiServer → trait) beside a raw
//! tonic unary call carrying the same messages, in the same run, over loopback TCP.
//!
//! Goal: the adapters cost at most 1.1× the raw call. The figure (median, p99, min–max over
//! interleaved samples) goes to `cargo xtask bench`'s summary.

#[path = "../../tools/bench_figure.rs"]
mod bench_figure;

use std::convert::Infallible;
use std::time::Instant;

use mattermost_plugin_api::pb;
use mattermost_plugin_api::{ApiError, CallContext, PluginApi, PluginApiClient, PluginApiServer};
use tonic::codegen::{BoxFuture, Service, http};

fn sample_user(id: String) -> pb::User {
    pb::User {
        id,
        username: "sample.user".into(),
        email: "sample@example.com".into(),
        first_name: "Sample".into(),
        last_name: "User".into(),
        roles: "system_user".into(),
        locale: "en".into(),
        create_at: 1_700_000_000_000,
        update_at: 1_700_000_000_000,
        ..Default::default()
    }
}

struct Fixed;

impl PluginApi for Fixed {
    async fn get_user(
        &self,
        _ctx: &CallContext,
        user_id: String,
    ) -> Result<Option<pb::User>, ApiError> {
        Ok(Some(sample_user(user_id)))
    }
}

/// The same unary exchange as `GetUser`, served by tonic's own unary machinery with no trait in
/// between: the baseline.
#[derive(Clone)]
struct RawEcho;

impl tonic::server::NamedService for RawEcho {
    const NAME: &'static str = "bench.RawEcho";
}

struct RawGetUser;

impl tonic::server::UnaryService<pb::GetUserRequest> for RawGetUser {
    type Response = pb::GetUserResponse;
    type Future = std::future::Ready<Result<tonic::Response<pb::GetUserResponse>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<pb::GetUserRequest>) -> Self::Future {
        let user = sample_user(request.into_inner().user_id);
        std::future::ready(Ok(tonic::Response::new(pb::GetUserResponse {
            result: Some(user),
            app_error: None,
        })))
    }
}

impl Service<http::Request<tonic::body::Body>> for RawEcho {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
            Ok(grpc.unary(RawGetUser, request).await)
        })
    }
}

struct Setup {
    adapters: PluginApiClient,
    raw: tonic::client::Grpc<tonic::transport::Channel>,
}

async fn setup() -> Setup {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(PluginApiServer::new(Fixed).into_service(64 << 20))
            .add_service(RawEcho)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .tcp_nodelay(true);
    let adapters = PluginApiClient::new(endpoint.connect().await.expect("connect"));
    let raw = tonic::client::Grpc::new(endpoint.connect().await.expect("connect"));
    Setup { adapters, raw }
}

async fn raw_call(raw: &mut tonic::client::Grpc<tonic::transport::Channel>) -> pb::GetUserResponse {
    raw.ready().await.expect("ready");
    let path = http::uri::PathAndQuery::from_static("/bench.RawEcho/GetUser");
    let request = tonic::Request::new(pb::GetUserRequest {
        user_id: "u".repeat(26),
    });
    let codec: tonic_prost::ProstCodec<pb::GetUserRequest, pb::GetUserResponse> =
        tonic_prost::ProstCodec::default();
    raw.unary(request, path, codec)
        .await
        .expect("raw call")
        .into_inner()
}

/// Calls per sample, samples per path: each sample is the mean of many calls made inside the
/// runtime (no `block_on` per call, whose thread hand-offs would dwarf an in-process call).
const CALLS_PER_SAMPLE: u32 = 200;
const SAMPLES: usize = 40;

fn main() {
    // `cargo bench` passes --bench; under `cargo test` this is a smoke run: a few samples of an
    // unoptimised build, so no plausible range applies.
    let bench = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let samples = if bench { SAMPLES } else { 3 };
    let (adapters, raw) = rt
        .block_on(rt.spawn(measure(samples)))
        .expect("the bench task");
    let figure = bench_figure::Figure {
        name: "GetUser round trip through the generated adapters".into(),
        baseline_name: "raw tonic unary call".into(),
        unit: "µs".into(),
        ours: adapters,
        baseline: raw,
        better: bench_figure::Better::Lower,
        goal_ratio: 1.1,
        note: String::new(),
    };
    // An in-process unary call over loopback takes tens of microseconds here; far outside that,
    // the bench measures something else (thread wake-ups, a throttled machine).
    if bench {
        bench_figure::check_plausible("raw tonic unary call", &raw, 5.0, 1000.0, "µs");
    }
    figure.report();
}

/// Per-call microseconds of the adapters and of the raw call, in interleaved samples.
async fn measure(samples: usize) -> (bench_figure::Stats, bench_figure::Stats) {
    let mut setup = setup().await;
    let ctx = CallContext::new("bench");
    // Both paths must return the same user before timing anything.
    let via_adapters = setup
        .adapters
        .get_user(&ctx, "u".repeat(26))
        .await
        .expect("adapters");
    let via_raw = raw_call(&mut setup.raw).await.result;
    assert_eq!(via_adapters, via_raw);
    // Warm both paths (connections, allocator, caches).
    for _ in 0..CALLS_PER_SAMPLE {
        raw_call(&mut setup.raw).await;
        setup
            .adapters
            .get_user(&ctx, "u".repeat(26))
            .await
            .expect("get_user");
    }
    let (mut adapters, mut raw) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    for _ in 0..samples {
        let start = Instant::now();
        for _ in 0..CALLS_PER_SAMPLE {
            raw_call(&mut setup.raw).await;
        }
        raw.push(start.elapsed() / CALLS_PER_SAMPLE);
        let start = Instant::now();
        for _ in 0..CALLS_PER_SAMPLE {
            setup
                .adapters
                .get_user(&ctx, "u".repeat(26))
                .await
                .expect("get_user");
        }
        adapters.push(start.elapsed() / CALLS_PER_SAMPLE);
    }
    (
        bench_figure::Stats::of_micros(&adapters).expect("samples"),
        bench_figure::Stats::of_micros(&raw).expect("samples"),
    )
}
