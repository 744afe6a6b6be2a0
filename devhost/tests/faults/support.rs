//! Shared parts of the fault suite: a Python plugin on a real `mm-plugin-host` process, keep-alive
//! HTTP clients, latency percentiles and the host's memory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The interpreter with both Python packages: `MM_BENCH_PYTHON` (set by `cargo xtask test`), else
/// the workspace's `.venv`. The suite needs real Python plugins, so a missing one is a failure.
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("MM_BENCH_PYTHON") {
        return python.into();
    }
    let venv = root().join(".venv/bin/python");
    assert!(
        venv.is_file(),
        "the fault suite runs Python plugins: {} is missing (`cargo xtask test` creates it)",
        venv.display()
    );
    venv
}

/// How long the load scenarios run, in seconds (`MM_FAULTS_LOAD_SECS`, default `default`).
pub fn load_secs(default: u64) -> u64 {
    std::env::var("MM_FAULTS_LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A plugin directory holding `plugin.py` (the given source) that runs on the venv's interpreter.
pub struct PluginDir {
    pub dir: tempfile::TempDir,
    pub id: String,
}

impl PluginDir {
    pub fn new(id: &str, source: &str) -> PluginDir {
        let dir = tempfile::tempdir().unwrap();
        let manifest = serde_json::json!({
            "id": id,
            "name": id,
            "version": "0.1.0",
            "server": { "runtime": "python", "executable": "plugin.py" },
        });
        std::fs::write(dir.path().join("plugin.json"), manifest.to_string()).unwrap();
        std::fs::write(dir.path().join("plugin.py"), source).unwrap();
        // The host runs `<dir>/venv/bin/python` when present: point it at the test venv.
        let python = python();
        let venv = python.parent().and_then(Path::parent).unwrap();
        std::os::unix::fs::symlink(venv, dir.path().join("venv")).unwrap();
        PluginDir {
            dir,
            id: id.to_string(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// `mm-plugin-host run` as a child process, with its own TMPDIR so leaks are visible.
pub struct Host {
    pub child: Child,
    pub addr: SocketAddr,
    pub tmp: tempfile::TempDir,
    pub log: PathBuf,
}

impl Host {
    pub fn start(plugin: &PluginDir, extra_args: &[&str]) -> Host {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("host.log");
        let host_tmp = tmp.path().join("tmp");
        std::fs::create_dir(&host_tmp).unwrap();
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mm-plugin-host"))
            .arg("run")
            .arg(plugin.path())
            .args(["--listen", &addr.to_string()])
            .args(extra_args)
            .env("TMPDIR", &host_tmp)
            .env_remove("XDG_RUNTIME_DIR")
            .env(
                "RUST_LOG",
                std::env::var("MM_FAULTS_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut host = Host {
            child,
            addr,
            tmp,
            log,
        };
        host.wait_ready(Duration::from_secs(60));
        host
    }

    fn wait_ready(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "host exited ({status}) before listening; log:\n{}",
                    self.log_text()
                );
            }
            if std::net::TcpStream::connect(self.addr).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "host did not listen within {limit:?}; log:\n{}",
            self.log_text()
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The host's resident set size in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid())
    }

    /// The TMPDIR the host (and through it the plugin) was given.
    pub fn tmpdir(&self) -> PathBuf {
        self.tmp.path().join("tmp")
    }

    /// SIGINT, then waits for the host to exit (bounded); returns whether it exited in time.
    pub fn interrupt_and_wait(&mut self, limit: Duration) -> bool {
        signal(self.pid(), libc::SIGINT);
        wait_exit(&mut self.child, limit)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            signal(self.pid(), libc::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

pub fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) on a pid this test started.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

pub fn wait_exit(child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Pids of the processes whose parent is `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // The parent pid is the second field after the parenthesised command name.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// One keep-alive HTTP/1.1 connection.
pub struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(std::io::Error::other)?;
        tokio::spawn(connection);
        Ok(Client { sender })
    }

    /// One request; (status, body).
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<(u16, Bytes), String> {
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "faults")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|e| e.to_string())?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }
}

/// Latencies of one kind of request.
#[derive(Default)]
pub struct Latencies {
    pub samples: Vec<Duration>,
    pub failures: Vec<String>,
}

impl Latencies {
    pub fn merge(&mut self, other: Latencies) {
        self.samples.extend(other.samples);
        self.failures.extend(other.failures);
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.samples.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.samples.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[index]
    }

    pub fn report(&self, what: &str) -> String {
        format!(
            "{what}: {} ok, {} failed, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.samples.len(),
            self.failures.len(),
            self.percentile(0.5).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            self.percentile(1.0).as_secs_f64() * 1e3,
        )
    }
}

/// `GET /api/v4/system/ping` on a new connection: (status, body).
pub async fn ping(addr: SocketAddr) -> (u16, serde_json::Value) {
    let mut client = Client::connect(addr).await.unwrap();
    let (status, body) = client
        .request("GET", "/api/v4/system/ping", b"")
        .await
        .expect("the host answers its ping");
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

/// Fails when `dir` (a host's TMPDIR) holds anything: sockets and directories must not leak.
pub fn assert_empty_dir(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left in {}: {left:?}", dir.display());
}

/// Waits until the host's log contains `needle` (bounded).
pub async fn wait_for_log(host: &Host, needle: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if host.log_text().contains(needle) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[allow(dead_code)]
pub async fn read_lines(path: &Path) -> Vec<String> {
    let Ok(file) = tokio::fs::File::open(path).await else {
        return Vec::new();
    };
    let mut lines = BufReader::new(file).lines();
    let mut out = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        out.push(line);
    }
    out
}
