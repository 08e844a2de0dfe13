//! Outputs written where no reader sees them until they are whole: a file as an unnamed
//! (`O_TMPFILE`) or hidden file beside its destination, a partitioned tree as a hidden
//! folder, each put in place by a rename; what killed runs left behind is removed.

use super::*;

/// The folder of `dest` (created) and the hidden name beside it that an output is
/// written under until it is whole (`.NAME.assay-partial-PID`); what killed assays left
/// under such names is removed first.
pub(crate) fn hidden_beside(dest: &Path) -> Result<(PathBuf, PathBuf)> {
    let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir.display(), &e))?;
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    remove_stale_partials(dir, &name);
    Ok((dir.to_path_buf(), dir.join(format!(".{name}.assay-partial-{}", std::process::id()))))
}

/// The error of an output whose folder (`dir`) cannot be written in.
pub(crate) fn folder_refused(dir: &Path, dest: &str, e: &std::io::Error) -> Error {
    io_error(format!("{} (the folder of {dest})", dir.display()), e).into()
}

/// The files SQLite keeps beside a database (its journals), named by their suffixes.
pub const COMPANIONS: [&str; 3] = ["-journal", "-wal", "-shm"];

/// Removes the hidden partial outputs of `name` in `dir` (`.NAME.assay-partial-PID`,
/// `.NAME.assay-old-PID`, and the journals SQLite keeps beside a database being built,
/// `.NAME.assay-partial-PID-wal` and the like) that a killed assay left: those whose
/// process no longer runs (Linux, via /proc; elsewhere nothing is removed).
pub(super) fn remove_stale_partials(dir: &Path, name: &str) {
    crate::source::remove_left_by_dead(dir, |file| {
        let rest = file.strip_prefix(&format!(".{name}."))?;
        let pid = rest.strip_prefix("assay-partial-").or_else(|| rest.strip_prefix("assay-old-"))?;
        let pid = COMPANIONS.iter().find_map(|s| pid.strip_suffix(s)).unwrap_or(pid);
        pid.parse().ok()
    });
}

/// A partitioned tree being written into a hidden folder beside `dest`, which takes
/// its place only on `commit` (an existing tree is moved aside, then removed); dropped
/// before that, the hidden folder is removed.
pub struct StagedTree {
    temp: PathBuf,
    dest: String,
}

impl StagedTree {
    pub fn new(dest: &str) -> Result<StagedTree> {
        let path = Path::new(dest.trim_end_matches('/'));
        if path.is_file() {
            return Err(Error::refused(format!("{dest}: is a file; a partitioned output is a folder")));
        }
        let (dir, temp) = hidden_beside(path)?;
        let _ = std::fs::remove_dir_all(&temp);
        std::fs::create_dir(&temp).map_err(|e| folder_refused(&dir, dest, &e))?;
        Ok(StagedTree { temp, dest: dest.trim_end_matches('/').to_string() })
    }

    pub fn temp(&self) -> &Path {
        &self.temp
    }

    pub fn commit(self) -> Result<()> {
        let path = Path::new(&self.dest);
        let old = self.temp.with_file_name(
            self.temp
                .file_name()
                .map(|n| n.to_string_lossy().replace("assay-partial", "assay-old"))
                .unwrap_or_default(),
        );
        if path.exists() {
            std::fs::rename(path, &old).map_err(|e| io_error(&self.dest, &e))?;
        }
        if let Err(e) = std::fs::rename(&self.temp, path) {
            let _ = std::fs::rename(&old, path);
            return Err(io_error(&self.dest, &e).into());
        }
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }
}

impl Drop for StagedTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.temp);
    }
}

/// Writes `text` to `dest` atomically (a rules file saved from the workbench).
pub fn write_text(text: &str, dest: &str) -> Result<()> {
    write_atomic(dest, |temp| {
        let shown = temp.display().to_string();
        std::fs::write(temp, text).map_err(|e| io_error(&shown, &e))?;
        std::fs::File::open(temp).and_then(|f| f.sync_all()).map_err(|e| io_error(&shown, &e).into())
    })
}

