//! Where `scry run` writes its results: `--output`'s format and file, settled before any
//! input is read.

use clap::ValueEnum;
use scry_engine::io::ZIP_MEMBER;
use std::path::{Path, PathBuf};

/// `--format`: how result rows are written.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned tables (the default on a terminal).
    Table,
    /// One JSON object per result row (the default when piped).
    Ndjson,
    /// CSV with a header row.
    Csv,
    /// SARIF 2.1.0, one run (code-scanning dashboards).
    Sarif,
    /// OCSF Detection Findings (class 2004), one per line.
    Ocsf,
    /// Timesketch timeline JSON lines.
    Timesketch,
}

/// The format an `--output` file's extension names, if it names one.
fn format_of_extension(path: &Path) -> Option<OutputFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" => Some(OutputFormat::Csv),
        "ndjson" | "jsonl" | "json" => Some(OutputFormat::Ndjson),
        "txt" => Some(OutputFormat::Table),
        "sarif" => Some(OutputFormat::Sarif),
        _ => None,
    }
}

fn format_name(f: OutputFormat) -> &'static str {
    match f {
        OutputFormat::Table => "table",
        OutputFormat::Ndjson => "ndjson",
        OutputFormat::Csv => "csv",
        OutputFormat::Sarif => "sarif",
        OutputFormat::Ocsf => "ocsf",
        OutputFormat::Timesketch => "timesketch",
    }
}

/// `--format` if given, else what `--output`'s extension names; `None` leaves the choice to
/// the terminal test. A `--format` the extension contradicts is refused: a `.csv` file of
/// JSON lines breaks whatever opens it next.
pub fn output_format(
    format: Option<OutputFormat>,
    output: Option<&Path>,
) -> Result<Option<OutputFormat>, String> {
    let by_ext = output.and_then(format_of_extension);
    match (format, by_ext, output) {
        (Some(f), Some(e), Some(p)) if f != e => Err(format!(
            "--output {}: the extension means {}, but --format is {} (rename the file or drop --format)",
            p.display(),
            format_name(e),
            format_name(f)
        )),
        (Some(f), _, _) => Ok(Some(f)),
        (None, e, _) => Ok(e),
    }
}

/// The identity of an existing file (device and inode where there are such), so that two
/// spellings of one file, hard links and symlinks included, compare equal.
fn identity(path: &Path) -> Option<(u64, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        // No file ids in std elsewhere: canonical paths are the next best thing.
        let _ = meta;
        let canon = std::fs::canonicalize(path).ok()?;
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        canon.hash(&mut h);
        Some((0, h.finish()))
    }
}

/// The file an input reads: the archive for a zip member, standard input's file when it is
/// one (`- < results.ndjson`).
fn input_file(input: &Path) -> PathBuf {
    if input.as_os_str() == "-" {
        return PathBuf::from("/dev/stdin");
    }
    let s = input.to_string_lossy();
    match s.find(ZIP_MEMBER) {
        Some(i) if Path::new(&s[..i]).is_file() => PathBuf::from(&s[..i]),
        _ => input.to_path_buf(),
    }
}

/// Creates the file of `flag` (`--output`, `--report`) after checking that it is none of
/// `inputs` (creating it would empty the evidence) and that its folder exists; both before
/// anything is read.
pub fn create(flag: &str, output: &Path, inputs: &[PathBuf]) -> Result<std::fs::File, String> {
    if let Some(out_id) = identity(output) {
        if let Some(input) = inputs
            .iter()
            .find(|i| identity(&input_file(i)) == Some(out_id))
        {
            return Err(format!(
                "{flag} {}: the same file as input {}; refusing to overwrite it",
                output.display(),
                input.display()
            ));
        }
    }
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!(
            "{flag} {}: folder {} does not exist",
            output.display(),
            parent.display()
        ));
    }
    std::fs::File::create(output).map_err(|e| format!("{flag} {}: {e}", output.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_decides_unless_format_is_given() {
        let p = Path::new("out/x.CSV");
        assert_eq!(output_format(None, Some(p)), Ok(Some(OutputFormat::Csv)));
        assert_eq!(
            output_format(None, Some(Path::new("x.jsonl"))),
            Ok(Some(OutputFormat::Ndjson))
        );
        assert_eq!(output_format(None, Some(Path::new("x.out"))), Ok(None));
        assert_eq!(
            output_format(Some(OutputFormat::Csv), Some(Path::new("x.out"))),
            Ok(Some(OutputFormat::Csv))
        );
        assert!(output_format(Some(OutputFormat::Ndjson), Some(p)).is_err());
    }
}
