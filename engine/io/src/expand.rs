//! Command-line paths → the ordered list of files to read.

use std::fs;
use std::path::{Path, PathBuf};

use crate::InputError;

/// Expands `paths` in order: a directory becomes every file below it (recursively, sorted by
/// path so runs are reproducible, hidden entries — names starting with `.` — skipped), a file
/// or `-` (stdin) is passed through as given, even if hidden, since it was named explicitly.
///
/// Symbolic links to files are followed; links to directories inside a walk are not, which
/// rules out cycles. A path that cannot be looked at (it does not exist, or vanished) is
/// passed through as a file: reading it then fails with [`InputError::Open`] for that input
/// alone, so one bad path among several does not stop the others from being read. A
/// directory that cannot be listed is an [`InputError::Walk`].
pub fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    expand_inputs_filtered(paths, &InputFilter::default())
}

/// Which files a directory walk keeps: `--include` / `--exclude` globs (`*.jsonl.gz`,
/// `**/2024-05-*/*`), matched against the path below the walked directory. Files named on
/// the command line are always kept.
#[derive(Debug, Clone, Default)]
pub struct InputFilter {
    include: Option<globset::GlobSet>,
    exclude: Option<globset::GlobSet>,
}

impl InputFilter {
    /// A filter from glob patterns; an invalid pattern is an error naming it.
    pub fn new(include: &[String], exclude: &[String]) -> Result<InputFilter, String> {
        let set = |pats: &[String]| -> Result<Option<globset::GlobSet>, String> {
            if pats.is_empty() {
                return Ok(None);
            }
            let mut b = globset::GlobSetBuilder::new();
            for p in pats {
                b.add(globset::Glob::new(p).map_err(|e| format!("glob `{p}`: {e}"))?);
            }
            b.build().map(Some).map_err(|e| e.to_string())
        };
        Ok(InputFilter {
            include: set(include)?,
            exclude: set(exclude)?,
        })
    }

    fn keeps(&self, relative: &Path) -> bool {
        self.include.as_ref().is_none_or(|g| g.is_match(relative))
            && !self.exclude.as_ref().is_some_and(|g| g.is_match(relative))
    }
}

/// [`expand_inputs`] with the walks filtered by `filter`.
pub fn expand_inputs_filtered(
    paths: &[PathBuf],
    filter: &InputFilter,
) -> Result<Vec<PathBuf>, InputError> {
    expand_inputs_noted(paths, filter).map(|e| e.files)
}

/// The files to read, and the entries a directory walk passed over that a user may have
/// meant to be read (hidden entries and the globs' choices aside): each should be told.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The files, in order.
    pub files: Vec<PathBuf>,
    /// Entries not read, each with why, sorted by path within each walk.
    pub passed_over: Vec<(PathBuf, &'static str)>,
}

/// [`expand_inputs_filtered`], also saying which entries the walks passed over: a symbolic
/// link to a directory (not followed, which rules out cycles), a broken link, a FIFO, socket
/// or device.
pub fn expand_inputs_noted(
    paths: &[PathBuf],
    filter: &InputFilter,
) -> Result<Expansion, InputError> {
    let mut out = Vec::new();
    let mut passed_over = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            out.push(path.clone());
            continue;
        }
        let Ok(meta) = fs::metadata(path) else {
            out.push(path.clone());
            continue;
        };
        if meta.is_dir() {
            let start = out.len();
            let noted = passed_over.len();
            walk(path, &mut out, &mut passed_over)?;
            // `read_dir` order is the file system's: sorted, like the files, for stable output.
            passed_over[noted..].sort();
            let mut found = out.split_off(start);
            found.retain(|f| filter.keeps(f.strip_prefix(path).unwrap_or(f)));
            found.sort();
            for f in found {
                push_file(f, filter, &mut out)?;
            }
        } else {
            // A file named on the command line is read whatever the globs say; the globs
            // still choose among an archive's members.
            push_file(path.clone(), filter, &mut out)?;
        }
    }
    Ok(Expansion {
        files: out,
        passed_over,
    })
}

/// The separator between a zip archive's path and a member's name in an input path:
/// `logs.zip!/2024/05/events.jsonl`.
pub const ZIP_MEMBER: &str = "!/";

