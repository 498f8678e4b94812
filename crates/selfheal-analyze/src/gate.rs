//! Regex sets behind a literal gate.
//!
//! A [`regex::RegexSet`] of many unanchored, case-insensitive patterns has
//! no literal prefilter, so asking it about a line runs a lazy DFA over the
//! whole line; on a busy log that was a third of the analyser's time. Most
//! patterns, though, cannot match without some literal: `no space left on
//! device` needs exactly that text, `(?:502 Bad Gateway|503 Service
//! Unavailable)` needs one of two. [`GatedSet`] works those literals out from
//! each pattern's syntax tree, scans a line once for all of them (see
//! [`crate::scan`]), and runs only the patterns whose literal showed
//! up (plus the few that need no literal). The answers are exactly those of
//! the plain set: a literal is only used when every match must contain it.

use regex::Regex;
use regex_syntax::hir::{Class, Hir, HirKind};

use crate::scan::{LiteralScanner, MIN_LEN};

/// Literals shorter than this would let nearly every line through (and the
/// scanner cannot look for them): such a pattern is run on every line.
const MIN_LITERAL: usize = MIN_LEN;

/// Most patterns in one set (candidates are tracked in a 128-bit mask).
const MAX_PATTERNS: usize = 128;

/// A set of regexes that answers like [`regex::RegexSet`], faster.
#[derive(Debug)]
pub(crate) struct GatedSet {
    regexes: Vec<Regex>,
    /// Patterns with no usable literal: always run.
    ungated: u128,
    /// Every pattern's literals, lowercase, with the pattern each gates.
    literals: Vec<(usize, Vec<u8>)>,
    /// Looks for `literals`, in the same order.
    scanner: LiteralScanner,
}

impl GatedSet {
    /// Compiles `patterns` (already in the final syntax: see
    /// [`crate::parsers::re_set`] for the `\b` rewrite).
    pub(crate) fn new<I, S>(patterns: I) -> Result<Self, regex::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut regexes = Vec::new();
        let mut ungated = 0u128;
        let mut all_literals: Vec<(usize, Vec<u8>)> = Vec::new();
        for (i, pattern) in patterns.into_iter().enumerate() {
            let pattern = pattern.as_ref();
            if i >= MAX_PATTERNS {
                return Err(regex::Error::Syntax(format!(
                    "a gated set holds at most {MAX_PATTERNS} patterns"
                )));
            }
            regexes.push(Regex::new(pattern)?);
            let literals = regex_syntax::Parser::new()
                .parse(pattern)
                .ok()
                .and_then(|hir| required(&hir))
                .filter(|set| {
                    // ASCII only: then finding one in the raw bytes of a line
                    // and in its lossily decoded text are the same thing.
                    set.iter().all(|l| l.len() >= MIN_LITERAL && l.is_ascii())
                });
            match literals {
                Some(set) => {
                    all_literals.extend(set.into_iter().map(|literal| (i, literal)));
                }
                None => ungated |= 1 << i,
            }
        }
        let scanner = LiteralScanner::new(all_literals.iter().map(|(_, l)| l))
            .ok_or_else(|| regex::Error::Syntax("gate literal too short".into()))?;
        Ok(Self {
            regexes,
            ungated,
            literals: all_literals,
            scanner,
        })
    }

    /// Each literal with the pattern it gates, for a caller that scans for
    /// them along with other literals and passes what it found to
    /// [`Self::first_match_among`].
    pub(crate) fn literals(&self) -> impl Iterator<Item = (usize, &[u8])> {
        self.literals.iter().map(|(i, l)| (*i, l.as_slice()))
    }

    /// [`Self::first_match`], given the patterns whose literals the caller
    /// found in `text` (a bit per pattern).
    pub(crate) fn first_match_among(&self, text: &str, found: u128) -> Option<usize> {
        let mask = if has_folded(text) {
            u128::MAX
        } else {
            found | self.ungated
        };
        self.first_of(text, mask)
    }

    /// A bit per pattern whose literal occurs in `text`.
    fn found(&self, text: &str) -> u128 {
        let mut found = 0;
        self.scanner.for_each(text.as_bytes(), |_, i| {
            found |= 1 << self.literals[i].0;
            true
        });
        found
    }

    /// Whether any pattern matches.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.first_match(text).is_some()
    }

    /// The lowest-numbered pattern that matches.
    pub(crate) fn first_match(&self, text: &str) -> Option<usize> {
        self.first_match_among(text, self.found(text))
    }

    /// The lowest-numbered pattern of `mask` that matches.
    fn first_of(&self, text: &str, mut mask: u128) -> Option<usize> {
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            if i >= self.regexes.len() {
                break;
            }
            if self.regexes[i].is_match(text) {
                return Some(i);
            }
            mask &= mask - 1;
        }
        None
    }

    /// How many patterns the set holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.regexes.len()
    }

    /// How many patterns run on every line because they need no literal.
    #[cfg(test)]
    pub(crate) fn ungated(&self) -> usize {
        self.ungated.count_ones() as usize
    }
}

