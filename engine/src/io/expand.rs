//! Command-line paths → the ordered list of files to read.

use std::fs;
use std::path::{Path, PathBuf};

use super::InputError;

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
    let mut out = Vec::new();
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
            walk(path, &mut out)?;
            out[start..].sort();
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InputError> {
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
            walk(&path, out)?;
        } else if kind.is_file()
            || (kind.is_symlink() && fs::metadata(&path).is_ok_and(|m| m.is_file()))
        {
            out.push(path);
        }
    }
    Ok(())
}
