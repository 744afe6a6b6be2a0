//! The toy plugin the Go tests in `tests/go/` start.
//!
//! * Started by a plugin host (the magic cookie is set): serves go-plugin's net/rpc protocol
//!   with a `"hooks"` plugin whose `"Plugin"` service has `Echo`, `Delay`, `Fail`, `CallBack`
//!   (dials a broker id the host accepts and calls `Plugin.Greet` there, like Mattermost's API
//!   stream), `OpenUpper` (accepts a broker id the host dials) and `Log` (stdout/stderr streams).
//! * `mm-shim-test-plugin yamux-peer <socket>`: a bare yamux server for the transport interop
//!   tests. Each stream the peer opens starts with a command byte: `E` echo until EOF, `S` echo
//!   after a 2 s stall, `O` + u32 LE `n` open `n` streams to the peer and write `hello <i>` on
//!   each.

use std::collections::HashMap;
use std::time::Duration;

use gobwire::Gob;
use mattermost_plugin_shim::broker::MuxBroker;
use mattermost_plugin_shim::handshake::{
    self, MATTERMOST_MAGIC_COOKIE_KEY, MATTERMOST_MAGIC_COOKIE_VALUE,
};
use mattermost_plugin_shim::mux;
use mattermost_plugin_shim::plugin::{self, PluginSet, ServeEnd, StdioWriter};
use mattermost_plugin_shim::rpc::{Client, Empty, MethodError, Server, Service};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "Nested")]
struct Nested {
    #[gob(name = "Name")]
    name: String,
    #[gob(name = "Count")]
    count: i64,
}

/// Mirrors `EchoArgs` in tests/go/plugin_test.go (fields matched by Go name).
#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "EchoArgs")]
struct EchoArgs {
    #[gob(name = "Text")]
    text: String,
    #[gob(name = "Number")]
    number: i64,
    #[gob(name = "Small")]
    small: i32,
    #[gob(name = "Unsigned")]
    unsigned: u32,
    #[gob(name = "Negative")]
    negative: i64,
    #[gob(name = "Flag")]
    flag: bool,
    #[gob(name = "Ratio")]
    ratio: f64,
    #[gob(name = "Blob")]
    blob: Vec<u8>,
    #[gob(name = "Tags")]
    tags: Vec<String>,
    #[gob(name = "Labels")]
    labels: HashMap<String, String>,
    #[gob(name = "Inner")]
    inner: Nested,
    #[gob(name = "Ptr")]
    ptr: Option<Nested>,
    #[gob(name = "NilPtr")]
    nil_ptr: Option<Nested>,
    #[gob(name = "List")]
    list: Vec<Nested>,
}

#[derive(Gob, Debug, Default)]
#[gob(name = "CallBackArgs")]
struct CallBackArgs {
    #[gob(name = "MuxId")]
    mux_id: u32,
    #[gob(name = "Name")]
    name: String,
}

#[derive(Gob, Debug, Default)]
#[gob(name = "GreetArgs")]
struct GreetArgs {
    #[gob(name = "Name")]
    name: String,
}

#[derive(Gob, Debug, Default)]
#[gob(name = "GreetReply")]
struct GreetReply {
    #[gob(name = "Message")]
    message: String,
}

#[derive(Gob, Debug, Default)]
#[gob(name = "LogArgs")]
struct LogArgs {
    #[gob(name = "Stdout")]
    stdout: String,
    #[gob(name = "Stderr")]
    stderr: String,
}

