//! How a seed file is read as CSV: Python's csv dialect, as dbt reads it,
//! and the load-time check that every row has the header's length. Reads
//! the file it is given; knows nothing of configs or the database.

use crate::diag::Diagnostic;
use std::path::Path;

/// Opens a seed as Python's csv module reads it for dbt (the `csv` crate's
/// defaults are that dialect; a leading BOM is skipped, as dbt skips it), with
/// every row required to have the header's length. The one definition of how
/// a seed file is read: the load check and type inference both use it.
pub fn open_seed(path: &Path, delimiter: u8) -> csv::Result<csv::Reader<std::fs::File>> {
    Ok(seed_reader(std::fs::File::open(path)?, delimiter))
}

/// [`open_seed`] over bytes already read.
pub fn seed_reader<R: std::io::Read>(source: R, delimiter: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(source)
}

/// Reads a seed with its delimiter and rejects a ragged row with its line number.
pub(super) fn check_csv(abs: &Path, rel: &Path, delimiter: &str) -> Result<(), Diagnostic> {
    // Python's csv module takes a one-character delimiter, the `csv` crate one byte.
    let [byte] = delimiter.as_bytes() else {
        return Err(Diagnostic::in_file(rel, format!("`delimiter` is `{delimiter}`"))
            .hint("a seed's `delimiter` must be one ASCII character, such as `;` or `|`"));
    };
    let mut reader = open_seed(abs, *byte).map_err(|e| Diagnostic::in_file(rel, format!("cannot read seed: {e}")))?;
    reader.headers().map_err(|e| Diagnostic::in_file(rel, format!("cannot read the header: {e}")))?;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize);
                let msg = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("row has {len} fields but the header has {expected_len}")
                    }
                    _ => format!("invalid csv: {e}"),
                };
                return Err(Diagnostic::in_file(rel, msg)
                    .at(line, None)
                    .hint("every row needs one value per header column"));
            }
        }
    }
}
