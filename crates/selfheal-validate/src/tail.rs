//! Keeps the end of a step's output in bounded memory.
//!
//! A test run reports what failed at the end of its output, and a step may
//! print gigabytes (a test stuck in a print loop), so only the last bytes are
//! kept while the output streams in.

/// At most this many lines reach `StepResult::output_tail`.
pub const TAIL_MAX_LINES: usize = 200;
/// At most this many bytes reach `StepResult::output_tail` (plus the omission marker).
pub const TAIL_MAX_BYTES: usize = 16 * 1024;

/// The first line of a tail that had to drop earlier output.
pub const OMITTED_MARKER: &str = "[selfheal: earlier output omitted]";

#[derive(Debug)]
pub(crate) struct Tail {
    buf: Vec<u8>,
    max_bytes: usize,
    max_lines: usize,
    dropped: bool,
}

impl Tail {
    pub(crate) fn new(max_bytes: usize, max_lines: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_bytes,
            max_lines,
            dropped: false,
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        // Compact only once the buffer is twice the budget, so each byte is moved
        // a bounded number of times however small the chunks are.
        if self.buf.len() > 2 * self.max_bytes {
            let cut = self.buf.len() - self.max_bytes;
            self.buf.drain(..cut);
            self.dropped = true;
        }
    }

    /// The kept output as text, at most `max_lines` lines and `max_bytes` bytes,
    /// starting at a line boundary, with [`OMITTED_MARKER`] first when anything was cut.
    pub(crate) fn finish(self) -> String {
        let mut dropped = self.dropped;
        let mut bytes = self.buf.as_slice();
        if bytes.len() > self.max_bytes {
            bytes = &bytes[bytes.len() - self.max_bytes..];
            dropped = true;
        }
        // Test output is usually UTF-8 but nothing guarantees it; invalid bytes
        // become U+FFFD rather than failing the validation.
        let text = String::from_utf8_lossy(bytes);
        let mut text: &str = &text;
        if dropped {
            // The cut fell somewhere inside a line: start at the next whole one.
            if let Some(nl) = text.find('\n') {
                text = &text[nl + 1..];
            }
        }
        let newlines = text.trim_end_matches('\n').matches('\n').count();
        if newlines >= self.max_lines {
            let skip = newlines + 1 - self.max_lines;
            if let Some((idx, _)) = text.match_indices('\n').nth(skip - 1) {
                text = &text[idx + 1..];
                dropped = true;
            }
        }
        // Lossy decoding can grow the text (one bad byte becomes three): trim to
        // the byte budget on a character boundary.
        if text.len() > self.max_bytes {
            let mut start = text.len() - self.max_bytes;
            while !text.is_char_boundary(start) {
                start += 1;
            }
            text = &text[start..];
            dropped = true;
        }
        if dropped {
            format!("{OMITTED_MARKER}\n{text}")
        } else {
            text.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_kept_whole() {
        let mut tail = Tail::new(100, 10);
        tail.push(b"one\n");
        tail.push(b"two\n");
        assert_eq!(tail.finish(), "one\ntwo\n");
    }

    #[test]
    fn too_many_lines_keep_the_last_ones() {
        let mut tail = Tail::new(10_000, 3);
        for i in 0..10 {
            tail.push(format!("line {i}\n").as_bytes());
        }
        assert_eq!(
            tail.finish(),
            format!("{OMITTED_MARKER}\nline 7\nline 8\nline 9\n")
        );
    }

    #[test]
    fn too_many_bytes_start_at_a_line_boundary() {
        let mut tail = Tail::new(20, 100);
        for i in 0..1000 {
            tail.push(format!("line {i}\n").as_bytes());
        }
        // 20 bytes hold the end of "line 997", then whole lines 998 and 999.
        assert_eq!(
            tail.finish(),
            format!("{OMITTED_MARKER}\nline 998\nline 999\n")
        );
    }

    #[test]
    fn output_without_a_final_newline_is_kept() {
        let mut tail = Tail::new(100, 2);
        tail.push(b"a\nb\nc");
        assert_eq!(tail.finish(), format!("{OMITTED_MARKER}\nb\nc"));
    }

    #[test]
    fn invalid_utf8_never_panics_and_respects_the_budget() {
        let mut tail = Tail::new(16, 100);
        tail.push(&[0xff; 64]);
        let text = tail.finish();
        let body = text
            .strip_prefix(OMITTED_MARKER)
            .expect("marked")
            .trim_start();
        assert!(body.len() <= 16, "{body:?}");
        assert!(body.chars().all(|c| c == '\u{fffd}'));
    }
}
