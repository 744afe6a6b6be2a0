//! In-process tests of the transport layers: the Rust yamux client plays the Mattermost
//! server. The same protocol against hashicorp's own Go code is `tests/go_host.rs`.

use std::time::{Duration, Instant};

use gobwire::Gob;
use mattermost_plugin_shim::broker::{BrokerError, MuxBroker};
use mattermost_plugin_shim::mux::{self, Incoming, Session};
use mattermost_plugin_shim::plugin::{self, PluginSet, ServeEnd};
use mattermost_plugin_shim::rpc::{
    CallError, Client, Empty, GobReader, GobWriter, MethodError, RequestHeader, ResponseHeader,
    Server, Service,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A connected pair of yamux sessions: (host = client side, plugin = server side).
fn pair() -> ((Session, Incoming), (Session, Incoming)) {
    let (a, b) = tokio::io::duplex(1 << 20);
    (mux::client(a), mux::server(b))
}

#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "Args")]
struct Args {
    #[gob(name = "A")]
    a: String,
    #[gob(name = "B")]
    b: i64,
}

fn service() -> Service {
    Service::new()
        .method("Echo", |a: Args| async move { Ok::<_, MethodError>(a) })
        .method("Sleep", |ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, MethodError>(ms)
        })
        .method("Fail", |_: Empty| async {
            Err::<Empty, _>(MethodError::from("nope"))
        })
        .method("Blob", |b: Vec<u8>| async move { Ok::<_, MethodError>(b) })
        .method("Panic", |_: Empty| async {
            if true {
                panic!("boom");
            }
            Ok::<Empty, MethodError>(Empty {})
        })
}

#[tokio::test]
async fn rpc_round_trips_concurrently_and_reports_errors() {
    let ((host, _), (_, mut plugin_in)) = pair();
    tokio::spawn(async move {
        let stream = plugin_in.accept().await.unwrap();
        Server::new().register("Svc", service()).serve(stream).await
    });
    let client = Client::new(host.open().await.unwrap());

    let args = Args {
        a: "x".into(),
        b: -3,
    };
    let got: Args = client.call("Svc.Echo", &args).await.unwrap();
    assert_eq!(got, args);

    // Ten 200 ms calls at once complete together: the server runs them concurrently and the
    // client matches the out-of-order replies by Seq.
    let start = Instant::now();
    let calls = (0..10u64).map(|i| {
        let client = client.clone();
        async move { client.call::<_, u64>("Svc.Sleep", &(200 + i)).await }
    });
    let results = futures_util::future::join_all(calls).await;
    for (i, r) in results.into_iter().enumerate() {
        assert_eq!(r.unwrap(), 200 + i as u64);
    }
    assert!(start.elapsed() < Duration::from_millis(1500));

    let err = client.call::<_, Empty>("Svc.Fail", &Empty {}).await;
    assert_eq!(err, Err(CallError::Server("nope".into())));
    let err = client.call::<_, Empty>("Svc.Nope", &Empty {}).await;
    assert_eq!(
        err,
        Err(CallError::Server("rpc: can't find method Svc.Nope".into()))
    );
    let err = client.call::<_, Empty>("Other.Nope", &Empty {}).await;
    assert_eq!(
        err,
        Err(CallError::Server(
            "rpc: can't find service Other.Nope".into()
        ))
    );
    let err = client.call::<_, Empty>("NoDot", &Empty {}).await;
    assert_eq!(
        err,
        Err(CallError::Server(
            "rpc: service/method request ill-formed: NoDot".into()
        ))
    );
    let err = client.call::<_, Empty>("Svc.Panic", &Empty {}).await;
    assert_eq!(
        err,
        Err(CallError::Server("rpc: method Svc.Panic panicked".into()))
    );
    // A bad argument type is an error reply; the connection stays usable.
    let err = client.call::<_, u64>("Svc.Sleep", &"str".to_owned()).await;
    assert!(matches!(err, Err(CallError::Server(_))), "{err:?}");
    assert_eq!(client.call::<_, u64>("Svc.Sleep", &1u64).await, Ok(1));
}

