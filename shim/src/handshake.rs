//! The plugin side of go-plugin's start-up (`server.go`, `Serve`): the magic cookie, protocol
//! version negotiation, the Unix socket and the handshake line on stdout.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// go-plugin's own protocol version (`CoreProtocolVersion`).
pub const CORE_PROTOCOL_VERSION: u32 = 1;

/// Mattermost's handshake (`server/public/plugin/api.go`, `var handshake`).
pub const MATTERMOST_MAGIC_COOKIE_KEY: &str = "MATTERMOST_PLUGIN";
pub const MATTERMOST_MAGIC_COOKIE_VALUE: &str = "Securely message teams, anywhere.";
/// Mattermost's application protocol version.
pub const MATTERMOST_PROTOCOL_VERSION: u32 = 1;

/// What go-plugin prints to stderr (before exiting 1) when the cookie is missing or wrong.
pub const NOT_A_PLUGIN_MESSAGE: &str = "This binary is a plugin. These are not meant to be executed directly.\n\
Please execute the program that consumes these plugins, which will\n\
load any plugins automatically\n";

pub const ENV_PROTOCOL_VERSIONS: &str = "PLUGIN_PROTOCOL_VERSIONS";
pub const ENV_UNIX_SOCKET_DIR: &str = "PLUGIN_UNIX_SOCKET_DIR";
pub const ENV_UNIX_SOCKET_GROUP: &str = "PLUGIN_UNIX_SOCKET_GROUP";

#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// Not started by a plugin host: print [`NOT_A_PLUGIN_MESSAGE`] and exit 1.
    #[error("the magic cookie {key} is missing or wrong; not started by a plugin host")]
    NotAPlugin { key: String },
    #[error("creating the plugin socket in {dir}: {source}")]
    Listen { dir: PathBuf, source: io::Error },
    #[error("setting the socket's group to {group}: {source}")]
    Group { group: String, source: io::Error },
}

/// Go: `os.Getenv(key) != value` → not a plugin.
pub fn check_magic_cookie(
    key: &str,
    value: &str,
    found: Option<&str>,
) -> Result<(), HandshakeError> {
    if found == Some(value) {
        Ok(())
    } else {
        Err(HandshakeError::NotAPlugin {
            key: key.to_owned(),
        })
    }
}

/// Check the cookie in this process's environment.
pub fn check_magic_cookie_env(key: &str, value: &str) -> Result<(), HandshakeError> {
    let found = std::env::var(key).ok();
    check_magic_cookie(key, value, found.as_deref())
}

/// go-plugin's `protocolVersion`: the highest of `supported` that the host lists in
/// `PLUGIN_PROTOCOL_VERSIONS` (a comma list; unparsable entries are skipped); when none
/// matches, the lowest of `supported`, leaving the host to report the mismatch.
pub fn negotiate_protocol_version(supported: &[u32], offered: Option<&str>) -> u32 {
    let offered: Vec<u32> = offered
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .filter_map(|s| match s.parse() {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::warn!("server sent invalid plugin version {s:?}");
                None
            }
        })
        .collect();
    let mut ours = supported.to_vec();
    ours.sort_unstable_by(|a, b| b.cmp(a));
    ours.iter()
        .copied()
        .find(|v| offered.contains(v))
        .or_else(|| ours.last().copied())
        .unwrap_or(MATTERMOST_PROTOCOL_VERSION)
}

/// The handshake line, newline included: `1|<app version>|unix|<path>|netrpc|`. The sixth
/// field (a server certificate) is empty; the seventh (gRPC broker multiplexing) never applies
/// to net/rpc.
pub fn handshake_line(app_version: u32, socket: &Path) -> String {
    format!(
        "{CORE_PROTOCOL_VERSION}|{app_version}|unix|{}|netrpc|\n",
        socket.display()
    )
}

/// Where go-plugin puts the socket: `PLUGIN_UNIX_SOCKET_DIR` (v1.6+), else the temp dir
/// (`TMPDIR`, else `/tmp`).
pub fn socket_dir_from_env() -> PathBuf {
    match std::env::var_os(ENV_UNIX_SOCKET_DIR) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => std::env::temp_dir(),
    }
}

/// The plugin's listening socket; the socket file is removed when this is dropped (go-plugin's
/// `rmListener`).
#[derive(Debug)]
pub struct PluginListener {
    listener: tokio::net::UnixListener,
    path: PathBuf,
}

