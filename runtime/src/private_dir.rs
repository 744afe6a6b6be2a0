//! Private temporary directories for Unix sockets: created mode 0700 (never chmod-ed afterwards,
//! so no other user can enter at any moment), removed when the handle drops.

use std::io;
use std::path::Path;

/// A new `<base>/<prefix>XXXXXX` directory only this user can enter.
pub(crate) fn private_dir(base: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .rand_bytes(6)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(base)
}
