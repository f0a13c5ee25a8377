//! Extract: unpack a verified zip into the staging tree, refusing anything hostile.
//!
//! The whole archive is checked before the first byte is written (names, types, counts,
//! declared sizes), and each entry is checked again while it inflates (real size and CRC-32),
//! because headers are attacker-controlled. Refusing the archive is always the answer: an
//! artifact is a hand-off between jobs, and one hostile entry means something is wrong with all
//! of it. Nothing here touches the destination; `staging` moves the result into place.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use zip::ZipArchive;
use zip::result::ZipError;

/// Bounds that keep a zip bomb from filling the runner's disk.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_entries: usize,
    pub max_total_bytes: u64,
    /// Largest tolerated uncompressed/compressed ratio for entries above `ratio_floor` bytes.
    /// Deflate tops out near 1032:1 on a run of zeros, so anything far past that is a
    /// crafted archive, not data.
    pub max_ratio: u64,
    pub ratio_floor: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 1_000_000,
            max_total_bytes: 20 << 30,
            max_ratio: 1000,
            ratio_floor: 16 << 20,
        }
    }
}

/// Why an archive was refused, naming the entry.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("refusing the archive: entry `{entry}` {reason}; nothing was extracted")]
    Refused { entry: String, reason: String },
    #[error("refusing the archive: {0}; nothing was extracted")]
    RefusedArchive(String),
    #[error("the artifact is not a readable zip archive: {0}")]
    BadZip(String),
    #[error("extraction cancelled")]
    Cancelled,
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn refuse(entry: &str, reason: impl Into<String>) -> ExtractError {
    ExtractError::Refused {
        entry: entry.escape_debug().to_string(),
        reason: reason.into(),
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ExtractError + '_ {
    move |source| ExtractError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What was extracted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub files: u64,
    pub dirs: u64,
    pub bytes: u64,
}

/// One entry, checked and ready to write.
#[derive(Debug)]
struct Planned {
    index: usize,
    name: String,
    path: PathBuf,
    kind: Kind,
    size: u64,
    compressed: u64,
    crc32: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File { mode: u32 },
}

const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;
/// Permission bits only: setuid, setgid and sticky are never written.
const PERM_BITS: u32 = 0o777;
const DIR_MODE: u32 = 0o755;
const DEFAULT_FILE_MODE: u32 = 0o644;

/// Extracts `zip_path` into the empty directory `into`.
pub fn extract(zip_path: &Path, into: &Path, limits: &Limits) -> Result<Extracted, ExtractError> {
    let file = File::open(zip_path).map_err(io_err(zip_path))?;
    let len = file.metadata().map_err(io_err(zip_path))?.len();
    let reader = SharedFile {
        file: Arc::new(file),
        pos: 0,
        len,
    };
    let mut archive = ZipArchive::new(reader).map_err(|e| ExtractError::BadZip(e.to_string()))?;
    let plan = plan(&mut archive, limits)?;
    write_all(&archive, &plan, into)
}

/// Checks every entry before anything is written.
fn plan(
    archive: &mut ZipArchive<SharedFile>,
    limits: &Limits,
) -> Result<Vec<Planned>, ExtractError> {
    if archive.has_duplicate_names() {
        return Err(ExtractError::RefusedArchive(
            "it holds two entries with the same name".into(),
        ));
    }
    // Entries that share bytes ("overlapping" zip bombs) inflate the same data many times.
    if archive.has_overlapping_entries().unwrap_or(true) {
        return Err(ExtractError::RefusedArchive(
            "its entries overlap each other (a zip bomb construction)".into(),
        ));
    }
    if archive.len() > limits.max_entries {
        return Err(ExtractError::RefusedArchive(format!(
            "it holds {} entries, more than the limit of {}",
            archive.len(),
            limits.max_entries
        )));
    }
    let mut plan = Vec::with_capacity(archive.len());
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| ExtractError::BadZip(e.to_string()))?;
        let raw_name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let name = entry.name().map(|n| n.into_owned()).unwrap_or(raw_name);
        let Some(path) = safe_relative_path(&name)? else {
            continue; // "./" or "/" alone: the root itself, nothing to create
        };
        if entry.encrypted() {
            return Err(refuse(&name, "is encrypted (password-protected)"));
        }
        let mode = entry.unix_mode();
        let kind = match mode.map(|m| m & S_IFMT) {
            Some(S_IFLNK) => return Err(refuse(&name, "is a symbolic link")),
            _ if entry.is_dir() || mode.is_some_and(|m| m & S_IFMT == S_IFDIR) => Kind::Dir,
            None | Some(0) | Some(S_IFREG) => Kind::File {
                mode: mode.map_or(DEFAULT_FILE_MODE, |m| m & PERM_BITS),
            },
            Some(other) => {
                return Err(refuse(&name, format!("is a special file (type {other:o})")));
            }
        };
        if kind != Kind::Dir {
            check_method(&name, entry.compression())?;
        }
        if !seen.insert(path.clone()) {
            return Err(refuse(&name, "appears twice"));
        }
        let size = entry.size();
        let compressed = entry.compressed_size().max(1);
        if size > limits.ratio_floor && size / compressed > limits.max_ratio {
            return Err(refuse(
                &name,
                format!(
                    "inflates {size} bytes from {compressed} ({}:1, over the limit of {}:1): a zip bomb",
                    size / compressed,
                    limits.max_ratio
                ),
            ));
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(ExtractError::RefusedArchive(format!(
                "it inflates to more than the limit of {} bytes",
                limits.max_total_bytes
            )));
        }
        plan.push(Planned {
            index,
            name,
            path,
            kind,
            size,
            compressed,
            crc32: entry.crc32(),
        });
    }
    // A file and a directory of the same path (`a` then `a/b`) cannot both exist.
    let files: HashSet<&Path> = plan
        .iter()
        .filter(|p| matches!(p.kind, Kind::File { .. }))
        .map(|p| p.path.as_path())
        .collect();
    for p in &plan {
        if let Some(dir) = p.path.ancestors().skip(1).find(|d| files.contains(d)) {
            return Err(refuse(
                &p.name,
                format!("lies under `{}`, which is also a file", dir.display()),
            ));
        }
    }
    Ok(plan)
}

