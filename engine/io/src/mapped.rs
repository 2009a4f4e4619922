//! Regular files of JSON lines cut into pieces through memory maps: each piece is a read-only
//! map of its own range of the file, so the workers read the page cache's pages in place
//! instead of a copy of them (the kernel's copy was 7–15 % of a run over storage-account
//! lines, paid once per pass; benches/RESULTS.md, issue 15).
//!
//! Memory stays bounded as with read buffers: only the pieces in flight are mapped, and a
//! piece's pages leave the process (and its resident set, where file-backed pages count) when
//! the worker drops it. The pieces are cut as [`read_pieces`](crate::read_pieces) cuts them (but
//! a line longer than a piece widens the window by doubling, not a piece at a time: each
//! widening maps again) and read by the same code.
//!
//! Compressed inputs, pipes, zip members and other framings keep the reading path: only a
//! plain regular file has pages to map. The risk taken is the one every reader through maps
//! takes (ripgrep's default for files too): a file truncated by another process while a
//! piece of it is mapped faults on the missing pages (SIGBUS) instead of reading short.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::{open, Framing, InputError, Piece, PieceStats, ReadOptions};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A read-only, private map of a range of a file: the lines of one piece. Unmapped on drop.
pub struct Mapped {
    base: *mut libc::c_void,
    map_len: usize,
    /// Where the piece starts in the map (a map starts on a page boundary, a line anywhere).
    skip: usize,
    len: usize,
}

// SAFETY: the map is read-only and owned by this value alone; no one writes through it, so
// sharing or moving it across threads is as safe as a `Box<[u8]>`.
unsafe impl Send for Mapped {}
// SAFETY: as above: `&Mapped` only gives out `&[u8]`.
unsafe impl Sync for Mapped {}

impl std::fmt::Debug for Mapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mapped({} bytes)", self.len)
    }
}

impl std::ops::Deref for Mapped {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `skip + len <= map_len` bytes were mapped readable at `base` (see `map`)
        // and stay mapped until `self` drops.
        unsafe { std::slice::from_raw_parts((self.base as *const u8).add(self.skip), self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: `base`/`map_len` are exactly what `mmap` returned and took; nothing borrows
        // the bytes past this point.
        unsafe {
            libc::munmap(self.base, self.map_len);
        }
    }
}

impl Mapped {
    /// Maps `len > 0` bytes of `file` from `offset`, its pages read in now (by the reading
    /// thread, while the workers evaluate earlier pieces) rather than faulted in one by one.
    fn map(file: &File, offset: u64, len: usize) -> io::Result<Mapped> {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
        let aligned = offset - offset % page;
        let skip = (offset - aligned) as usize;
        let map_len = skip + len;
        #[cfg(target_os = "linux")]
        let flags = libc::MAP_PRIVATE | libc::MAP_POPULATE;
        #[cfg(not(target_os = "linux"))]
        let flags = libc::MAP_PRIVATE;
        let offset = libc::off_t::try_from(aligned)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset past off_t"))?;
        // SAFETY: a fresh read-only private map of an open file descriptor, at an address the
        // kernel chooses; the result is checked before use.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ,
                flags,
                file.as_raw_fd(),
                offset,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapped {
            base,
            map_len,
            skip,
            len,
        })
    }
}