/// Lowercase literals one of which every match of `hir` contains, or `None`
/// when no such set is known.
fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(lit) => Some(vec![lit.0.to_ascii_lowercase()]),
        HirKind::Class(_) => single_byte(hir).map(|b| vec![vec![b]]),
        HirKind::Capture(cap) => required(&cap.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub),
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for branch in branches {
                for literal in required(branch)? {
                    if !all.contains(&literal) {
                        all.push(literal);
                    }
                }
            }
            Some(all)
        }
        HirKind::Concat(items) => best_in_concat(items),
        _ => None,
    }
}

/// In a concatenation, the best of: each run of adjacent single literals
/// joined into one literal, and each item's own required set.
fn best_in_concat(items: &[Hir]) -> Option<Vec<Vec<u8>>> {
    let mut best: Option<Vec<Vec<u8>>> = None;
    let mut consider = |set: Vec<Vec<u8>>| {
        if best.as_ref().is_none_or(|b| better(&set, b)) {
            best = Some(set);
        }
    };
    let mut run: Vec<u8> = Vec::new();
    for item in items {
        let piece = match item.kind() {
            HirKind::Literal(lit) => Some(lit.0.to_ascii_lowercase()),
            HirKind::Class(_) => single_byte(item).map(|b| vec![b]),
            _ => None,
        };
        if let Some(piece) = piece {
            run.extend_from_slice(&piece);
            continue;
        }
        // A byte repeated at least `min` times (`\.{4,}`): its first `min`
        // copies follow the run so far, and its last `min` precede whatever
        // comes next, so `\.{4,}Failed` requires `....failed`. Only a fixed
        // count lets the run go on through it.
        if let HirKind::Repetition(rep) = item.kind()
            && let Some(byte) = one_byte(&rep.sub)
            && let Ok(min @ 1..=MAX_REPEAT) = usize::try_from(rep.min)
        {
            run.extend(std::iter::repeat_n(byte, min));
            if rep.max != Some(rep.min) {
                consider(vec![std::mem::take(&mut run)]);
                run.extend(std::iter::repeat_n(byte, min));
            }
            continue;
        }
        if !run.is_empty() {
            consider(vec![std::mem::take(&mut run)]);
        }
        if let Some(set) = required(item) {
            consider(set);
        }
    }
    if !run.is_empty() {
        consider(vec![run]);
    }
    best
}

/// Most copies of a repeated byte that [`best_in_concat`] writes out.
const MAX_REPEAT: usize = 16;

/// The byte `hir` stands for, lowercase, if it is one byte.
fn one_byte(hir: &Hir) -> Option<u8> {
    match hir.kind() {
        HirKind::Literal(lit) => match *lit.0 {
            [b] => Some(b.to_ascii_lowercase()),
            _ => None,
        },
        HirKind::Class(_) => single_byte(hir),
        _ => None,
    }
}

/// Whether literal set `a` is a better gate than `b`: longer shortest
/// literal first, then fewer literals.
fn better(a: &[Vec<u8>], b: &[Vec<u8>]) -> bool {
    let shortest = |s: &[Vec<u8>]| s.iter().map(Vec::len).min().unwrap_or(0);
    (shortest(a), std::cmp::Reverse(a.len())) > (shortest(b), std::cmp::Reverse(b.len()))
}

/// Characters that Unicode case folding adds to an ASCII letter's class:
/// `(?i)k` also matches the Kelvin sign and `(?i)s` the long s. Literals
/// treat those classes as the plain letter, so [`GatedSet`] runs every
/// pattern on the rare text that holds one of them.
const FOLDED_INTO_ASCII: [char; 2] = ['\u{212a}', '\u{17f}'];

/// Whether `text` holds one of [`FOLDED_INTO_ASCII`]. Searched as bytes,
/// by their lead bytes: decoding every non-ASCII line costs more.
fn has_folded(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr2_iter(0xe2, 0xc5, bytes).any(|at| {
        FOLDED_INTO_ASCII.iter().any(|c| {
            let mut buf = [0; 4];
            bytes[at..].starts_with(c.encode_utf8(&mut buf).as_bytes())
        })
    })
}

