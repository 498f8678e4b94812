//! Streaming line splitter and line cleaner.
//!
//! Lines end at `\n`, `\r\n` or a lone `\r` (universal newlines): Travis and
//! many tools redraw progress bars with bare carriage returns, and line
//! numbers counted this way match what people see in a terminal and what
//! the `LogChunks` labels use. Memory stays bounded: a line longer than
//! [`MAX_LINE`] keeps its first `MAX_LINE` bytes and the rest is skipped.

use std::io::{self, Read};

/// Longest prefix of one line that is kept; the rest of the line is dropped.
pub(crate) const MAX_LINE: usize = 8 * 1024;
const BUF_SIZE: usize = 256 * 1024;

/// Splits a byte stream into lines without holding more than one buffer.
pub(crate) struct LineSplitter<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// The previous line ended with `\r`; a `\n` right after it belongs to it.
    pending_cr: bool,
    line: Vec<u8>,
    /// Where the next ESC byte at or after `start` lies in `buf` (`end` if
    /// none): one search per stretch between escapes, where a search per
    /// line would cost a call on every line of a log with no colours.
    esc: usize,
    pub(crate) bytes_read: u64,
}

impl<R: Read> LineSplitter<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            buf: vec![0; BUF_SIZE],
            start: 0,
            end: 0,
            eof: false,
            pending_cr: false,
            line: Vec::with_capacity(1024),
            esc: 0,
            bytes_read: 0,
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        self.start = 0;
        self.end = 0;
        loop {
            match self.inner.read(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    self.esc = 0;
                    return Ok(());
                }
                Ok(n) => {
                    self.end = n;
                    self.bytes_read += n as u64;
                    self.esc = memchr::memchr(0x1b, &self.buf[..n]).unwrap_or(n);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The next line without its terminator, or `None` at the end of input.
    /// A line inside the buffer is returned in place; only one that spans a
    /// refill is copied.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<&[u8]>> {
        Ok(self.next_line_esc()?.map(|(line, _)| line))
    }

    /// [`Self::next_line`], and whether the line holds an ESC byte (an
    /// ANSI escape sequence may start there).
    pub(crate) fn next_line_esc(&mut self) -> io::Result<Option<(&[u8], bool)>> {
        self.line.clear();
        let mut partial = false;
        loop {
            if self.start == self.end {
                if self.eof {
                    break;
                }
                self.fill()?;
                continue;
            }
            if self.pending_cr {
                self.pending_cr = false;
                if self.buf[self.start] == b'\n' {
                    self.start += 1;
                    continue;
                }
            }
            let avail = &self.buf[self.start..self.end];
            if let Some(pos) = memchr::memchr2(b'\n', b'\r', avail) {
                if avail[pos] == b'\r' {
                    self.pending_cr = true;
                }
                let (from, to) = (self.start, self.start + pos);
                self.start = to + 1;
                // `esc` is at or after `from`: the line holds one if it
                // lies before the line's end.
                let kept_to = if partial {
                    to.min(from + MAX_LINE.saturating_sub(self.line.len()))
                } else {
                    to.min(from + MAX_LINE)
                };
                let esc_in_buf = self.esc < kept_to;
                if self.esc < self.start {
                    self.esc = memchr::memchr(0x1b, &self.buf[self.start..self.end])
                        .map_or(self.end, |i| self.start + i);
                }
                if !partial {
                    return Ok(Some((&self.buf[from..kept_to], esc_in_buf)));
                }
                self.line.extend_from_slice(&self.buf[from..kept_to]);
                let esc = memchr::memchr(0x1b, &self.line).is_some();
                return Ok(Some((&self.line, esc)));
            }
            partial = true;
            let room = MAX_LINE.saturating_sub(self.line.len());
            self.line.extend_from_slice(&avail[..avail.len().min(room)]);
            self.start = self.end;
        }
        if partial {
            let esc = memchr::memchr(0x1b, &self.line).is_some();
            Ok(Some((&self.line, esc)))
        } else {
            Ok(None)
        }
    }
}

/// Whether the line starts with a GitHub Actions RFC 3339 timestamp
/// (`2026-11-25T10:00:01.1234567Z `); returns the length to strip.
pub(crate) fn timestamp_len(line: &[u8]) -> usize {
    let own = bare_timestamp_len(line);
    if own > 0 || line.first().is_none_or(u8::is_ascii_digit) {
        return own;
    }
    // `gh run view --log` puts the job and the step first, tab-separated:
    // `build\tRun tests\t2021-12-01T13:01:04.37Z ...`.
    let head = &line[..line.len().min(512)];
    let Some(first) = memchr::memchr(b'\t', head) else {
        return 0;
    };
    let Some(second) = memchr::memchr(b'\t', &head[first + 1..]) else {
        return 0;
    };
    let at = first + 1 + second + 1;
    match bare_timestamp_len(&line[at..]) {
        0 => 0,
        n => at + n,
    }
}

