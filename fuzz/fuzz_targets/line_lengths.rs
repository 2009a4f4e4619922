//! JSON lines of lengths around the reader's buffer sizes, the piece size and the record limit
//! (`--max-record-bytes`), plain or gzip, LF or CRLF: read whole and cut into pieces, they give
//! exactly the records a model of the input predicts (see `scry_engine::io::check`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(why) = scry_engine::io::check::line_lengths(data) {
        panic!("{why}");
    }
});