fn hooks(broker: MuxBroker, stdout: StdioWriter, stderr: StdioWriter) -> Service {
    let (b1, b2) = (broker.clone(), broker);
    Service::new()
        .method("Echo", |args: EchoArgs| async move {
            Ok::<_, MethodError>(args)
        })
        .method("Delay", |ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, MethodError>(ms)
        })
        .method("Fail", |text: String| async move {
            Err::<Empty, _>(MethodError(text))
        })
        .method("CallBack", move |args: CallBackArgs| {
            let broker = b1.clone();
            async move {
                let stream = broker.dial(args.mux_id).await.map_err(MethodError::new)?;
                let api = Client::new(stream);
                // Two calls, so the second carries a non-zero Seq.
                let mut out = Vec::new();
                for suffix in ["", "!"] {
                    let reply: GreetReply = api
                        .call(
                            "Plugin.Greet",
                            &GreetArgs {
                                name: format!("{}{suffix}", args.name),
                            },
                        )
                        .await
                        .map_err(MethodError::new)?;
                    out.push(reply.message);
                }
                Ok::<_, MethodError>(out.join(" | "))
            }
        })
        .method("OpenUpper", move |_: Empty| {
            let broker = b2.clone();
            async move {
                let id = broker.next_id();
                tokio::spawn(async move {
                    match broker.accept(id).await {
                        Ok(stream) => {
                            let upper = Service::new().method("Upper", |s: String| async move {
                                Ok::<_, MethodError>(s.to_uppercase())
                            });
                            let _ = Server::new().register("Plugin", upper).serve(stream).await;
                        }
                        Err(e) => eprintln!("[ERROR] OpenUpper accept: {e}"),
                    }
                });
                Ok::<_, MethodError>(id)
            }
        })
        .method("Log", move |args: LogArgs| {
            let (stdout, stderr) = (stdout.clone(), stderr.clone());
            async move {
                stdout.write(format!("{}\n", args.stdout)).await;
                stderr.write(format!("{}\n", args.stderr)).await;
                Ok::<_, MethodError>(Empty {})
            }
        })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = if args.get(1).map(String::as_str) == Some("yamux-peer") {
        runtime.block_on(yamux_peer(args.get(2).expect("socket path")))
    } else {
        runtime.block_on(run_plugin())
    };
    runtime.shutdown_timeout(Duration::from_millis(200));
    std::process::exit(code);
}

async fn run_plugin() -> i32 {
    if handshake::check_magic_cookie_env(MATTERMOST_MAGIC_COOKIE_KEY, MATTERMOST_MAGIC_COOKIE_VALUE)
        .is_err()
    {
        eprint!("{}", handshake::NOT_A_PLUGIN_MESSAGE);
        return 1;
    }
    let (stdout, stderr, sources) = plugin::stdio();
    // Written before the host connects: waits in the backlog for the stream.
    stdout.try_write("test plugin started\n");
    let plugins = PluginSet::new().with("hooks", move |broker| {
        hooks(broker, stdout.clone(), stderr.clone())
    });
    match plugin::serve(&[handshake::MATTERMOST_PROTOCOL_VERSION], plugins, sources).await {
        Ok(ServeEnd::Quit) => 0,
        Ok(ServeEnd::SessionClosed(e)) => {
            eprintln!("[WARN] session ended without Quit: {e}");
            0
        }
        Err(e) => {
            eprintln!("[ERROR] {e}");
            1
        }
    }
}

async fn yamux_peer(path: &str) -> i32 {
    let _ = std::fs::remove_file(path);
    let listener = tokio::net::UnixListener::bind(path).expect("bind");
    println!("ready");
    let (conn, _) = listener.accept().await.expect("accept");
    let (session, mut incoming) = mux::server(conn);
    while let Ok(stream) = incoming.accept().await {
        let session = session.clone();
        tokio::spawn(async move {
            if let Err(e) = peer_stream(stream, session).await {
                eprintln!("peer stream: {e}");
            }
        });
    }
    0
}

async fn peer_stream(mut stream: mux::Stream, session: mux::Session) -> std::io::Result<()> {
    let mut cmd = [0u8; 1];
    stream.read_exact(&mut cmd).await?;
    match cmd[0] {
        b'E' | b'S' => {
            if cmd[0] == b'S' {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            let (mut rd, mut wr) = tokio::io::split(stream);
            tokio::io::copy(&mut rd, &mut wr).await?;
            wr.shutdown().await?;
        }
        b'O' => {
            let n = stream.read_u32_le().await?;
            let mut tasks = Vec::new();
            for i in 0..n {
                let session = session.clone();
                tasks.push(tokio::spawn(async move {
                    let mut s = session.open().await.map_err(std::io::Error::other)?;
                    s.write_all(format!("hello {i}").as_bytes()).await?;
                    s.shutdown().await?;
                    // Keep the stream until the peer has read it and closed its side.
                    let mut rest = Vec::new();
                    s.read_to_end(&mut rest).await?;
                    Ok::<_, std::io::Error>(())
                }));
            }
            for t in tasks {
                t.await.map_err(std::io::Error::other)??;
            }
            stream.write_all(b"k").await?;
            stream.shutdown().await?;
        }
        other => eprintln!("unknown command {other}"),
    }
    Ok(())
}