fn bare_timestamp_len(line: &[u8]) -> usize {
    // Checked eight bytes at a time: this runs on every line, and a regex,
    // or even a loop over the digits, would show in the profile.
    // `2026-11-25T10:00:01`: digits and separators at fixed places (the
    // minutes' colon is not checked).
    const DIGITS_A: u64 = 0x00ff_ff00_ffff_ffff; // bytes 0-3, 5-6
    const SEPS_A: u64 = 0xff00_00ff_0000_0000; // `-` at 4 and 7
    const DIGITS_B: u64 = 0xffff_00ff_ff00_ffff; // bytes 8-9, 11-12, 14-15
    const SEPS_B: u64 = 0x0000_ff00_00ff_0000; // `T` at 10, `:` at 13
    // (Little-endian: byte `i` of a word is its bits `8i..8i + 8`.)
    let Some(head) = line.first_chunk::<20>() else {
        return 0;
    };
    let (Some(a), Some(b)) = (head.first_chunk::<8>(), head[8..].first_chunk::<8>()) else {
        return 0;
    };
    let (a, b) = (u64::from_le_bytes(*a), u64::from_le_bytes(*b));
    let seps_ok = a & SEPS_A == u64::from_le_bytes(*b"\0\0\0\0-\0\0-") & SEPS_A
        && b & SEPS_B == u64::from_le_bytes(*b"\0\0T\0\0:\0\0") & SEPS_B;
    if !seps_ok
        || !all_digits(a, DIGITS_A)
        || !all_digits(b, DIGITS_B)
        || !head[17].is_ascii_digit()
        || !head[18].is_ascii_digit()
    {
        return 0;
    }
    let mut i = 19;
    if head[19] == b'.' {
        i += 1 + line[20..].iter().take_while(|b| b.is_ascii_digit()).count();
    }
    if line.get(i) != Some(&b'Z') {
        return 0;
    }
    i += 1;
    if line.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// Whether the bytes of `word` that `mask` selects (0xff each) are all
/// ASCII digits: `0x30..=0x39`, that is high nibble 3 before and after
/// adding 6. Adding 6 cannot carry between selected bytes that pass the
/// first test, and a carry out of one that fails it changes nothing.
fn all_digits(word: u64, mask: u64) -> bool {
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    const THREES: u64 = 0x3030_3030_3030_3030;
    const SIXES: u64 = 0x0606_0606_0606_0606;
    word & HIGH & mask == THREES & mask
        && word.wrapping_add(SIXES & mask) & HIGH & mask == THREES & mask
}

/// Removes ANSI escape sequences (CSI colours, OSC titles) into `out`.
pub(crate) fn strip_ansi(line: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b == 0x1b {
            match line.get(i + 1) {
                Some(b'[') => {
                    i += 2;
                    while i < line.len() && !(0x40..=0x7e).contains(&line[i]) {
                        i += 1;
                    }
                    i += 1;
                }
                Some(b']') => {
                    // OSC runs to BEL or ESC \.
                    i += 2;
                    while i < line.len() && line[i] != 0x07 && line[i] != 0x1b {
                        i += 1;
                    }
                    i += if line.get(i) == Some(&0x1b) { 2 } else { 1 };
                }
                Some(_) => i += 2,
                None => i += 1,
            }
            continue;
        }
        out.push(b);
        i += 1;
    }
}

