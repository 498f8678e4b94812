//! Finding any of a few hundred literals in a log, ignoring ASCII case, at
//! a fraction of a DFA's cost per byte.
//!
//! Every byte of a log passes through the keyword scan, so its speed bounds
//! the analyser's. An Aho-Corasick DFA follows one transition per byte,
//! each depending on the last, and its prefilters do not help with this
//! many case-folded literals. Here each literal is known by windows of its
//! bytes, case-folded: four bytes for a literal of up to eight, eight bytes
//! (two `u32` halves) for a longer one. The text is scanned by hashing the
//! four bytes at every even position into a table of one byte per hash
//! (32 KiB): one bit for "a short literal's window may start here", one for
//! "a long literal's first half may". The second half of a long window is
//! checked in a second table, so common fragments such as `ving` or `comp`
//! cost little. Only even positions are hashed, so each literal is known by
//! two windows side by side, one of which starts at an even position
//! wherever the literal does; a literal of four bytes, which has only one,
//! is caught at odd positions by a bit for "its first three bytes may
//! follow" and a look at the next position. Positions are independent, so
//! the processor overlaps them, four per step. Where the tables say
//! "maybe", the literals with that hash are compared in full: answers are
//! exact.
//!
//! Measured against the obvious crate (December 2026, the 318 literals of
//! the engine's scan, 256 MiB of the error-dense benchmark log, one core):
//! this scan 0.27 s, `aho-corasick`'s ASCII-case-insensitive DFA 0.59 s for
//! the same 1.95 million matches. Its SIMD searcher (packed Teddy) refuses
//! a set this large and knows no case folding, and `memchr::memmem` looks
//! for one literal at a time; so this scan stays. Hashing only even
//! positions (same month, 32 MiB, counted by cachegrind) took the scan
//! itself from 190 to 120 million instructions on the real log, and the
//! whole analysis from 875 to 844 million (1,318 to 1,282 on the dense
//! one): fewer probes, against more positions to look at twice.

use std::ops::Range;

/// Literals shorter than this cannot be searched for.
pub(crate) const MIN_LEN: usize = 4;

/// Literals longer than this are known by eight-byte windows.
const LONG: usize = 8;

/// Or-ed into four bytes, makes ASCII letters lowercase. It maps some other
/// bytes together too (`@` and `` ` ``), which only costs a comparison.
const FOLD: u32 = 0x2020_2020;

const TABLE_BITS: u32 = 15;
/// A byte per hash: a bit per lookup is smaller but costs more to read.
const TABLE_LEN: usize = 1 << TABLE_BITS;
const PAIR_WORDS: usize = (1 << TABLE_BITS) / 64;

const SHORT: u8 = 1;
const LONG_HALF: u8 = 2;
/// A four-byte literal starts here.
const FOUR: u8 = 4;
/// A four-byte literal may start at the next position: the last three
/// bytes here are its first three.
const BEFORE_FOUR: u8 = 8;

/// Literals' windows filed by hash: where each hash's entries start in
/// one sorted list. A lookup is two reads, where a binary search over a
/// few hundred entries took eight dependent steps, each a likely cache
/// miss and mispredicted branch; the index costs 64 KiB.
#[derive(Debug, Clone)]
struct Buckets {
    /// `starts[h]..starts[h + 1]` are the entries of hash `h`.
    starts: Box<[u16]>,
    /// `(literal index, where its window starts in it)`, by hash.
    entries: Vec<(usize, isize)>,
}

impl Buckets {
    /// From `(hash, literal index, window offset)`; `None` past 65,535
    /// entries.
    fn new(mut list: Vec<(u32, usize, isize)>) -> Option<Self> {
        list.sort_unstable();
        // One pass over the sorted list: each hash starts where the entries
        // of smaller hashes end.
        let mut starts = vec![0u16; TABLE_LEN + 1].into_boxed_slice();
        let mut next = 0;
        for (h, start) in starts.iter_mut().enumerate() {
            while list.get(next).is_some_and(|&(lh, _, _)| (lh as usize) < h) {
                next += 1;
            }
            *start = u16::try_from(next).ok()?;
        }
        Some(Self {
            starts,
            entries: list.into_iter().map(|(_, i, at)| (i, at)).collect(),
        })
    }

