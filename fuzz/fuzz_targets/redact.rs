//! Any text: redaction never panics, its findings are in order and in bounds,
//! and it is idempotent (redacting the output again finds nothing more, so
//! no secret the first pass found survives in the output).
//!
//! `crates/selfheal-redact/tests/suite/fuzz_regressions.rs` runs the same
//! checks over the found cases on the stable toolchain.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use selfheal_redact::Redactor;

fn redactor() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(Redactor::builtin)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let r = redactor();
    let once = r.redact(&text);
    let mut at = 0;
    for f in &once.findings {
        assert!(
            at <= f.start && f.start < f.end && f.end <= text.len(),
            "{f:?}"
        );
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        at = f.end;
    }
    let twice = r.redact(&once.text);
    assert_eq!(
        twice.text, once.text,
        "a second pass changed the output: {:?}",
        twice.findings
    );
});