/// A class that stands for one byte, ignoring ASCII case (`[Ee]` as
/// `(?i)` writes it, or `[Kk\u{212a}]`): that byte, lowercase. Anything
/// wider (ranges, other letters) is not a literal.
fn single_byte(hir: &Hir) -> Option<u8> {
    let HirKind::Class(class) = hir.kind() else {
        return None;
    };
    let mut bytes: Vec<u8> = Vec::new();
    match class {
        Class::Unicode(c) => {
            for r in c.iter() {
                for ch in r.start()..=r.end() {
                    if FOLDED_INTO_ASCII.contains(&ch) {
                        continue;
                    }
                    bytes.push(u8::try_from(u32::from(ch)).ok().filter(u8::is_ascii)?);
                    if bytes.len() > 2 {
                        return None;
                    }
                }
            }
        }
        Class::Bytes(c) => {
            for r in c.iter() {
                for b in r.start()..=r.end() {
                    bytes.push(b);
                    if bytes.len() > 2 {
                        return None;
                    }
                }
            }
        }
    }
    match bytes.as_slice() {
        [b] => Some(b.to_ascii_lowercase()),
        [a, b] if a.is_ascii_alphabetic() && a.eq_ignore_ascii_case(b) => {
            Some(a.to_ascii_lowercase())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literals(pattern: &str) -> Option<Vec<String>> {
        let hir = regex_syntax::Parser::new().parse(pattern).expect("pattern");
        required(&hir).map(|s| {
            s.into_iter()
                .map(|l| String::from_utf8(l).expect("utf-8"))
                .collect()
        })
    }

    #[test]
    fn literals_come_from_the_syntax_tree() {
        assert_eq!(
            literals(r"(?i)no space left on device"),
            Some(vec!["no space left on device".into()])
        );
        assert_eq!(
            literals(r"(?i)\b(?:502 Bad Gateway|503 Service Unavailable)\b"),
            Some(vec![
                "502 bad gateway".into(),
                "503 service unavailable".into()
            ])
        );
        // The longest run of a concatenation wins over a short one.
        assert_eq!(
            literals(r"^Input required and not supplied: (\S+)"),
            Some(vec!["input required and not supplied: ".into()])
        );
        // Repeated bytes: their first copies join what comes before, their
        // last what comes after; a fixed count joins both.
        assert_eq!(
            literals(r"^[\w][\w .:/()+-]*?\.{4,}Failed$"),
            Some(vec!["....failed".into()])
        );
        assert_eq!(literals(r"ab-{2}cd"), Some(vec!["ab--cd".into()]));
        assert_eq!(literals(r"abcde-+x"), Some(vec!["abcde-".into()]));
        assert_eq!(literals(r"(?i)x=+ fail"), Some(vec!["= fail".into()]));
        // `k` also folds to the Kelvin sign: still the letter k.
        assert_eq!(literals(r"(?i)lock"), Some(vec!["lock".into()]));
        assert_eq!(literals(r"(?i)l[ok]ck"), Some(vec!["ck".into()]));
        // Optional parts and classes are never required.
        assert_eq!(literals(r"(?:abc)?\d+"), None);
        assert_eq!(literals(r"abc|\d+"), None);
    }

    #[test]
    fn answers_like_a_plain_regex_set() {
        let patterns = [
            r"(?i)no space left on device",
            r"^\s*[\w.]+ \[FAIL\]$",
            r"(?i)\b(?:errors?|failures?)[:=]\s*0\b",
            r"exit code 1(?:37|24)\b",
            r"(?i)could ?not resolve host",
            r"(?i)kill",
            r"^[\w][\w .:/()+-]*?\.{4,}Failed$",
            r"x-{2}y|z=+ fail",
            r"ab",
        ];
        let gated = GatedSet::new(patterns).expect("compiles");
        let plain = regex::RegexSet::new(patterns).expect("compiles");
        assert_eq!(gated.len(), patterns.len());
        // `^\s*[\w.]+ \[FAIL\]$` has " [fail]"; only `ab` is too short.
        assert_eq!(gated.ungated(), 1);
        for text in [
            "write error: No Space Left On Device",
            "  test_x [FAIL]",
            "Errors: 0, Failures: 0",
            "Process completed with exit code 137.",
            "curl: (6) Could not resolve host: example.com",
            "couldnot resolve HOST",
            "grab it",
            "nothing here",
            "",
            "ſ ſpace K \u{212a}",
            "no ſpace left on device",
            "\u{212a}ILL",
            "kILL",
            "lint.....Failed",
            "lint...Failed",
            "lint....failed",
            "x--y",
            "x-y",
            "z= fail",
            "z fail",
            "0 failed; 0 ignored",
        ] {
            assert_eq!(
                gated.first_match(text),
                plain.matches(text).into_iter().next(),
                "{text}"
            );
        }
    }
}
