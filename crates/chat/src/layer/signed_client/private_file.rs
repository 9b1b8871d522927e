//! The files a member of the signed layer keeps (its identity, the keys it
//! pinned): readable by their owner only, and written whole or not at all.
//!
//! What others can change is not trusted, as ssh refuses an
//! `authorized_keys` that others can write: [`exposure`] says whether group
//! or others may write a file or folder, or another user owns it; [`mode`]
//! whether others may read one.
//!
//! A file is never written in place. Its new content goes to a draft beside
//! it (same folder, so same file system), mode 0600, synced to disk, and
//! the draft then takes the file's name in one step: a `rename` to replace
//! it, a `link` to create it only if it does not exist yet. Whoever reads
//! the file, another client or this one after a crash, sees the old content
//! or the new, never half of one.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use std::os::unix::fs::MetadataExt;

use nix::fcntl::{Flock, FlockArg};
use nix::unistd::geteuid;

/// Mode of a file only its owner reads and writes.
pub const OWNER_ONLY: u32 = 0o600;
/// Mode of a folder this module creates.
const PRIVATE_FOLDER: u32 = 0o700;
/// Permission bits that let someone else than the owner in.
pub const OTHERS: u32 = 0o077;
/// Permission bits that let someone else than the owner write.
pub const OTHERS_WRITE: u32 = 0o022;
/// The user whose files every user's files trust anyway.
const ROOT: u32 = 0;

/// How others could change a file or folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Group or others may write it (its permission bits).
    Writable { mode: u32 },
    /// Another user owns it (its owner's uid): neither this one nor root.
    Foreign { owner: u32 },
}

/// How others could change `path`, if they could: it is refused then.
pub fn exposure(path: &Path) -> io::Result<Option<Exposure>> {
    let meta = fs::metadata(path)?;
    let owner = meta.uid();
    if owner != geteuid().as_raw() && owner != ROOT {
        return Ok(Some(Exposure::Foreign { owner }));
    }
    let mode = meta.permissions().mode() & 0o777;
    Ok((mode & OTHERS_WRITE != 0).then_some(Exposure::Writable { mode }))
}

/// Drafts written by this process, to name each one differently.
static DRAFTS: AtomicU64 = AtomicU64::new(0);

/// Creates `path` holding `bytes` if nothing has that name yet: true if
/// this call created it, false if a file was there (another process may
/// have just created it: read that one).
pub fn create_new(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    ensure_folder(path)?;
    let draft = write_draft(path, bytes)?;
    let linked = fs::hard_link(&draft, path);
    let _ = fs::remove_file(&draft);
    match linked {
        Ok(()) => sync_folder(path).map(|()| true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `bytes`, atomically.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let draft = write_draft(path, bytes)?;
    if let Err(e) = fs::rename(&draft, path) {
        let _ = fs::remove_file(&draft);
        return Err(e);
    }
    sync_folder(path)
}

/// The folder `path` goes in (`.` for a bare name).
pub fn folder(path: &Path) -> &Path {
    match folder_of(path) {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    }
}

/// Makes the folder `path` goes in, owner-only, if it is missing.
pub fn ensure_folder(path: &Path) -> io::Result<()> {
    match folder_of(path) {
        Some(folder) if !folder.as_os_str().is_empty() => DirBuilder::new()
            .recursive(true)
            .mode(PRIVATE_FOLDER)
            .create(folder),
        _ => Ok(()),
    }
}

/// Fails unless this process could [`replace`] `path`: the file, if there,
/// opens for writing, and a draft can be created beside it.
pub fn check_writable(path: &Path) -> io::Result<()> {
    if path.exists() {
        OpenOptions::new().append(true).open(path)?;
    }
    let draft = write_draft(path, b"")?;
    fs::remove_file(draft)
}

/// The permission bits of `path`'s file.
pub fn mode(path: &Path) -> io::Result<u32> {
    Ok(fs::metadata(path)?.permissions().mode() & 0o777)
}

/// An exclusive lock beside `path` (`PATH.lock`), held until dropped, so
/// that two clients sharing the file update it one after the other.
pub fn lock(path: &Path) -> io::Result<Flock<File>> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(OWNER_ONLY)
        .open(PathBuf::from(name))?;
    Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| io::Error::from(errno))
}

/// Writes `bytes` to a new owner-only file beside `path`, synced to disk.
fn write_draft(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let number = DRAFTS.fetch_add(1, Ordering::Relaxed);
    let draft = path.with_file_name(format!(".{name}.{}.{number}.tmp", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(OWNER_ONLY)
        .open(&draft)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
    match written {
        Ok(()) => Ok(draft),
        Err(e) => {
            let _ = fs::remove_file(&draft);
            Err(e)
        }
    }
}

/// Syncs the folder of `path`, so that its new name survives a crash.
fn sync_folder(path: &Path) -> io::Result<()> {
    match folder_of(path) {
        Some(folder) if !folder.as_os_str().is_empty() => File::open(folder)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

fn folder_of(path: &Path) -> Option<&Path> {
    path.parent()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let folder =
            std::env::temp_dir().join(format!("chat-private-file-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&folder);
        folder.join("sub").join("file")
    }

    #[test]
    fn a_file_is_created_once_owner_only_then_replaced_whole() {
        let path = scratch("create");
        assert!(create_new(&path, b"first").unwrap());
        assert!(!create_new(&path, b"second").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(mode(&path).unwrap(), OWNER_ONLY);
        let folder = path.parent().unwrap();
        assert_eq!(mode(folder).unwrap(), PRIVATE_FOLDER);
        replace(&path, b"third").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"third");
        check_writable(&path).unwrap();
        let _held = lock(&path).unwrap();
        // Nothing but the file and its lock is left in the folder.
        let mut names: Vec<String> = fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["file", "file.lock"]);
        fs::remove_dir_all(folder.parent().unwrap()).unwrap();
    }

    #[test]
    fn what_others_can_write_or_own_is_exposed() {
        let path = scratch("exposure");
        create_new(&path, b"pins").unwrap();
        assert_eq!(exposure(&path).unwrap(), None);
        assert_eq!(exposure(folder(&path)).unwrap(), None);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(exposure(&path).unwrap(), None, "others may read pins");
        for mode in [0o620, 0o602, 0o666] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(exposure(&path).unwrap(), Some(Exposure::Writable { mode }));
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let nobody = 65534;
        if std::os::unix::fs::chown(&path, Some(nobody), None).is_ok() {
            assert_eq!(
                exposure(&path).unwrap(),
                Some(Exposure::Foreign { owner: nobody })
            );
        }
        assert_eq!(folder(Path::new("known")), Path::new("."));
        fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    }
}