    fn get(&self, h: u32) -> &[(usize, isize)] {
        let h = h as usize;
        match (self.starts.get(h), self.starts.get(h + 1)) {
            (Some(&a), Some(&b)) => self
                .entries
                .get(usize::from(a)..usize::from(b))
                .unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// Exact multi-literal search, ignoring ASCII case; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct LiteralScanner {
    /// Per hash of four bytes: [`SHORT`], [`LONG_HALF`], [`FOUR`] and
    /// [`BEFORE_FOUR`].
    table: Box<[u8; TABLE_LEN]>,
    /// One bit per hash of a long literal's two halves.
    pairs: Box<[u64; PAIR_WORDS]>,
    /// Short literals by the hash of their windows, long ones by the pair
    /// hash of theirs.
    short: Buckets,
    long: Buckets,
    /// Four-byte literals, by the hash of their bytes (offset 0).
    four: Buckets,
    /// The distinct literals, lowercase.
    literals: Vec<Vec<u8>>,
    /// For each distinct literal, its first eight bytes (fewer for a
    /// shorter one) with [`FOLD`] or-ed in, and the mask of those bytes: a
    /// text whose eight bytes differ there cannot hold the literal, which
    /// one load and compare tells (see [`Self::verify`]).
    prefixes: Vec<(u64, u64)>,
    /// For each distinct literal, the indices it was given as.
    ids: Vec<Vec<usize>>,
}

const FOLD64: u64 = 0x2020_2020_2020_2020;

/// The first eight bytes at `at`, if there are eight.
fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk::<8>)
        .map(|w| u64::from_le_bytes(*w))
}

/// See [`LiteralScanner::prefixes`].
fn prefix(literal: &[u8]) -> (u64, u64) {
    let n = literal.len().min(8);
    let mut bytes = [0u8; 8];
    bytes[..n].copy_from_slice(&literal[..n]);
    let mask = if n == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    };
    ((u64::from_le_bytes(bytes) | FOLD64) & mask, mask)
}

fn hash(window: u32) -> u32 {
    (window | FOLD).wrapping_mul(0x9E37_79B1) >> (32 - TABLE_BITS)
}

fn pair_hash(first: u32, second: u32) -> u32 {
    let both = u64::from(first | FOLD) | (u64::from(second | FOLD) << 32);
    (both.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - TABLE_BITS)) as u32
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk::<4>)
        .map(|w| u32::from_le_bytes(*w))
}

/// How common a byte is in log text, roughly (English letter frequencies,
/// with spaces, digits and path punctuation common too): a literal is
/// known by its window that scores lowest.
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