/// Runs `write` on a temporary path beside `dest`, then renames it over `dest`; on any
/// error the temporary file is removed and `dest` is as it was.
pub fn write_atomic(dest: &str, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let stage = Staged::new(dest)?;
    // The staged file's name (`/proc/self/fd/N`, or a hidden one) means nothing to the
    // user: errors name the destination.
    let temp = stage.temp().display().to_string();
    write(stage.temp()).map_err(|e| e.map_message(|m| m.replace(&temp, dest)))?;
    stage.commit()
}

/// An output being written, in the destination's folder, that becomes the destination
/// only on `commit`. On Linux it is an unnamed file (`O_TMPFILE`): nothing is on disk
/// under any name until the commit links it beside the destination and renames it over
/// it, so even a kill (SIGKILL, a power cut) leaves no partial file, only the previous
/// output. Elsewhere (or where the filesystem has no unnamed files) it is a hidden
/// `.NAME.assay-partial-PID` file, removed if dropped before the commit.
#[derive(Debug)]
pub struct Staged {
    /// Where writers write: `/proc/self/fd/N` for an unnamed file.
    temp: PathBuf,
    dest: String,
    /// The hidden name beside the destination.
    named: PathBuf,
    unnamed: Option<std::fs::File>,
    committed: bool,
}

impl Staged {
    /// Prepares `dest` (its folder is created).
    pub fn new(dest: &str) -> Result<Staged> {
        let (dir, named) = hidden_beside(Path::new(dest))?;
        // A folder we may not write to says so now, before any work.
        let refused = |e: std::io::Error| folder_refused(&dir, dest, &e);
        // Polars' async writer (`POLARS_FORCE_ASYNC=1`, which docs/internals.md suggests for lower
        // RSS) writes beside the path and renames: not possible under /proc/self/fd.
        let unnamed = if polars_config::config().force_async() {
            Err(std::io::Error::other("Polars writes files through its async path"))
        } else {
            unnamed_file(&dir)
        };
        let unnamed = match unnamed {
            Ok(file) => Some(file),
            Err(e) if matches!(e.kind(), ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem) => {
                return Err(refused(e));
            }
            Err(_) => {
                std::fs::File::create(&named).map_err(refused)?;
                None
            }
        };
        let temp = match &unnamed {
            Some(file) => unnamed_path(file),
            None => named.clone(),
        };
        Ok(Staged { temp, dest: dest.to_string(), named, unnamed, committed: false })
    }

    /// Where to write.
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// Puts the written file in place of the destination.
    pub fn commit(mut self) -> Result<()> {
        if let Some(file) = &self.unnamed {
            let _ = std::fs::remove_file(&self.named);
            link_unnamed(file, &self.named).map_err(|e| io_error(self.named.display(), &e))?;
        }
        let renamed = std::fs::rename(&self.named, &self.dest).map_err(|e| io_error(&self.dest, &e));
        if renamed.is_err() {
            let _ = std::fs::remove_file(&self.named);
        }
        renamed?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed && self.unnamed.is_none() {
            let _ = std::fs::remove_file(&self.named);
        }
    }
}

/// An unnamed file in `dir` (Linux `O_TMPFILE`), when the filesystem has them.
#[cfg(target_os = "linux")]
pub(super) fn unnamed_file(dir: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().read(true).write(true).custom_flags(libc::O_TMPFILE).mode(0o644).open(dir)
}

#[cfg(not(target_os = "linux"))]
pub(super) fn unnamed_file(_dir: &Path) -> std::io::Result<std::fs::File> {
    Err(std::io::Error::other("unnamed files are Linux-only"))
}

#[cfg(target_os = "linux")]
pub(super) fn unnamed_path(file: &std::fs::File) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

#[cfg(not(target_os = "linux"))]
pub(super) fn unnamed_path(_file: &std::fs::File) -> PathBuf {
    PathBuf::new()
}

/// Gives the unnamed `file` the name `to` (`linkat` following the `/proc` link, which
/// `std::fs::hard_link` does not).
#[cfg(target_os = "linux")]
pub(super) fn link_unnamed(file: &std::fs::File, to: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let from = std::ffi::CString::new(unnamed_path(file).as_os_str().as_bytes())?;
    let to = std::ffi::CString::new(to.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths that live across the call.
    let rc = unsafe {
        libc::linkat(libc::AT_FDCWD, from.as_ptr(), libc::AT_FDCWD, to.as_ptr(), libc::AT_SYMLINK_FOLLOW)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn link_unnamed(_file: &std::fs::File, _to: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("unnamed files are Linux-only"))
}