/// A file, or each file member of a zip archive (as `archive.zip!/member`, sorted, kept by
/// `filter` on the member's name).
fn push_file(
    path: PathBuf,
    filter: &InputFilter,
    out: &mut Vec<PathBuf>,
) -> Result<(), InputError> {
    // Only a regular file is sniffed: the bytes read from a pipe or FIFO would be lost to
    // the read that follows (and a FIFO's writer may be gone by the time it is reopened).
    let mut magic = [0u8; 4];
    let is_zip = fs::metadata(&path).is_ok_and(|m| m.is_file())
        && fs::File::open(&path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok()
        && magic == *b"PK\x03\x04";
    if !is_zip {
        out.push(path);
        return Ok(());
    }
    let open_error = |e: zip::result::ZipError| InputError::Open {
        path: path.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    };
    let file = fs::File::open(&path).map_err(|source| InputError::Open {
        path: path.clone(),
        source,
    })?;
    let archive = zip::ZipArchive::new(file).map_err(open_error)?;
    // Sorted, like a directory walk, so runs are reproducible.
    let mut names: Vec<&str> = archive
        .file_names()
        .filter(|n| !n.ends_with('/') && filter.keeps(Path::new(n)))
        .collect();
    names.sort_unstable();
    for name in names {
        out.push(PathBuf::from(format!(
            "{}{ZIP_MEMBER}{name}",
            path.display()
        )));
    }
    Ok(())
}

/// Whether the input at `path` can be read twice (rules testing `distinct` sets read their
/// inputs twice when they can): a regular file, or a member of a zip archive that is one.
/// Decided from the file's metadata, not its name: `-` (standard input), a FIFO, `/dev/stdin`
/// on a pipe, a process substitution `<(...)` can be read once only. A path that cannot be
/// looked at counts as re-readable: opening it fails the same way each time.
pub fn is_rereadable(path: &Path) -> bool {
    if path.as_os_str() == "-" {
        return false;
    }
    let text = path.to_string_lossy();
    if let Some((archive, _)) = text.split_once(ZIP_MEMBER) {
        if let Ok(m) = fs::metadata(archive) {
            return m.is_file();
        }
    }
    fs::metadata(path).map_or(true, |m| m.is_file())
}

/// Opens an input path: a file, or a member of a zip archive (see [`ZIP_MEMBER`]).
pub fn open_input(path: &Path) -> std::io::Result<Box<dyn std::io::Read + Send>> {
    let text = path.to_string_lossy();
    if let Some((archive, member)) = text.split_once(ZIP_MEMBER) {
        if fs::metadata(archive).is_ok_and(|m| m.is_file()) {
            return ZipMember::open(Path::new(archive), member)
                .map(|m| Box::new(m) as Box<dyn std::io::Read + Send>);
        }
    }
    Ok(Box::new(fs::File::open(path)?))
}

/// A member of a zip archive, streamed. The `zip` crate's member reader borrows the archive, so
/// it cannot be handed out on its own; reading the whole member into memory instead made a
/// multi-gigabyte member cost its size in memory. A thread owns the archive and decompresses
/// the member into a channel of [`ZIP_PIECES`] pieces of [`ZIP_PIECE_BYTES`]: memory stays
/// bounded whatever the member's size, and the thread ends when the member does or when the
/// reader is dropped (its next send fails).
struct ZipMember {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    piece: Vec<u8>,
    at: usize,
    done: bool,
}

const ZIP_PIECES: usize = 2;
const ZIP_PIECE_BYTES: usize = 256 << 10;

impl ZipMember {
    fn open(archive: &Path, member: &str) -> std::io::Result<ZipMember> {
        use std::io::{Error, ErrorKind};
        let file = fs::File::open(archive)?;
        let mut zip =
            zip::ZipArchive::new(file).map_err(|e| Error::new(ErrorKind::InvalidData, e))?;
        // Found here, so that a missing member is an open error, not a read error later.
        zip.by_name(member)
            .map_err(|e| Error::new(ErrorKind::NotFound, e))?;
        let (tx, rx) = std::sync::mpsc::sync_channel(ZIP_PIECES);
        let member = member.to_string();
        std::thread::Builder::new()
            .name("zip member".into())
            .spawn(move || {
                use std::io::Read as _;
                let mut entry = match zip.by_name(&member) {
                    Ok(e) => e,
                    Err(e) => {
                        let _ = tx.send(Err(Error::new(ErrorKind::NotFound, e)));
                        return;
                    }
                };
                loop {
                    let mut piece = Vec::with_capacity(ZIP_PIECE_BYTES);
                    let read = std::io::Read::by_ref(&mut entry)
                        .take(ZIP_PIECE_BYTES as u64)
                        .read_to_end(&mut piece);
                    let end = matches!(read, Ok(0)) || read.is_err();
                    let msg = match read {
                        Ok(_) => Ok(piece),
                        // What was read before the error is delivered first.
                        Err(e) if piece.is_empty() => Err(e),
                        Err(e) => {
                            if tx.send(Ok(piece)).is_err() {
                                return;
                            }
                            Err(e)
                        }
                    };
                    // A failed send: the reader is gone, nothing more to do.
                    if tx.send(msg).is_err() || end {
                        return;
                    }
                }
            })?;
        Ok(ZipMember {
            rx,
            piece: Vec::new(),
            at: 0,
            done: false,
        })
    }
}

impl std::io::Read for ZipMember {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.piece.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(piece)) if piece.is_empty() => self.done = true,
                Ok(Ok(piece)) => (self.piece, self.at) = (piece, 0),
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(std::io::Error::other(
                        "the zip member's reader thread stopped",
                    ));
                }
            }
        }
        let n = buf.len().min(self.piece.len() - self.at);
        buf[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn walk(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    passed_over: &mut Vec<(PathBuf, &'static str)>,
) -> Result<(), InputError> {
    let walk_error = |source| InputError::Walk {
        path: dir.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(walk_error)? {
        let entry = entry.map_err(walk_error)?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(walk_error)?;
        if kind.is_dir() {
            walk(&path, out, passed_over)?;
        } else if kind.is_file() {
            out.push(path);
        } else if kind.is_symlink() {
            match fs::metadata(&path) {
                Ok(m) if m.is_file() => out.push(path),
                Ok(m) if m.is_dir() => passed_over.push((
                    path,
                    "a symbolic link to a directory, not followed (name it to read it)",
                )),
                Ok(_) => passed_over.push((path, "a link to something not a regular file")),
                Err(_) => passed_over.push((path, "a broken symbolic link")),
            }
        } else {
            passed_over.push((path, "not a regular file (a FIFO, socket or device)"));
        }
    }
    Ok(())
}
