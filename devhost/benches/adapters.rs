//! `GetUser` through the generated adapters (PluginApiClient → PluginApiServer → trait) beside a raw
//! tonic unary call carrying the same messages, in the same run, over loopback TCP.
//!
//! Goal: the adapters cost at most 1.2× the raw call. The ratio is printed at the end.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
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

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut setup = rt.block_on(setup());
    let ctx = CallContext::new("bench");
    // Both paths must return the same user before timing anything.
    let via_adapters = rt
        .block_on(setup.adapters.get_user(&ctx, "u".repeat(26)))
        .expect("adapters");
    let via_raw = rt.block_on(raw_call(&mut setup.raw)).result;
    assert_eq!(via_adapters, via_raw);

    let mut group = c.benchmark_group("get_user_round_trip");
    group.measurement_time(Duration::from_secs(6));
    group.bench_function("raw tonic unary", |b| {
        b.to_async(&rt).iter(|| {
            let mut raw = setup.raw.clone();
            async move { raw_call(&mut raw).await }
        })
    });
    group.bench_function("generated adapters", |b| {
        b.to_async(&rt).iter(|| {
            let client = setup.adapters.clone();
            let ctx = ctx.clone();
            async move {
                client
                    .get_user(&ctx, "u".repeat(26))
                    .await
                    .expect("get_user")
            }
        })
    });
    group.finish();

    // A direct, interleaved comparison in the same run, so machine noise hits both equally.
    let rounds = 5;
    let calls = 2000;
    let (mut raw_total, mut adapter_total) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..calls {
            rt.block_on(raw_call(&mut setup.raw));
        }
        raw_total += start.elapsed();
        let start = Instant::now();
        for _ in 0..calls {
            rt.block_on(setup.adapters.get_user(&ctx, "u".repeat(26)))
                .expect("get_user");
        }
        adapter_total += start.elapsed();
    }
    let ratio = adapter_total.as_secs_f64() / raw_total.as_secs_f64();
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(rounds * calls);
    println!(
        "GetUser: adapters {:.1} µs/call, raw tonic {:.1} µs/call, ratio {ratio:.3} (goal ≤ 1.2)",
        per_call(adapter_total),
        per_call(raw_total)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