fn check_method(name: &str, method: zip::CompressionMethod) -> Result<(), ExtractError> {
    #[allow(deprecated)]
    match method {
        zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated => Ok(()),
        other => Err(refuse(
            name,
            format!(
                "uses compression method {other:?}, which is not supported (only stored and deflate)"
            ),
        )),
    }
}

/// Validates an entry name and turns it into a relative path. `None` for the root itself.
///
/// Refused: NUL bytes, absolute paths, Windows drive letters and UNC paths, and any `..`
/// component. Backslashes are read as separators, as Windows zip tools write them.
pub fn safe_relative_path(name: &str) -> Result<Option<PathBuf>, ExtractError> {
    if name.contains('\0') {
        return Err(refuse(name, "contains a NUL byte"));
    }
    let unified = name.replace('\\', "/");
    if unified.starts_with('/') {
        return Err(refuse(name, "has an absolute path"));
    }
    let bytes = unified.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(refuse(name, "starts with a Windows drive letter"));
    }
    let mut path = PathBuf::new();
    for part in unified.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(refuse(name, "climbs out of the destination with `..`")),
            p => path.push(p),
        }
    }
    Ok((!path.as_os_str().is_empty()).then_some(path))
}

/// Writes the planned entries: directories first (each created once, 0755), then the files,
/// inflated on every core. Entries are dealt to workers largest first, each to the worker with
/// the least compressed bytes so far, so one huge entry does not leave a core idle at the end.
fn write_all(
    archive: &ZipArchive<SharedFile>,
    plan: &[Planned],
    into: &Path,
) -> Result<Extracted, ExtractError> {
    let mut made_dirs: HashSet<PathBuf> = HashSet::new();
    let mut out = Extracted::default();
    for p in plan {
        match p.kind {
            Kind::Dir => {
                make_dirs(into, &p.path, &mut made_dirs)?;
                out.dirs += 1;
            }
            Kind::File { .. } => {
                if let Some(parent) = p.path.parent() {
                    make_dirs(into, parent, &mut made_dirs)?;
                }
            }
        }
    }

    let mut files: Vec<&Planned> = plan
        .iter()
        .filter(|p| matches!(p.kind, Kind::File { .. }))
        .collect();
    files.sort_by_key(|p| std::cmp::Reverse(p.compressed));
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(files.len().max(1));
    let mut buckets: Vec<(u64, Vec<&Planned>)> = vec![(0, Vec::new()); workers];
    for p in files {
        if let Some(b) = buckets.iter_mut().min_by_key(|b| b.0) {
            b.0 += p.compressed.max(1);
            b.1.push(p);
        }
    }

    let failed = AtomicBool::new(false);
    let results: Vec<Result<(u64, u64), ExtractError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = buckets
            .into_iter()
            .map(|(_, bucket)| {
                // A clone shares the parsed central directory and reads through its own
                // position in the same file.
                let mut archive = archive.clone();
                let failed = &failed;
                scope.spawn(move || {
                    let r = write_files(&mut archive, &bucket, into, failed);
                    if r.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    r
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ExtractError::RefusedArchive(
                        "an extraction worker crashed".into(),
                    ))
                })
            })
            .collect()
    });
    // Report the real failure, not a worker that merely stopped because another failed.
    let mut stopped = None;
    for r in results {
        match r {
            Ok((files, bytes)) => {
                out.files += files;
                out.bytes += bytes;
            }
            Err(ExtractError::Cancelled) => stopped = Some(ExtractError::Cancelled),
            Err(e) => return Err(e),
        }
    }
    match stopped {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn write_files(
    archive: &mut ZipArchive<SharedFile>,
    bucket: &[&Planned],
    into: &Path,
    failed: &AtomicBool,
) -> Result<(u64, u64), ExtractError> {
    let (mut files, mut bytes) = (0, 0);
    for p in bucket {
        if crate::is_cancelled() || failed.load(Ordering::Relaxed) {
            return Err(ExtractError::Cancelled);
        }
        let Kind::File { mode } = p.kind else {
            continue;
        };
        let target = into.join(&p.path);
        let mut entry = archive
            .by_index(p.index)
            .map_err(|e| zip_error(&p.name, e))?;
        bytes += write_file(&mut entry, &target, p)?;
        set_mode(&target, mode)?;
        files += 1;
    }
    Ok((files, bytes))
}

/// A file read with `pread`: clones share the descriptor but keep their own position, so
/// workers never fight over a seek pointer.
#[derive(Clone)]
struct SharedFile {
    file: Arc<File>,
    pos: u64,
    len: u64,
}

impl Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}