#[tokio::test]
async fn client_fails_pending_calls_when_the_connection_ends() {
    let ((host, _), (plugin, mut plugin_in)) = pair();
    tokio::spawn(async move {
        let stream = plugin_in.accept().await.unwrap();
        Server::new().register("Svc", service()).serve(stream).await
    });
    let client = Client::new(host.open().await.unwrap());
    let slow = {
        let client = client.clone();
        tokio::spawn(async move { client.call::<_, u64>("Svc.Sleep", &5_000u64).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    plugin.close().await;
    let r = tokio::time::timeout(Duration::from_secs(2), slow)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(r, Err(CallError::Shutdown(_))), "{r:?}");
    assert!(matches!(
        client.call::<_, u64>("Svc.Sleep", &1u64).await,
        Err(CallError::Shutdown(_))
    ));
}

/// Go's own bytes (from `gob.NewEncoder` on `rpc.Request`/`rpc.Response`, Go 1.26) decode, and
/// ours match them except for the type id (Go's are process-global, ours per stream).
#[tokio::test]
async fn headers_match_go() {
    #[rustfmt::skip]
    let go_request: &[u8] = &[
        0x2e, 0x7f, 0x3, 0x1, 0x1, 0x7, 0x52, 0x65, 0x71, 0x75, 0x65, 0x73, 0x74, 0x1, 0xff,
        0x80, 0x0, 0x1, 0x2, 0x1, 0xd, 0x53, 0x65, 0x72, 0x76, 0x69, 0x63, 0x65, 0x4d, 0x65,
        0x74, 0x68, 0x6f, 0x64, 0x1, 0xc, 0x0, 0x1, 0x3, 0x53, 0x65, 0x71, 0x1, 0x6, 0x0, 0x0,
        0x0,
        // Request{ServiceMethod: "Plugin.Echo"} — Seq 0 is absent.
        0x10, 0xff, 0x80, 0x1, 0xb, 0x50, 0x6c, 0x75, 0x67, 0x69, 0x6e, 0x2e, 0x45, 0x63, 0x68,
        0x6f, 0x0,
        // "hooks"
        0x8, 0xc, 0x0, 0x5, 0x68, 0x6f, 0x6f, 0x6b, 0x73,
        // Request{ServiceMethod: "Plugin.Echo", Seq: 1}
        0x12, 0xff, 0x80, 0x1, 0xb, 0x50, 0x6c, 0x75, 0x67, 0x69, 0x6e, 0x2e, 0x45, 0x63, 0x68,
        0x6f, 0x1, 0x1, 0x0,
        // struct{}{}
        0xa, 0xff, 0x81, 0x3, 0x1, 0x2, 0xff, 0x82, 0x0, 0x0, 0x0, 0x3, 0xff, 0x82, 0x0,
    ];
    let mut r = GobReader::new(go_request);
    assert!(r.next_value().await.unwrap());
    let h: RequestHeader = r.decode().unwrap();
    assert_eq!((h.service_method.as_str(), h.seq), ("Plugin.Echo", 0));
    assert!(r.next_value().await.unwrap());
    assert_eq!(r.decode::<String>().unwrap(), "hooks");
    assert!(r.next_value().await.unwrap());
    assert_eq!(r.decode::<RequestHeader>().unwrap().seq, 1);
    assert!(r.next_value().await.unwrap());
    r.decode::<Empty>().unwrap();
    assert!(!r.next_value().await.unwrap());

    let mut w = GobWriter::new();
    let mut ours = Vec::new();
    for seq in [0, 1] {
        w.encode_into(
            &RequestHeader {
                service_method: "Plugin.Echo".into(),
                seq,
            },
            &mut ours,
        )
        .unwrap();
    }
    // The values after the type definition (whose id differs: Go's first is 64, a one-byte
    // int, ours 65), with the 2-byte type id (0xff 0x8X) masked.
    let masked = |b: &[u8]| {
        let mut v = b.to_vec();
        for i in 0..v.len().saturating_sub(1) {
            if v[i] == 0xff && (0x80..=0x84).contains(&v[i + 1]) {
                v[i + 1] = 0;
            }
        }
        v
    };
    let ours_values = &ours[usize::from(ours[0]) + 1..];
    let go_values: Vec<u8> = [&go_request[47..64], &go_request[73..92]].concat();
    assert_eq!(masked(ours_values), masked(&go_values));

    #[rustfmt::skip]
    let go_response: &[u8] = &[
        0x3a, 0xff, 0x83, 0x3, 0x1, 0x1, 0x8, 0x52, 0x65, 0x73, 0x70, 0x6f, 0x6e, 0x73, 0x65,
        0x1, 0xff, 0x84, 0x0, 0x1, 0x3, 0x1, 0xd, 0x53, 0x65, 0x72, 0x76, 0x69, 0x63, 0x65,
        0x4d, 0x65, 0x74, 0x68, 0x6f, 0x64, 0x1, 0xc, 0x0, 0x1, 0x3, 0x53, 0x65, 0x71, 0x1, 0x6,
        0x0, 0x1, 0x5, 0x45, 0x72, 0x72, 0x6f, 0x72, 0x1, 0xc, 0x0, 0x0, 0x0, 0x19, 0xff, 0x84,
        0x1, 0xc, 0x43, 0x6f, 0x6e, 0x74, 0x72, 0x6f, 0x6c, 0x2e, 0x50, 0x69, 0x6e, 0x67, 0x1,
        0x2, 0x1, 0x4, 0x62, 0x6f, 0x6f, 0x6d, 0x0, 0xa, 0xff, 0x81, 0x3, 0x1, 0x2, 0xff, 0x82,
        0x0, 0x0, 0x0, 0x3, 0xff, 0x82, 0x0,
    ];
    let mut r = GobReader::new(go_response);
    assert!(r.next_value().await.unwrap());
    let h: ResponseHeader = r.decode().unwrap();
    assert_eq!(
        h,
        ResponseHeader {
            service_method: "Control.Ping".into(),
            seq: 2,
            error: "boom".into()
        }
    );
    assert!(r.next_value().await.unwrap());
    r.discard().unwrap();
}

#[tokio::test]
async fn gob_reader_rejects_truncated_input() {
    let mut w = GobWriter::new();
    let mut bytes = Vec::new();
    w.encode_into(&"hello".to_owned(), &mut bytes).unwrap();
    let mut r = GobReader::new(&bytes[..bytes.len() - 1]);
    assert!(r.next_value().await.is_err());
}

#[tokio::test]
async fn broker_dial_accept_and_early_arrival() {
    let ((host, host_in), (plugin, plugin_in)) = pair();
    let host_broker = MuxBroker::with_timeout(host, Duration::from_millis(300));
    let plugin_broker = MuxBroker::with_timeout(plugin, Duration::from_millis(300));
    tokio::spawn({
        let b = host_broker.clone();
        async move { b.run(host_in).await }
    });
    tokio::spawn({
        let b = plugin_broker.clone();
        async move { b.run(plugin_in).await }
    });
    assert_eq!(plugin_broker.next_id(), 1);
    assert_eq!(plugin_broker.next_id(), 2);

    // Accept first, then dial.
    let id = host_broker.next_id();
    let accepting = {
        let b = host_broker.clone();
        tokio::spawn(async move { b.accept(id).await })
    };
    let mut dialed = plugin_broker.dial(id).await.unwrap();
    let mut accepted = accepting.await.unwrap().unwrap();
    dialed.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    accepted.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");

    // Dial first: the stream waits for its accept (Dial itself waits for the ack).
    let id = plugin_broker.next_id();
    let dialing = {
        let b = host_broker.clone();
        tokio::spawn(async move { b.dial(id).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut accepted = plugin_broker.accept(id).await.unwrap();
    let mut dialed = dialing.await.unwrap().unwrap();
    accepted.write_all(b"pong").await.unwrap();
    dialed.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pong");

    // An accept nobody dials times out.
    let err = plugin_broker.accept(plugin_broker.next_id()).await;
    assert!(matches!(err, Err(BrokerError::AcceptTimeout)), "{err:?}");

    // A stream nobody accepts is dropped after the timeout: the dialer never gets its ack.
    let lonely = plugin_broker.next_id();
    let err = host_broker.dial(lonely).await;
    assert!(err.is_err(), "{err:?}");
}

#[tokio::test]
async fn plugin_side_serves_control_dispense_and_quit() {
    let (a, b) = tokio::io::duplex(1 << 20);
    let (stdout, _stderr, sources) = plugin::stdio();
    stdout.try_write("before the host connected\n");
    let plugins = PluginSet::new().with("hooks", |_broker| service());
    let serving = tokio::spawn(plugin::serve_conn(b, plugins, sources));

    let (host, host_in) = mux::client(a);
    // rust-yamux sends a stream's SYN with its first frame; hashicorp (the real host) sends it
    // at open. An empty write makes the SYNs go out in open order.
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut s = host.open().await.unwrap();
        assert_eq!(s.write(&[]).await.unwrap(), 0);
        streams.push(s);
    }
    let _err = streams.pop().unwrap();
    let mut out = streams.pop().unwrap();
    let control = Client::new(streams.pop().unwrap());
    let broker = MuxBroker::new(host.clone());
    tokio::spawn({
        let b = broker.clone();
        async move { b.run(host_in).await }
    });

    control
        .call::<_, Empty>("Control.Ping", &true)
        .await
        .unwrap();
    let id: u32 = control
        .call("Dispenser.Dispense", &"hooks".to_owned())
        .await
        .unwrap();
    assert_eq!(id, 1);
    let err = control
        .call::<_, u32>("Dispenser.Dispense", &"nope".to_owned())
        .await;
    assert_eq!(
        err,
        Err(CallError::Server("unknown plugin type: nope".into()))
    );
    let hooks = Client::new(broker.dial(id).await.unwrap());
    let args = Args {
        a: "a".into(),
        b: 1,
    };
    assert_eq!(hooks.call::<_, Args>("Plugin.Echo", &args).await, Ok(args));

    let mut line = vec![0u8; "before the host connected\n".len()];
    out.read_exact(&mut line).await.unwrap();
    assert_eq!(line, b"before the host connected\n");

    control
        .call::<_, Empty>("Control.Quit", &true)
        .await
        .unwrap();
    host.close().await;
    let end = tokio::time::timeout(Duration::from_secs(3), serving)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(end, ServeEnd::Quit), "{end:?}");
}

/// A host that sends `Quit` but never closes the session: the plugin closes it itself after a
/// grace period (shorter than go-plugin's 2 s before SIGKILL) and serving ends.
#[tokio::test]
async fn quit_ends_serving_even_if_the_host_keeps_the_session() {
    let (a, b) = tokio::io::duplex(1 << 20);
    let (_out, _err, sources) = plugin::stdio();
    let serving = tokio::spawn(plugin::serve_conn(b, PluginSet::new(), sources));
    let (host, mut host_in) = mux::client(a);
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut s = host.open().await.unwrap();
        assert_eq!(s.write(&[]).await.unwrap(), 0);
        streams.push(s);
    }
    let control = Client::new(streams.remove(0));
    let start = Instant::now();
    control
        .call::<_, Empty>("Control.Quit", &true)
        .await
        .unwrap();
    let end = tokio::time::timeout(Duration::from_secs(3), serving)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(end, ServeEnd::Quit), "{end:?}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // The plugin closed the session.
    assert!(host_in.accept().await.is_err());
}

/// Many concurrent calls with payloads bigger than a yamux window, both ways: the server's and
/// the client's read and write halves live in different tasks and keep exhausting and
/// refilling the 256 KiB stream windows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_streams_under_load() {
    let ((host, _), (_, mut plugin_in)) = pair();
    tokio::spawn(async move {
        let stream = plugin_in.accept().await.unwrap();
        Server::new().register("Svc", service()).serve(stream).await
    });
    let client = Client::new(host.open().await.unwrap());
    let calls = (0..64u32).map(|i| {
        let client = client.clone();
        async move {
            let blob: Vec<u8> = (0..300_000u32).map(|j| (i ^ j) as u8).collect();
            let back: Vec<u8> = client.call("Svc.Blob", &blob).await.unwrap();
            assert!(back == blob, "call {i} came back different");
        }
    });
    tokio::time::timeout(
        Duration::from_secs(30),
        futures_util::future::join_all(calls),
    )
    .await
    .expect("no stall");
}