/// Lossy UTF-8 without allocating when the bytes are already valid.
pub(crate) fn to_str<'a>(bytes: &'a [u8], scratch: &'a mut String) -> &'a str {
    if let Ok(s) = std::str::from_utf8(bytes) {
        s
    } else {
        scratch.clear();
        scratch.push_str(&String::from_utf8_lossy(bytes));
        scratch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &[u8]) -> Vec<String> {
        let mut s = LineSplitter::new(input);
        let mut out = Vec::new();
        while let Some(l) = s.next_line().expect("in-memory read") {
            out.push(String::from_utf8_lossy(l).into_owned());
        }
        out
    }

    #[test]
    fn splits_on_every_newline_convention() {
        assert_eq!(split(b"a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(split(b"a\n\nb\n"), ["a", "", "b"]);
        assert_eq!(split(b""), Vec::<String>::new());
        assert_eq!(split(b"\r\n\r\n"), ["", ""]);
    }

    #[test]
    fn crlf_split_across_buffer_refills_counts_once() {
        let mut input = vec![b'x'; BUF_SIZE - 1];
        input.extend_from_slice(b"\r\nnext\n");
        let lines = split(&input);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1], "next");
    }

    #[test]
    fn escapes_are_reported_with_the_line_that_holds_them() {
        // Lines with and without ESC, across buffer refills, bare `\r`s and
        // a truncated line whose ESC lies in the dropped part.
        let mut input = Vec::new();
        let mut n = 0u32;
        while input.len() < 3 * BUF_SIZE {
            n += 1;
            let line = match n % 7 {
                0 => format!("\x1b[31mred {n}\x1b[0m"),
                1 => format!("plain {n}"),
                2 => format!("two \x1b[1m\x1b[0m escapes {n}"),
                3 => String::new(),
                4 => format!("{}\x1b[0m", "x".repeat(MAX_LINE + 10)),
                5 => "ends with esc\x1b".to_owned(),
                _ => format!("\x1bstarts {n}"),
            };
            input.extend_from_slice(line.as_bytes());
            input.extend_from_slice(if n.is_multiple_of(5) { b"\r\n" } else { b"\n" });
        }
        input.extend_from_slice(b"last \x1b");
        let mut s = LineSplitter::new(&input[..]);
        let mut lines = 0;
        while let Some((line, esc)) = s.next_line_esc().expect("in-memory read") {
            assert_eq!(esc, line.contains(&0x1b), "line {lines}");
            lines += 1;
        }
        assert!(lines > 500, "{lines} lines");
    }

    #[test]
    fn huge_lines_are_truncated_not_buffered() {
        let mut input = vec![b'y'; 3 * BUF_SIZE];
        input.extend_from_slice(b"\nend");
        let lines = split(&input);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE);
        assert_eq!(lines[1], "end");
    }

    #[test]
    fn timestamps_are_recognised_strictly() {
        let l = b"2026-11-25T10:00:01.1234567Z hello";
        assert_eq!(&l[timestamp_len(l)..], b"hello");
        assert_eq!(timestamp_len(b"2026-11-25 10:00:01 hello"), 0);
        assert_eq!(timestamp_len(b"short"), 0);
        let gh = b"build\tRun tests\t2021-12-01T13:01:04.3785538Z > Task :test FAILED";
        assert_eq!(&gh[timestamp_len(gh)..], b"> Task :test FAILED");
        assert_eq!(timestamp_len(b"a\tb\tnot a time at all, no"), 0);
    }

    /// The byte-by-byte rule the word-wise check must agree with.
    fn timestamp_len_plain(line: &[u8]) -> usize {
        if line.len() < 20 || line[4] != b'-' || line[7] != b'-' || line[10] != b'T' {
            return 0;
        }
        let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
        if !digits.iter().all(|&i| line[i].is_ascii_digit()) || line[13] != b':' {
            return 0;
        }
        let mut i = 19;
        if line.get(i) == Some(&b'.') {
            i += 1;
            while line.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        if line.get(i) != Some(&b'Z') {
            return 0;
        }
        i += 1;
        if line.get(i) == Some(&b' ') {
            i += 1;
        }
        i
    }

    #[test]
    fn timestamps_are_checked_as_byte_by_byte() {
        let base = b"2026-11-25T10:00:01.1234567Z hello".to_vec();
        let mut checked = 0;
        for at in 0..base.len() {
            for b in 0..=255u8 {
                let mut line = base.clone();
                line[at] = b;
                assert_eq!(
                    bare_timestamp_len(&line),
                    timestamp_len_plain(&line),
                    "{}",
                    String::from_utf8_lossy(&line)
                );
                checked += 1;
            }
        }
        for line in [
            &b"2026-11-25T10:00:01Z"[..],
            b"2026-11-25T10:00:01Z ",
            b"2026-11-25T10:00:01.Z x",
            b"2026-11-25T10:00:01.5",
            b"2026-11-25T10:00:01",
            b"2026-11-25T10:00:0",
            b"",
        ] {
            assert_eq!(bare_timestamp_len(line), timestamp_len_plain(line));
        }
        assert!(checked > 8000);
    }

    #[test]
    fn ansi_sequences_are_removed() {
        let mut out = Vec::new();
        strip_ansi(b"\x1b[31;1mred\x1b[0m plain\x1b]0;title\x07!", &mut out);
        assert_eq!(out, b"red plain!");
        strip_ansi(b"trailing\x1b", &mut out);
        assert_eq!(out, b"trailing");
    }
}