/// Cuts the JSON-lines file at `path` into [`Piece::MappedLines`] of about `chunk_bytes` at line
/// ends, as [`read_pieces`](crate::read_pieces) does into
/// buffers; a line longer than [`ReadOptions::max_record_bytes`] becomes a
/// [`Piece::TooLong`]. `None` when the input is not a plain regular file of JSON lines
/// (compressed, another framing, empty, not a file, or not mappable): read it instead.
pub fn map_pieces(
    path: &Path,
    name: &str,
    opts: &ReadOptions,
    chunk_bytes: usize,
    emit: &mut dyn FnMut(Piece),
) -> Option<(PieceStats, Result<(), InputError>)> {
    // Asked of the path before opening: opening a FIFO would block until a writer comes, and
    // take its data from the reading path that opens it next.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let file = File::open(path).ok()?;
    let size = file.metadata().ok().filter(|m| m.is_file())?.len();
    if size == 0 {
        return None;
    }
    // The same detection as the reading path (magic bytes, forced format, first line).
    let opened = open(name, &file, opts).ok()?;
    if opened.gzip || opened.zstd || opened.framing != Framing::JsonLines {
        return None;
    }
    drop(opened);
    // The reading path drops a leading byte-order mark; so does this one.
    let mut head = [0u8; 3];
    let bom = file.read_exact_at(&mut head, 0).is_ok() && head == BOM;
    let start = if bom { BOM.len() as u64 } else { 0 };
    // A file that cannot be mapped (a file system without maps) is read instead.
    if size > start {
        Mapped::map(&file, start, 1).ok()?;
    }
    let mut cutter = MapCutter {
        file,
        size,
        limit: opts.max_record_bytes,
        window: chunk_bytes.max(1),
        first_line: 1,
        scanned: 0,
    };
    let result = cutter
        .cut(start, emit)
        .map_err(|e| InputError::from_read(name, false, e));
    let stats = PieceStats {
        framing: Framing::JsonLines,
        gzip: false,
        zstd: false,
        bytes: size,
        decoded_bytes: size,
        scanned: cutter.scanned,
    };
    Some((stats, result))
}

/// The cutting state: where the next line starts is the argument of [`MapCutter::cut`].
struct MapCutter {
    file: File,
    size: u64,
    limit: usize,
    window: usize,
    /// The line number of the first line not yet emitted.
    first_line: u64,
    /// Bytes handed out in pieces or skipped in long lines ([`PieceStats::scanned`]).
    scanned: u64,
}

impl MapCutter {
    fn cut(&mut self, mut pos: u64, emit: &mut dyn FnMut(Piece)) -> io::Result<()> {
        while pos < self.size {
            let mut want = self.window;
            loop {
                let len = (self.size - pos).min(want as u64) as usize;
                let mut map = Mapped::map(&self.file, pos, len)?;
                let at_end = pos + len as u64 == self.size;
                if let Some(i) = memchr::memrchr(b'\n', &map) {
                    // Cut after the last newline; the partial line after it starts the next.
                    map.len = i + 1;
                    pos += map.len as u64;
                    self.emit_lines(map, emit);
                    break;
                }
                if len > self.limit {
                    pos = self.skip_long_line(pos, len, emit)?;
                    break;
                }
                if at_end {
                    // The last line, without a final newline.
                    pos = self.size;
                    self.emit_lines(map, emit);
                    break;
                }
                // One line fills the window: a wider one, up to just past the limit (a
                // window that long without a newline is a line too long to keep).
                want = want.saturating_mul(2).min(self.limit.saturating_add(1));
                if want <= len {
                    want = len + self.window;
                }
            }
        }
        Ok(())
    }

    fn emit_lines(&mut self, map: Mapped, emit: &mut dyn FnMut(Piece)) {
        // A final line without a newline counts as a line too, but nothing follows it.
        let lines = memchr::memchr_iter(b'\n', &map).count() as u64;
        let first_line = self.first_line;
        self.first_line += lines;
        self.scanned += map.len() as u64;
        emit(Piece::MappedLines {
            first_line,
            bytes: map,
        });
    }

