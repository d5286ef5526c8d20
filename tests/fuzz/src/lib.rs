//! What the fuzz targets share: where their scratch files and trees go.

use std::path::PathBuf;

/// A path of this process's own for the scratch object `what`: on tmpfs (`/dev/shm`) when there
/// is one, for speed, else in the temporary folder.
pub fn scratch(what: &str) -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    let dir = if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    };
    dir.join(format!("alpine-strip-fuzz-{what}-{}", std::process::id()))
}