impl PluginListener {
    /// Bind where go-plugin would, from the environment (`PLUGIN_UNIX_SOCKET_DIR`, `TMPDIR`,
    /// `PLUGIN_UNIX_SOCKET_GROUP`). Needs a tokio runtime.
    pub fn bind_from_env() -> Result<Self, HandshakeError> {
        let group = std::env::var(ENV_UNIX_SOCKET_GROUP)
            .ok()
            .filter(|g| !g.is_empty());
        Self::bind(&socket_dir_from_env(), group.as_deref())
    }

    /// Bind `<dir>/plugin<random digits>` like `os.CreateTemp(dir, "plugin")`: the name is
    /// reserved by creating the file exclusively, which is then removed for the socket. With
    /// `group` (a name or a numeric id) the socket gets that group and mode 0660.
    pub fn bind(dir: &Path, group: Option<&str>) -> Result<Self, HandshakeError> {
        let listen_err = |source| HandshakeError::Listen {
            dir: dir.to_owned(),
            source,
        };
        let path = reserve_temp_name(dir, "plugin").map_err(listen_err)?;
        std::fs::remove_file(&path).map_err(listen_err)?;
        let listener = tokio::net::UnixListener::bind(&path).map_err(listen_err)?;
        let this = Self { listener, path };
        if let Some(group) = group {
            set_group_writable(&this.path, group).map_err(|source| HandshakeError::Group {
                group: group.to_owned(),
                source,
            })?;
        }
        Ok(this)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accept the host's connection.
    pub async fn accept(&self) -> io::Result<tokio::net::UnixStream> {
        self.listener.accept().await.map(|(s, _)| s)
    }
}

impl Drop for PluginListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `os.CreateTemp`'s naming: `<prefix><random decimal u32>`, created with O_EXCL, retried on
/// collision.
fn reserve_temp_name(dir: &Path, prefix: &str) -> io::Result<PathBuf> {
    for _ in 0..10_000 {
        let path = dir.join(format!("{prefix}{}", random_u32()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary name",
    ))
}

fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded randomly per process; mixing in time and a counter varies it per call.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    h.finish() as u32
}

fn set_group_writable(path: &Path, group: &str) -> io::Result<()> {
    let gid = match group.parse::<libc::gid_t>() {
        Ok(gid) => gid,
        Err(_) => lookup_group(group)?,
    };
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c_path` is a valid NUL-terminated path; uid -1 leaves the owner unchanged.
    if unsafe { libc::chown(c_path.as_ptr(), u32::MAX as libc::uid_t, gid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
}

fn lookup_group(name: &str) -> io::Result<libc::gid_t> {
    let c_name = CString::new(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: all-zero is a valid `group` (null pointers, zero gid).
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::group = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; `buf` outlives it.
    let rc = unsafe {
        libc::getgrnam_r(
            c_name.as_ptr(),
            &mut grp,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    if result.is_null() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("failed to find gid from {name:?}"),
        ));
    }
    Ok(grp.gr_gid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie() {
        let (k, v) = (MATTERMOST_MAGIC_COOKIE_KEY, MATTERMOST_MAGIC_COOKIE_VALUE);
        assert!(check_magic_cookie(k, v, Some(v)).is_ok());
        assert!(check_magic_cookie(k, v, None).is_err());
        assert!(check_magic_cookie(k, v, Some("Securely message teams")).is_err());
    }

    #[test]
    fn versions() {
        assert_eq!(negotiate_protocol_version(&[1], Some("1")), 1);
        assert_eq!(negotiate_protocol_version(&[1, 2], Some("1,2")), 2);
        assert_eq!(negotiate_protocol_version(&[1, 2], Some("x,1")), 1);
        // No match (or nothing offered): the lowest of ours.
        assert_eq!(negotiate_protocol_version(&[2, 3], Some("1")), 2);
        assert_eq!(negotiate_protocol_version(&[1], None), 1);
    }

    #[test]
    fn line() {
        assert_eq!(
            handshake_line(1, Path::new("/tmp/plugin123")),
            "1|1|unix|/tmp/plugin123|netrpc|\n"
        );
    }

    #[tokio::test]
    async fn listener_removes_its_socket() {
        let dir = tempfile::tempdir().unwrap();
        let l = PluginListener::bind(dir.path(), None).unwrap();
        let path = l.path().to_owned();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.starts_with("plugin") && name[6..].chars().all(|c| c.is_ascii_digit()));
        assert!(path.exists());
        drop(l);
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn listener_group_by_id() {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: getegid has no preconditions.
        let gid = unsafe { libc::getegid() };
        let l = PluginListener::bind(dir.path(), Some(&gid.to_string())).unwrap();
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::metadata(l.path()).unwrap();
        assert_eq!(meta.gid(), gid);
        assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    }
}