/// Where the rarest-looking `width` bytes of `literal` start.
fn best_window(literal: &[u8], width: usize) -> usize {
    (0..=literal.len() - width)
        .min_by_key(|&at| {
            literal[at..at + width]
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
        // Built on the heap: 32 KiB is too much for a stack frame.
        let mut table: Box<[u8; TABLE_LEN]> =
            vec![0u8; TABLE_LEN].into_boxed_slice().try_into().ok()?;
        let mut pairs = Box::new([0u64; PAIR_WORDS]);
        let (mut short, mut long, mut four) = (Vec::new(), Vec::new(), Vec::new());
        let (mut unique, mut ids): (Vec<Vec<u8>>, Vec<Vec<usize>>) = (Vec::new(), Vec::new());
        for (id, literal) in literals.into_iter().enumerate() {
            let literal = literal.as_ref();
            if literal.len() < MIN_LEN {
                return None;
            }
            // The same literal asked for twice (a keyword that is also a
            // parser's anchor) is compared once.
            let literal = literal.to_ascii_lowercase();
            if let Some(u) = unique.iter().position(|l| *l == literal) {
                ids[u].push(id);
                continue;
            }
            let i = unique.len();
            if literal.len() > LONG {
                // Two windows side by side: one of them starts at an even
                // position wherever the literal does.
                let offset = best_window(&literal, LONG + 1);
                for at in [offset, offset + 1] {
                    let first = read_u32(&literal, at)?;
                    let second = read_u32(&literal, at + 4)?;
                    table[hash(first) as usize] |= LONG_HALF;
                    let p = pair_hash(first, second);
                    pairs[(p / 64) as usize] |= 1 << (p % 64);
                    long.push((p, i, at.cast_signed()));
                }
            } else if literal.len() > MIN_LEN {
                let offset = best_window(&literal, MIN_LEN + 1);
                for at in [offset, offset + 1] {
                    let h = hash(read_u32(&literal, at)?);
                    table[h as usize] |= SHORT;
                    short.push((h, i, at.cast_signed()));
                }
            } else {
                // A literal of four bytes has one window, itself. Where it
                // starts at an odd position, the even one before it holds
                // its first three bytes after any byte (a byte and its ASCII
                // case fold together, so half of them are enough).
                let window = read_u32(&literal, 0)?;
                let h = hash(window);
                table[h as usize] |= FOUR;
                four.push((h, i, 0));
                for any in (0..=u8::MAX).filter(|b| *b == *b | 0x20) {
                    table[hash((window << 8) | u32::from(any)) as usize] |= BEFORE_FOUR;
                }
            }
            unique.push(literal);
            ids.push(vec![id]);
        }
        Some(Self {
            table,
            pairs,
            short: Buckets::new(short)?,
            long: Buckets::new(long)?,
            four: Buckets::new(four)?,
            prefixes: unique.iter().map(|l| prefix(l)).collect(),
            literals: unique,
            ids,
        })
    }

    /// Calls `f(where, literal index)` for each literal occurrence (in no
    /// promised order) until `f` returns false.
    pub(crate) fn for_each(&self, hay: &[u8], mut f: impl FnMut(Range<usize>, usize) -> bool) {
        // Every literal has a window at an even position (see `new`), so
        // only even positions are looked at: four per step of eight bytes,
        // from two loads; most steps find nothing.
        let mut at = 0;
        while let Some(chunk) = hay.get(at..at + 16) {
            let (Some(lo), Some(hi)) = (chunk.first_chunk::<8>(), chunk[8..].first_chunk::<8>())
            else {
                break;
            };
            let lo = u64::from_le_bytes(*lo);
            let hi = u64::from_le_bytes(*hi);
            let mut found = u64::from(self.probe(lo as u32))
                | u64::from(self.probe((lo >> 16) as u32)) << 4
                | u64::from(self.probe((lo >> 32) as u32)) << 8
                | u64::from(self.probe(((lo >> 48) | (hi << 16)) as u32)) << 12;
            while found != 0 {
                let k = found.trailing_zeros() as usize / 4;
                if !self.check(hay, at + 2 * k, (found >> (4 * k)) as u8 & 0xf, &mut f) {
                    return;
                }
                found &= !(0xf << (4 * k));
            }
            at += 8;
        }
        while let Some(window) = read_u32(hay, at) {
            if !self.check(hay, at, self.probe(window), &mut f) {
                return;
            }
            at += 2;
        }
    }

    /// The table's bits for the four bytes `window`.
    fn probe(&self, window: u32) -> u8 {
        self.table[hash(window) as usize]
    }

    /// Reports the literals whose window starts at `pos`, given the
    /// table's bits there; false once `f` says stop.
    fn check(
        &self,
        hay: &[u8],
        pos: usize,
        bits: u8,
        f: &mut impl FnMut(Range<usize>, usize) -> bool,
    ) -> bool {
        let Some(first) = read_u32(hay, pos) else {
            return true;
        };
        if bits & SHORT != 0 && !self.verify(hay, pos, &self.short, hash(first), f) {
            return false;
        }
        if bits & FOUR != 0 && !self.verify(hay, pos, &self.four, hash(first), f) {
            return false;
        }
        if bits & BEFORE_FOUR != 0
            && let Some(next) = read_u32(hay, pos + 1)
            && self.probe(next) & FOUR != 0
            && !self.verify(hay, pos + 1, &self.four, hash(next), f)
        {
            return false;
        }
        if bits & LONG_HALF != 0
            && let Some(second) = read_u32(hay, pos + 4)
        {
            let p = pair_hash(first, second);
            if self.pairs[(p / 64) as usize] & (1 << (p % 64)) != 0
                && !self.verify(hay, pos, &self.long, p, f)
            {
                return false;
            }
        }
        true
    }

    /// Compares the literals of `list` filed under hash `h` in full.
    fn verify(
        &self,
        hay: &[u8],
        pos: usize,
        list: &Buckets,
        h: u32,
        f: &mut impl FnMut(Range<usize>, usize) -> bool,
    ) -> bool {
        for &(i, offset) in list.get(h) {
            let literal = &self.literals[i];
            let Some(start) = pos.checked_add_signed(-offset) else {
                continue;
            };
            let (want, mask) = self.prefixes[i];
            if read_u64(hay, start).is_some_and(|w| (w | FOLD64) & mask != want) {
                continue;
            }
            let found = start..start + literal.len();
            if hay
                .get(found.clone())
                .is_some_and(|s| s.eq_ignore_ascii_case(literal))
                && !self.ids[i].iter().all(|&id| f(found.clone(), id))
            {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious search, for comparison.
    fn naive(literals: &[&str], hay: &[u8]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        for at in 0..hay.len() {
            for (i, l) in literals.iter().enumerate() {
                if hay
                    .get(at..at + l.len())
                    .is_some_and(|s| s.eq_ignore_ascii_case(l.as_bytes()))
                {
                    found.push((at, i));
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
            "receiving",
            "no space left on device",
            "FAIL",
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
            "a longer line, so that the eight-wide loop runs: error at 53, fail too; exception",
            "0123456789abcdef0123456789abcdeferror",
            "Receiving objects: 100% (5/5), done. Resolving deltas; receiving",
            "write /tmp/x: No space left on device.........no space left on devic",
        ] {
            let mut got = Vec::new();
            scanner.for_each(hay.as_bytes(), |found, i| {
                assert_eq!(found.len(), literals[i].len());
                got.push((found.start, i));
                true
            });
            got.sort_unstable();
            assert_eq!(got, naive(&literals, hay.as_bytes()), "{hay}");
        }
    }

    /// Every length of literal, starting at odd and even positions, near
    /// both ends of the text, over a small alphabet so that they overlap
    /// and repeat.
    #[test]
    fn finds_what_a_naive_search_finds_in_random_text() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let alphabet = b"abAB :.";
        for _ in 0..200 {
            let literals: Vec<String> = (0..=next(12))
                .map(|_| {
                    (0..4 + next(12))
                        .map(|_| char::from(alphabet[next(alphabet.len() as u64) as usize]))
                        .collect()
                })
                .collect();
            let refs: Vec<&str> = literals.iter().map(String::as_str).collect();
            let scanner = LiteralScanner::new(&refs).expect("all long enough");
            for _ in 0..20 {
                let hay: Vec<u8> = (0..next(90))
                    .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                    .collect();
                let mut got = Vec::new();
                scanner.for_each(&hay, |found, i| {
                    assert_eq!(found.len(), refs[i].len());
                    got.push((found.start, i));
                    true
                });
                got.sort_unstable();
                assert_eq!(got, naive(&refs, &hay), "{refs:?} in {hay:?}");
            }
        }
    }

    #[test]
    fn stops_when_told() {
        let scanner = LiteralScanner::new(["error"]).expect("long enough");
        let mut calls = 0;
        scanner.for_each(b"error error error error", |_, _| {
            calls += 1;
            false
        });
        assert_eq!(calls, 1);
    }

    #[test]
    fn short_literals_are_refused() {
        assert!(LiteralScanner::new(["abc"]).is_none());
    }
}
