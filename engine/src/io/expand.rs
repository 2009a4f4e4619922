//! Command-line paths → the ordered list of files to read.

use std::fs;
use std::path::{Path, PathBuf};

use super::InputError;

/// Expands `paths` in order: a directory becomes every file below it (recursively, sorted by
/// path so runs are reproducible, hidden entries — names starting with `.` — skipped), a file
/// or `-` (stdin) is passed through as given, even if hidden, since it was named explicitly.
///
/// Symbolic links to files are followed; links to directories inside a walk are not, which
/// rules out cycles. A path that does not exist is an [`InputError::Open`].
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
    let mut out = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            out.push(path.clone());
            continue;
        }
        let meta = fs::metadata(path).map_err(|source| InputError::Open {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            let start = out.len();
            walk(path, &mut out)?;
            let mut found = out.split_off(start);
            found.retain(|f| filter.keeps(f.strip_prefix(path).unwrap_or(f)));
            found.sort();
            out.extend(found);
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
