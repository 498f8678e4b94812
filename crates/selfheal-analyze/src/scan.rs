//! Finding any of a hundred-odd short literals in a line, ignoring ASCII
//! case, at a fraction of a DFA's cost per byte.
//!
//! Every line of a log passes through the keyword prefilter, so its speed
//! bounds the analyser's. An Aho-Corasick DFA follows one transition per
//! byte, each depending on the last, and its own prefilters do not help
//! with this many case-folded keywords. Here each literal is known by four
//! of its bytes (the rarest-looking four in a row), case-folded into a
//! `u32`; a line is scanned by hashing the four bytes at every position
//! into a 64 Ki-bit table (8 KiB, so it stays in L1 cache). Positions are
//! independent of each other, so the processor overlaps them. Where the
//! table says "maybe", the literals with that hash are compared in full,
//! so answers are exact.

/// Literals shorter than this cannot be searched for.
pub(crate) const MIN_LEN: usize = 4;

/// Or-ed into four bytes, makes ASCII letters lowercase. It maps some other
/// bytes together too (`@` and `` ` ``), which only costs a comparison.
const FOLD: u32 = 0x2020_2020;

const TABLE_BITS: u32 = 16;

/// Exact multi-literal search, ignoring ASCII case; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct LiteralScanner {
    /// One bit per hash of a literal's first four bytes.
    table: Box<[u64]>,
    /// `(hash, literal index, where its four bytes start in it)`, sorted,
    /// for the full comparison.
    by_hash: Vec<(u32, usize, usize)>,
    literals: Vec<Vec<u8>>,
}

fn hash(window: u32) -> u32 {
    (window | FOLD).wrapping_mul(0x9E37_79B1) >> (32 - TABLE_BITS)
}

/// How common a byte is in log text, roughly (English letter frequencies,
/// with spaces, digits and path punctuation common too): a literal is
/// known by its four bytes that score lowest, so that ordinary words rarely
/// send the scanner to a full comparison.
fn commonness(b: u8) -> u32 {
    match b.to_ascii_lowercase() {
        b' ' | b'e' | b't' => 10,
        b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 8,
        b'h' | b'l' | b'd' | b'c' | b'/' | b'.' => 6,
        b'u' | b'm' | b'-' | b'_' | b':' | b'0'..=b'9' => 5,
        b'f' | b'p' | b'g' | b'w' => 4,
        b'v' | b'k' | 0x80.. => 2,
        b'x' | b'j' | b'q' | b'z' => 1,
        // `y`, `b` and punctuation.
        _ => 3,
    }
}

/// Where the rarest-looking four bytes of `literal` start.
fn best_window(literal: &[u8]) -> usize {
    (0..=literal.len() - MIN_LEN)
        .min_by_key(|&at| {
            literal[at..at + MIN_LEN]
                .iter()
                .map(|&b| commonness(b))
                .sum::<u32>()
        })
        .unwrap_or(0)
}

impl LiteralScanner {
    /// `None` if a literal is shorter than [`MIN_LEN`].
    pub(crate) fn new<I, L>(literals: I) -> Option<Self>
    where
        I: IntoIterator<Item = L>,
        L: AsRef<[u8]>,
    {
        let mut table = vec![0u64; (1 << TABLE_BITS) / 64].into_boxed_slice();
        let mut by_hash = Vec::new();
        let mut all = Vec::new();
        for (i, literal) in literals.into_iter().enumerate() {
            let literal = literal.as_ref();
            if literal.len() < MIN_LEN {
                return None;
            }
            let offset = best_window(literal);
            let window = literal[offset..].first_chunk::<MIN_LEN>()?;
            let h = hash(u32::from_le_bytes(*window));
            table[(h / 64) as usize] |= 1 << (h % 64);
            by_hash.push((h, i, offset));
            all.push(literal.to_vec());
        }
        by_hash.sort_unstable();
        Some(Self {
            table,
            by_hash,
            literals: all,
        })
    }

    /// Calls `f` with the index of each literal occurrence (in no promised
    /// order) until `f` returns false.
    pub(crate) fn for_each(&self, hay: &[u8], mut f: impl FnMut(usize) -> bool) {
        for (at, window) in hay.windows(MIN_LEN).enumerate() {
            let Some(window) = window.first_chunk::<MIN_LEN>() else {
                continue;
            };
            let h = hash(u32::from_le_bytes(*window));
            if self.table[(h / 64) as usize] & (1 << (h % 64)) == 0 {
                continue;
            }
            let first = self.by_hash.partition_point(|&(bh, _, _)| bh < h);
            for &(bh, i, offset) in &self.by_hash[first..] {
                if bh != h {
                    break;
                }
                let literal = &self.literals[i];
                if at >= offset
                    && hay
                        .get(at - offset..at - offset + literal.len())
                        .is_some_and(|s| s.eq_ignore_ascii_case(literal))
                    && !f(i)
                {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious search, for comparison.
    fn naive(literals: &[&str], hay: &[u8]) -> Vec<usize> {
        let mut found = Vec::new();
        for at in 0..hay.len() {
            for (i, l) in literals.iter().enumerate() {
                if hay
                    .get(at..at + l.len())
                    .is_some_and(|s| s.eq_ignore_ascii_case(l.as_bytes()))
                {
                    found.push(i);
                }
            }
        }
        found
    }

    #[test]
    fn finds_exactly_what_a_naive_search_finds() {
        let literals = [
            "error",
            "fail",
            "failed",
            "exception",
            "err!",
            "● ",
            " 137",
            "@me@",
            "`me`",
            "could not resolve host",
        ];
        let scanner = LiteralScanner::new(literals).expect("all long enough");
        for hay in [
            "ERROR: tests FAILED with an Exception",
            "npm ERR! code 1",
            "  ● renders",
            "exit code 137",
            "@ME@ and `me`",
            "fai",
            "",
            "errorerror",
            "curl: could not resolve host: could NOT RESOLVE HOST",
            "could not resolve hos",
            "\u{ff}\u{fe}error\u{0}",
        ] {
            let mut got = Vec::new();
            scanner.for_each(hay.as_bytes(), |i| {
                got.push(i);
                true
            });
            got.sort_unstable();
            let mut expected = naive(&literals, hay.as_bytes());
            expected.sort_unstable();
            assert_eq!(got, expected, "{hay}");
        }
    }

    #[test]
    fn short_literals_are_refused() {
        assert!(LiteralScanner::new(["abc"]).is_none());
    }
}
