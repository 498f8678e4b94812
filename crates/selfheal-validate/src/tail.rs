//! Keeps a step's output in bounded memory.
//!
//! A test run reports what failed at the end of its output, and a step may
//! print gigabytes (a test stuck in a print loop). [`Tail`] keeps only the last
//! bytes, for the model; [`Capture`] keeps the whole output up to a cap, and
//! past it the beginning and the end, for reading sections (pytest's
//! `FAILURES` block) that start long before the tail.

/// At most this many lines reach `StepResult::output_tail`.
pub const TAIL_MAX_LINES: usize = 200;
/// At most this many bytes reach `StepResult::output_tail` (plus the omission marker).
pub const TAIL_MAX_BYTES: usize = 16 * 1024;

/// The first line of a tail that had to drop earlier output.
pub const OMITTED_MARKER: &str = "[selfheal: earlier output omitted]";

/// Most bytes of a step's output kept whole; past it the middle is dropped.
pub const CAPTURE_MAX_BYTES: usize = 8 * 1024 * 1024;

/// The line that stands where the captured output (at most [`CAPTURE_MAX_BYTES`]) lost its middle.
pub const MIDDLE_OMITTED_MARKER: &str = "[selfheal: middle of the output omitted]";

/// The whole output while it fits in `max_bytes`; past that, its first and last halves.
#[derive(Debug)]
pub(crate) struct Capture {
    head: Vec<u8>,
    end: Vec<u8>,
    half: usize,
    dropped: bool,
}

impl Capture {
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self {
            head: Vec::new(),
            end: Vec::new(),
            half: max_bytes / 2,
            dropped: false,
        }
    }

    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        if self.end.is_empty() {
            let room = self.half.saturating_sub(self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..room]);
            bytes = &bytes[room..];
        }
        self.end.extend_from_slice(bytes);
        // As in Tail: compact at twice the budget so each byte moves a bounded number of times.
        if self.end.len() > 2 * self.half {
            let cut = self.end.len() - self.half;
            self.end.drain(..cut);
            self.dropped = true;
        }
    }

    /// The kept output as text; where the middle was dropped, a line with
    /// [`MIDDLE_OMITTED_MARKER`] stands between whole lines of the head and the end.
    pub(crate) fn finish(self) -> String {
        if !self.dropped {
            let mut all = self.head;
            all.extend_from_slice(&self.end);
            return String::from_utf8_lossy(&all).into_owned();
        }
        let head = String::from_utf8_lossy(&self.head);
        let end = String::from_utf8_lossy(&self.end);
        let head = head.rfind('\n').map_or("", |nl| &head[..=nl]);
        let end = end.find('\n').map_or("", |nl| &end[nl + 1..]);
        format!("{head}{MIDDLE_OMITTED_MARKER}\n{end}")
    }
}

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
    fn output_within_the_cap_is_captured_whole() {
        let mut capture = Capture::new(64);
        capture.push(b"one\ntwo");
        capture.push(b"\nthree\n");
        assert_eq!(capture.finish(), "one\ntwo\nthree\n");
    }

    #[test]
    fn past_the_cap_the_middle_is_dropped_between_whole_lines() {
        let mut capture = Capture::new(40);
        for i in 0..1000 {
            capture.push(format!("line {i}\n").as_bytes());
        }
        let text = capture.finish();
        let (head, end) = text
            .split_once(&format!("{MIDDLE_OMITTED_MARKER}\n"))
            .expect("marked");
        // 20 bytes of head end inside "line 2": only whole lines are kept.
        assert_eq!(head, "line 0\nline 1\n");
        assert!(end.ends_with("line 998\nline 999\n"), "{end:?}");
        assert!(end.len() <= 40, "{end:?}");
        assert!(
            end.lines().all(|l| l.starts_with("line 9") && l.len() == 8),
            "whole lines only: {end:?}"
        );
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
