//! `cargo xtask demo`: the Python hello plugin under `mm-plugin-host`, driven through its HTTP
//! surface, with what happened printed along the way.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

const PLUGIN_ID: &str = "com.example.hello";

pub fn run() -> Result<()> {
    let root = crate::root();
    let python = crate::ensure_venv()?;
    let mut cmd = crate::cargo();
    cmd.args([
        "build",
        "-q",
        "-p",
        "mattermost-plugin-devhost",
        "--bin",
        "mm-plugin-host",
    ]);
    crate::run(cmd, "cargo build mm-plugin-host")?;

    // A copy of the example next to a link to the repository's virtualenv, which the host finds first.
    let dir = std::env::temp_dir().join(format!("mm-hello-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for file in ["plugin.json", "plugin.py"] {
        std::fs::copy(root.join("examples/hello").join(file), dir.join(file))
            .with_context(|| format!("copying {file}"))?;
    }
    let venv = python
        .parent()
        .and_then(Path::parent)
        .context("venv layout")?;
    let link = dir.join(".venv");
    if !link.exists() {
        std::os::unix::fs::symlink(venv, &link)?;
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    println!("==> mm-plugin-host run examples/hello --listen {addr}");
    let mut host = Command::new(root.join("target/debug/mm-plugin-host"))
        .args(["run"])
        .arg(&dir)
        .args(["--listen", &addr])
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .spawn()
        .context("starting mm-plugin-host")?;
    let stdout = host.stdout.take().context("host stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut started = false;
    for line in lines.by_ref() {
        let line = line?;
        println!("    {line}");
        if line.starts_with("listening on") {
            started = true;
            break;
        }
    }
    let outcome = if started {
        drive(&addr)
    } else {
        Err(anyhow::anyhow!("mm-plugin-host did not start"))
    };

    // Ctrl-C, as a user would: OnDeactivate, Shutdown, exit.
    unsafe_sigint(host.id());
    for line in lines.map_while(Result::ok) {
        println!("    {line}");
    }
    let status = host.wait()?;
    std::fs::remove_dir_all(&dir).ok();
    outcome?;
    if !status.success() {
        bail!("mm-plugin-host exited with {status}");
    }
    println!("==> demo finished: the host stopped cleanly");
    Ok(())
}

fn drive(addr: &str) -> Result<()> {
    let step = |title: &str| println!("==> {title}");

    step("a post: MessageWillBePosted tags it, then it is stored");
    let (status, body) = http(
        addr,
        "POST",
        "/api/v4/posts",
        r#"{"message": "Hello everyone"}"#,
    )?;
    expect(status, 201, &body)?;
    println!("    {status} {body}");

    step("a post with spam: the plugin rejects it");
    let (status, body) = http(
        addr,
        "POST",
        "/api/v4/posts",
        r#"{"message": "cheap spam here"}"#,
    )?;
    expect(status, 400, &body)?;
    println!("    {status} {body}");

    step("configuration change: Greeting = Howdy (OnConfigurationChange)");
    let (status, body) = http(
        addr,
        "PUT",
        &format!("/api/v4/plugins/{PLUGIN_ID}/config"),
        r#"{"Greeting": "Howdy"}"#,
    )?;
    expect(status, 200, &body)?;

    step("the slash command, twice (ExecuteCommand, KV counter)");
    for name in ["Ada", "Grace"] {
        let (status, body) = http(
            addr,
            "POST",
            "/api/v4/commands/execute",
            &format!(r#"{{"command": "/hello {name}"}}"#),
        )?;
        expect(status, 200, &body)?;
        println!("    {status} {body}");
    }

    step("the plugin's HTTP endpoints (ServeHTTP)");
    let (status, body) = http(addr, "GET", &format!("/plugins/{PLUGIN_ID}/status"), "")?;
    expect(status, 200, &body)?;
    println!("    GET /status -> {status} {body}");
    let (status, body) = http(
        addr,
        "GET",
        &format!("/plugins/{PLUGIN_ID}/download?size=3000000"),
        "",
    )?;
    expect(status, 200, "")?;
    if body.len() != 3_000_000 {
        bail!(
            "the streamed download returned {} bytes, expected 3000000",
            body.len()
        );
    }
    println!(
        "    GET /download?size=3000000 -> {status}, {} bytes streamed",
        body.len()
    );
    Ok(())
}

fn expect(status: u16, wanted: u16, body: &str) -> Result<()> {
    if status != wanted {
        bail!("expected HTTP {wanted}, got {status}: {body}");
    }
    Ok(())
}

/// A small HTTP/1.1 client: one request per connection, chunked or length-delimited bodies.
fn http(addr: &str, method: &str, path: &str, body: &str) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no HTTP head")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut rest = &raw[split + 4..];
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = Vec::new();
        loop {
            let line_end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .context("bad chunk")?;
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&rest[..line_end]).trim(), 16)?;
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        out
    } else {
        rest.to_vec()
    };
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn unsafe_sigint(pid: u32) {
    // The host handles SIGINT like Ctrl-C; `kill` is the portable way to send it from here.
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
}
