//! The rule parser and the compiler on arbitrary text: never a panic, never a stack overflow,
//! and whenever the parser accepts a file the compiler gets to see it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scry_engine::compile::{self, Sources};
use scry_engine::schema::Catalog;
use std::sync::{Arc, OnceLock};

fn catalog() -> Arc<Catalog> {
    static CAT: OnceLock<Arc<Catalog>> = OnceLock::new();
    CAT.get_or_init(|| Arc::new(Catalog::builtin())).clone()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = scry_grammar::parse_expr(text);
    if scry_grammar::parse_file(text).is_err() {
        return;
    }
    let mut sources = Sources::default();
    sources.add("fuzz.scry", text);
    let compiled = compile::compile(&sources, catalog());
    if !compiled.has_errors() {
        // A plan is built from every rule set the compiler accepts.
        let _ = scry_engine::plan::Plan::new(compiled.rules);
    }
});