/// Creates `rel` and its missing ancestors under `root`, each 0755 whatever the umask, and each
/// only once: the zip crate's own `extract()` leaves missing parents 0700, which later steps of
/// the job (another user on self-hosted runners) cannot read.
fn make_dirs(root: &Path, rel: &Path, made: &mut HashSet<PathBuf>) -> Result<(), ExtractError> {
    let mut current = PathBuf::new();
    for c in rel.components() {
        current.push(c);
        if made.contains(&current) {
            continue;
        }
        let dir = root.join(&current);
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let meta = fs::symlink_metadata(&dir).map_err(io_err(&dir))?;
                if !meta.is_dir() {
                    return Err(refuse(
                        &current.display().to_string(),
                        "is needed as a directory but is a file",
                    ));
                }
            }
            Err(e) => return Err(io_err(&dir)(e)),
        }
        set_mode(&dir, DIR_MODE)?;
        made.insert(current.clone());
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), ExtractError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_err(path))
}

/// Inflates one entry, checking that the real size matches the header (the CRC-32 is checked
/// by the zip reader at the end of the entry).
fn write_file(entry: &mut impl Read, target: &Path, p: &Planned) -> Result<u64, ExtractError> {
    // create_new: an entry must never write through something already there.
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(target)
        .map_err(io_err(target))?;
    let buf_size = usize::try_from(p.size.clamp(8 << 10, 1 << 20)).unwrap_or(1 << 20);
    let mut writer = BufWriter::with_capacity(buf_size, file);
    // Read at most one byte past the declared size: enough to prove the header lied without
    // letting a bomb run on.
    let mut limited = Cancellable(entry.take(p.size.saturating_add(1)));
    let written = io::copy(&mut limited, &mut writer).map_err(|e| {
        if crate::is_cancelled() {
            ExtractError::Cancelled
        } else if e.kind() == io::ErrorKind::InvalidData || e.to_string().contains("checksum") {
            refuse(
                &p.name,
                format!("is corrupt ({e}); expected CRC-32 {:08x}", p.crc32),
            )
        } else {
            io_err(target)(e)
        }
    })?;
    if written != p.size {
        return Err(refuse(
            &p.name,
            format!(
                "inflates to {}{} bytes but its header says {}",
                if written > p.size { "more than " } else { "" },
                if written > p.size { p.size } else { written },
                p.size
            ),
        ));
    }
    writer.flush().map_err(io_err(target))?;
    Ok(written)
}

/// Stops a long inflate between reads once the job is cancelled.
struct Cancellable<R>(R);

impl<R: Read> Read for Cancellable<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if crate::is_cancelled() {
            // Not `Interrupted`: io::copy retries those.
            return Err(io::Error::other("cancelled"));
        }
        self.0.read(buf)
    }
}

fn zip_error(name: &str, e: ZipError) -> ExtractError {
    match e {
        ZipError::UnsupportedArchive(msg) => refuse(name, format!("is not supported: {msg}")),
        other => refuse(name, format!("cannot be read: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        let ok = |n: &str| {
            safe_relative_path(n)
                .unwrap()
                .map(|p| p.display().to_string())
        };
        assert_eq!(ok("a/b.txt").as_deref(), Some("a/b.txt"));
        assert_eq!(ok("a\\b.txt").as_deref(), Some("a/b.txt"));
        assert_eq!(ok("./a//b/").as_deref(), Some("a/b"));
        assert_eq!(ok("./"), None);
        for bad in [
            "../x",
            "a/../../x",
            "a/..",
            "/etc/passwd",
            "\\evil",
            "C:/x",
            "c:x",
            "..\\x",
            "a\0b",
            "//server/share",
        ] {
            assert!(
                safe_relative_path(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }
}
