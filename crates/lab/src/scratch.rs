//! Scratch folders: where a staged exploit may leave its proof, and nothing
//! else of anyone's can be mistaken for it.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A new, empty folder in the system's temp directory, removed with
/// everything in it when dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// A folder named after `what`, this process and a counter, so that no
    /// other run, or other scratch folder of this one, shares it.
    pub fn new(what: &str) -> io::Result<Self> {
        Self::under(&std::env::temp_dir(), what)
    }

    /// As [`new`](Self::new), under `parent`.
    pub fn under(parent: &Path, what: &str) -> io::Result<Self> {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!("{what}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(parent)?;
        std::fs::create_dir(&dir)?;
        Ok(Self { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The names of what the folder holds, sorted.
    pub fn entries(&self) -> io::Result<Vec<String>> {
        let mut names = std::fs::read_dir(&self.dir)?
            .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<io::Result<Vec<_>>>()?;
        names.sort();
        Ok(names)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