    /// The line at `pos` has no newline in its first `seen` bytes, more than the limit: finds
    /// its end window by window, emits it as [`Piece::TooLong`], and returns where the next
    /// line starts.
    fn skip_long_line(
        &mut self,
        pos: u64,
        seen: usize,
        emit: &mut dyn FnMut(Piece),
    ) -> io::Result<u64> {
        let line = self.first_line;
        self.first_line += 1;
        let mut at = pos + seen as u64;
        let end = loop {
            if at >= self.size {
                break None;
            }
            let len = (self.size - at).min(self.window as u64) as usize;
            let map = Mapped::map(&self.file, at, len)?;
            if let Some(i) = memchr::memchr(b'\n', &map) {
                break Some(at + i as u64);
            }
            at += len as u64;
        };
        let (bytes, next) = match end {
            Some(nl) => (nl - pos, nl + 1),
            None => (self.size - pos, self.size),
        };
        self.scanned += next - pos;
        emit(Piece::TooLong {
            line,
            bytes: usize::try_from(bytes).unwrap_or(usize::MAX),
        });
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_pieces;

    fn scratch(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("scry-mapped-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// (first line, bytes) of each piece of lines.
    type Lines = Vec<(u64, Vec<u8>)>;

    /// The pieces of lines, and the stats.
    fn mapped(path: &Path, chunk: usize) -> Option<(Lines, PieceStats)> {
        let mut out = Vec::new();
        let (stats, res) = map_pieces(path, "t", &ReadOptions::default(), chunk, &mut |p| {
            if let Piece::MappedLines { first_line, bytes } = p {
                out.push((first_line, bytes.to_vec()));
            }
        })?;
        res.unwrap();
        Some((out, stats))
    }

    fn read(bytes: &[u8]) -> (Vec<u8>, PieceStats) {
        let mut out = Vec::new();
        let (stats, res) = read_pieces(
            "t",
            bytes,
            &ReadOptions::default(),
            1 << 20,
            &mut Vec::new,
            &mut |p| {
                if let Piece::Lines { bytes, .. } = p {
                    out.extend(bytes);
                }
            },
        );
        res.unwrap();
        (out, stats)
    }

    #[test]
    fn a_leading_byte_order_mark_is_dropped_as_the_reading_path_drops_it() {
        let text = b"\xEF\xBB\xBF{\"a\":1}\r\n\n{\"a\":2}\n{\"a\":3}";
        let path = scratch("bom", text);
        let (pieces, stats) = mapped(&path, 9).unwrap();
        std::fs::remove_file(&path).unwrap();
        let (want, read_stats) = read(text);
        let got: Vec<u8> = pieces.iter().flat_map(|(_, b)| b.clone()).collect();
        assert_eq!(got, want);
        assert_eq!(got[0], b'{');
        // Each piece's first line number counts the lines before it, the blank one too.
        let mut line = 1;
        for (first, bytes) in &pieces {
            assert_eq!(*first, line, "{pieces:?}");
            line += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        }
        assert_eq!(
            (
                stats.bytes,
                stats.decoded_bytes,
                stats.scanned,
                stats.framing
            ),
            (
                read_stats.bytes,
                read_stats.decoded_bytes,
                read_stats.scanned,
                read_stats.framing
            )
        );
    }

    #[test]
    fn only_plain_json_lines_files_are_mapped() {
        let lines = b"{\"a\":1}\n{\"a\":2}\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, lines).unwrap();
        let cases: [(&str, Vec<u8>, bool); 5] = [
            ("plain.jsonl", lines.to_vec(), true),
            ("gz.jsonl", gz.finish().unwrap(), false),
            ("doc.json", b"[{\"a\":1},\n{\"a\":2}]\n".to_vec(), false),
            ("table.csv", b"a,b\n1,2\n".to_vec(), false),
            ("empty.jsonl", Vec::new(), false),
        ];
        for (name, bytes, want) in cases {
            let path = scratch(name, &bytes);
            let got = mapped(&path, 1 << 20).is_some();
            std::fs::remove_file(&path).unwrap();
            assert_eq!(got, want, "{name}");
        }
        assert!(mapped(&std::env::temp_dir(), 1 << 20).is_none(), "a folder");
    }

    /// A FIFO is not a file to map, and asking must not open it: the open would wait for a
    /// writer and take its data from the reading path (the memory test's FIFO run hung so).
    #[test]
    fn a_fifo_is_left_to_the_reading_path_unopened() {
        let path = std::env::temp_dir().join(format!("scry-mapped-{}-fifo", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        let asked = path.clone();
        std::thread::spawn(move || {
            let _ = tx.send(mapped(&asked, 1 << 20).is_none());
        });
        let answer = rx.recv_timeout(std::time::Duration::from_secs(10));
        if answer.is_err() {
            // Release the blocked open before failing.
            let _ = std::fs::OpenOptions::new().write(true).open(&path);
        }
        std::fs::remove_file(&path).unwrap();
        assert_eq!(answer, Ok(true), "map_pieces opened the FIFO");
    }
}
