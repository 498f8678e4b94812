//! Finding where an edit goes in a file.
//!
//! Models quote code imperfectly, so matching is tried in rounds from strict
//! to lenient, and the first round that finds anything decides: exact text,
//! then whole lines ignoring trailing whitespace, then whole lines shifted by
//! one uniform indentation (the quote was copied out of a nested block, or
//! re-indented), and last a quote a few characters off the one place it
//! clearly means, whose change is merged onto the real text only where the
//! two do not touch (small models misquote a quote mark or a space, then
//! repeat the same quote on every retry). A round that finds several places is an ambiguity, not a
//! licence to pick one; only diff hunks, which carry a line number, may use
//! it to break the tie (and `apply.rs` accepts a reply that repeats one
//! replacement exactly once per occurrence).
//!
//! Line endings are not this module's business: callers hand it LF text (see
//! `apply.rs`).

use std::collections::HashSet;
use std::time::Duration;

use similar::TextDiff;

use crate::edit::{Hunk, HunkLine};

/// How strictly a line of the reply must equal a line of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Exact,
    TrailingSpace,
    Indent,
}

/// The indentation to add to or remove from the reply's lines so they sit
/// where the matched lines sit.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shift {
    Indent(String),
    Dedent(String),
}

impl Shift {
    const NONE: Shift = Shift::Indent(String::new());

    fn apply(&self, line: &str) -> String {
        if line.trim().is_empty() {
            return line.trim_end().to_owned();
        }
        match self {
            Shift::Indent(prefix) => format!("{prefix}{line}"),
            // Lenient: a line indented less than the shift is kept as is
            // rather than rejected.
            Shift::Dedent(prefix) => line
                .strip_prefix(prefix.as_str())
                .unwrap_or(line)
                .to_owned(),
        }
    }
}

fn indent_of(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// The shift that makes `want` line up with `have`, if the lines agree apart
/// from it.
fn line_shift(have: &str, want: &str) -> Option<Shift> {
    let (have, want) = (have.trim_end(), want.trim_end());
    let (hi, wi) = (indent_of(have), indent_of(want));
    if have[hi.len()..] != want[wi.len()..] {
        return None;
    }
    if let Some(prefix) = hi.strip_suffix(wi) {
        Some(Shift::Indent(prefix.to_owned()))
    } else {
        wi.strip_suffix(hi)
            .map(|prefix| Shift::Dedent(prefix.to_owned()))
    }
}

/// Whether `want` matches the lines of `have` starting at `start`, and with
/// which shift.
fn match_at(have: &[&str], start: usize, want: &[&str], level: Level) -> Option<Shift> {
    let window = have.get(start..start + want.len())?;
    match level {
        Level::Exact => window
            .iter()
            .zip(want)
            .all(|(h, w)| h == w)
            .then_some(Shift::NONE),
        Level::TrailingSpace => window
            .iter()
            .zip(want)
            .all(|(h, w)| h.trim_end() == w.trim_end())
            .then_some(Shift::NONE),
        Level::Indent => {
            let mut shift: Option<Shift> = None;
            for (h, w) in window.iter().zip(want) {
                match (h.trim().is_empty(), w.trim().is_empty()) {
                    (true, true) => continue,
                    (false, false) => {}
                    _ => return None,
                }
                let this = line_shift(h, w)?;
                match &shift {
                    None => shift = Some(this),
                    Some(s) if *s == this => {}
                    Some(_) => return None,
                }
            }
            shift
        }
    }
}

fn find_lines(have: &[&str], want: &[&str], level: Level) -> Vec<(usize, Shift)> {
    if want.is_empty() || want.len() > have.len() {
        return Vec::new();
    }
    (0..=have.len() - want.len())
        .filter_map(|start| match_at(have, start, want, level).map(|s| (start, s)))
        .collect()
}

/// The lines of `text` without their `\n` (a `\r` of a mixed-ending file stays).
fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l))
        .collect()
}

/// Drops blank lines at both ends: models pad quotes with them, and they
/// carry no information about where the quote belongs.
fn trim_blank_ends<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let start = lines.iter().position(|l| !l.trim().is_empty());
    let end = lines.iter().rposition(|l| !l.trim().is_empty());
    match (start, end) {
        (Some(s), Some(e)) => lines[s..=e].to_vec(),
        _ => Vec::new(),
    }
}

fn line_list(lines: &[usize]) -> String {
    let shown: Vec<String> = lines.iter().take(5).map(ToString::to_string).collect();
    let more = if lines.len() > 5 { ", ..." } else { "" };
    format!("{}{more}", shown.join(", "))
}

fn ambiguous(what: &str, lines: &[usize]) -> String {
    format!(
        "{what} matches {} places (lines {}); quote more surrounding lines so it matches one",
        lines.len(),
        line_list(lines)
    )
}

/// Replaces the single place in `content` that `old` matches with `new`.
pub(crate) fn replace(content: &str, old: &str, new: &str) -> Result<String, String> {
    let positions: Vec<usize> = content.match_indices(old).map(|(i, _)| i).collect();
    match positions.as_slice() {
        [at] => {
            return Ok(format!(
                "{}{new}{}",
                &content[..*at],
                &content[at + old.len()..]
            ));
        }
        [] => {}
        many => {
            let lines: Vec<usize> = many
                .iter()
                .map(|&at| content[..at].matches('\n').count() + 1)
                .collect();
            return Err(ambiguous("old text", &lines));
        }
    }

    let want = trim_blank_ends(&split_lines(old));
    if want.is_empty() {
        return Err("old text is blank; quote the lines to replace".to_owned());
    }
    let pieces: Vec<&str> = content.split_inclusive('\n').collect();
    let have: Vec<&str> = split_lines(content);
    for level in [Level::TrailingSpace, Level::Indent] {
        let found = find_lines(&have, &want, level);
        let (start, shift) = match found.as_slice() {
            [] => continue,
            [(start, shift)] => (*start, shift),
            many => {
                let lines: Vec<usize> = many.iter().map(|(s, _)| s + 1).collect();
                return Err(ambiguous("old text", &lines));
            }
        };
        let end = start + want.len();
        let before: usize = pieces[..start].iter().map(|p| p.len()).sum();
        let region: usize = pieces[start..end].iter().map(|p| p.len()).sum();
        let new_lines: Vec<String> = trim_blank_ends(&split_lines(new))
            .iter()
            .map(|l| shift.apply(l))
            .collect();
        let mut replacement = new_lines.join("\n");
        if !new_lines.is_empty() && pieces[end - 1].ends_with('\n') {
            replacement.push('\n');
        }
        return Ok(format!(
            "{}{replacement}{}",
            &content[..before],
            &content[before + region..]
        ));
    }
    if let Some(merged) = merge_into_closest(content, &pieces, &have, &want, new) {
        return Ok(merged);
    }
    if let Some(line) = already_there(&have, new) {
        return Err(format!(
            "old text not found, and the file already has the new text at line {line}: that change is already made (look for what it left out, such as code that still uses the old text)"
        ));
    }
    Err(format!("old text not found{}", closest(&have, &want)))
}

/// The line where `new`'s lines already stand in the file (indentation
/// aside), when the quote was not found: the model asked for a change the
/// file already has, typically re-making the commit that broke the build.
fn already_there(have: &[&str], new: &str) -> Option<usize> {
    let lines = trim_blank_ends(&split_lines(new));
    if lines.is_empty() {
        return None;
    }
    find_lines(have, &lines, Level::Indent)
        .first()
        .map(|(start, _)| start + 1)
}

/// How alike the closest window must be, and how much less alike any other,
/// for a misquoted `old` to be merged into it.
const MERGE_LIKENESS: f32 = 0.9;

/// The last, most lenient round: the quote is a few characters off the one
/// place it clearly means (at least [`MERGE_LIKENESS`] alike, and no other
/// window is). The model's change (quote → `new`) is then carried over onto
/// the file's real text, character by character, provided no character it
/// changes is one the quote got wrong or touches one: what the model
/// misremembered stays as the file has it, what it meant to change changes.
fn merge_into_closest(
    content: &str,
    pieces: &[&str],
    have: &[&str],
    want: &[&str],
    new: &str,
) -> Option<String> {
    let ranked = rank_windows(have, want);
    let &(ratio, start) = ranked.first()?;
    if ratio < MERGE_LIKENESS || ranked.get(1).is_some_and(|(r, _)| *r >= MERGE_LIKENESS) {
        return None;
    }
    let end = start + want.len().min(have.len());
    let base = want.join("\n");
    let ours = have[start..end].join("\n");
    let theirs = trim_blank_ends(&split_lines(new)).join("\n");
    let merged = merge_chars(&base, &ours, &theirs)?;
    let before: usize = pieces[..start].iter().map(|p| p.len()).sum();
    let region: usize = pieces[start..end].iter().map(|p| p.len()).sum();
    let newline = if pieces[end - 1].ends_with('\n') {
        "\n"
    } else {
        ""
    };
    let merged = if merged.is_empty() {
        String::new()
    } else {
        format!("{merged}{newline}")
    };
    Some(format!(
        "{}{merged}{}",
        &content[..before],
        &content[before + region..]
    ))
}

/// Three-way merge of single texts by characters: `base` changed into
/// `theirs`, applied to `ours` (another change of `base`). `None` when a
/// change of theirs overlaps or touches a change of ours.
fn merge_chars(base: &str, ours: &str, theirs: &str) -> Option<String> {
    use similar::{Algorithm, DiffOp, capture_diff_slices_deadline};
    let b: Vec<char> = base.chars().collect();
    let o: Vec<char> = ours.chars().collect();
    let t: Vec<char> = theirs.chars().collect();
    let deadline = Some(std::time::Instant::now() + Duration::from_millis(50));
    let ours_ops = capture_diff_slices_deadline(Algorithm::Myers, &b, &o, deadline);
    let theirs_ops = capture_diff_slices_deadline(Algorithm::Myers, &b, &t, deadline);
    let changed = |ops: &[DiffOp]| -> Vec<(usize, usize)> {
        ops.iter()
            .filter(|op| !matches!(op, DiffOp::Equal { .. }))
            .map(|op| {
                let r = op.old_range();
                (r.start, r.end)
            })
            .collect()
    };
    let ours_changed = changed(&ours_ops);
    let theirs_changed = changed(&theirs_ops);
    if theirs_changed.is_empty() {
        return None;
    }
    // Touching counts: an insertion right beside a misquoted character is
    // not clearly on either side of it.
    let clash = theirs_changed
        .iter()
        .any(|&(s, e)| ours_changed.iter().any(|&(s2, e2)| s <= e2 && s2 <= e));
    if clash {
        return None;
    }
    // Where a position between characters of base lies in ours: only ever
    // asked for positions inside ours' unchanged stretches.
    let map = |p: usize| -> Option<usize> {
        if p == 0 {
            return Some(0);
        }
        if p == b.len() {
            return Some(o.len());
        }
        ours_ops.iter().find_map(|op| match *op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } if old_index <= p && p <= old_index + len => Some(new_index + (p - old_index)),
            _ => None,
        })
    };
    let mut out = String::new();
    for op in &theirs_ops {
        match *op {
            DiffOp::Equal { old_index, len, .. } => {
                let (from, to) = (map(old_index)?, map(old_index + len)?);
                out.extend(o.get(from..to)?);
            }
            _ => out.extend(t.get(op.new_range())?),
        }
    }
    Some(out)
}

/// Applies hunks in order, each located by its context and removed lines.
pub(crate) fn apply_hunks(content: &str, hunks: &[Hunk]) -> Result<String, String> {
    let ends_with_newline = content.is_empty() || content.ends_with('\n');
    let mut lines: Vec<String> = split_lines(content)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut cursor = 0usize;
    let mut delta = 0isize;
    for (n, hunk) in hunks.iter().enumerate() {
        let label = if hunks.len() > 1 {
            format!("hunk {}", n + 1)
        } else {
            "hunk".to_owned()
        };
        let (start, end, out) = place_hunk(&lines, hunk, cursor, delta)
            .map_err(|reason| format!("{label}: {reason}"))?;
        delta += signed(out.len()) - signed(end - start);
        cursor = start + out.len();
        lines.splice(start..end, out);
    }
    if lines.is_empty() {
        return Ok(String::new());
    }
    let mut text = lines.join("\n");
    if ends_with_newline {
        text.push('\n');
    }
    Ok(text)
}

/// Line counts as signed offsets; no file has `isize::MAX` lines.
fn signed(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

/// Where one hunk goes: the range of lines it replaces and what replaces them.
fn place_hunk(
    lines: &[String],
    hunk: &Hunk,
    cursor: usize,
    delta: isize,
) -> Result<(usize, usize, Vec<String>), String> {
    let have: Vec<&str> = lines.iter().map(String::as_str).collect();
    let hint = |skipped: usize| {
        hunk.old_start
            .map(|s| (signed(s) - 1 + delta + signed(skipped)).max(0) as usize)
    };
    if hunk.old_lines().is_empty() {
        // A pure insertion has nothing to match; only its line number places it.
        let at = if have.is_empty() {
            0
        } else if let Some(s) = hunk.old_start {
            (signed(s) + delta).clamp(0, signed(have.len())) as usize
        } else {
            return Err("it only adds lines and has no context lines to place them".to_owned());
        };
        let added = hunk.added_lines().into_iter().map(str::to_owned).collect();
        return Ok((at, at, added));
    }
    // Like `patch`'s fuzz factor: models often invent or misquote the
    // outermost context lines, so up to two are dropped from each end.
    for fuzz in 0..=2usize {
        let body = trim_context(&hunk.lines, fuzz);
        let want: Vec<&str> = body
            .iter()
            .filter_map(|l| match l {
                HunkLine::Context(t) | HunkLine::Remove(t) => Some(t.as_str()),
                HunkLine::Add(_) => None,
            })
            .collect();
        if want.is_empty() || (fuzz > 0 && body.len() == hunk.lines.len()) {
            continue;
        }
        let leading = hunk
            .lines
            .iter()
            .take_while(|l| matches!(l, HunkLine::Context(_)))
            .count()
            .min(fuzz);
        for level in [Level::Exact, Level::TrailingSpace, Level::Indent] {
            let found = find_lines(&have, &want, level);
            if found.is_empty() {
                continue;
            }
            let (start, shift) = choose(&found, cursor, hint(leading))?;
            let mut out = Vec::new();
            let mut at = start;
            for line in body {
                match line {
                    HunkLine::Context(_) => {
                        out.push(have[at].to_owned());
                        at += 1;
                    }
                    HunkLine::Remove(_) => at += 1,
                    HunkLine::Add(text) => out.push(shift.apply(text)),
                }
            }
            return Ok((start, at, out));
        }
    }
    let want = hunk.old_lines();
    Err(format!(
        "its context and removed lines were not found{}",
        closest(&have, &trim_blank_ends(&want))
    ))
}

/// The hunk's lines without up to `fuzz` context lines at each end.
fn trim_context(lines: &[HunkLine], fuzz: usize) -> &[HunkLine] {
    let is_context = |l: &HunkLine| matches!(l, HunkLine::Context(_));
    let lead = lines.iter().take_while(|l| is_context(l)).count().min(fuzz);
    let rest = &lines[lead..];
    let trail = rest
        .iter()
        .rev()
        .take_while(|l| is_context(l))
        .count()
        .min(fuzz);
    &rest[..rest.len() - trail]
}

/// Picks one of several places a hunk matches: the only one at or after the
/// previous hunk, else the one nearest the `@@` line number.
fn choose(
    found: &[(usize, Shift)],
    cursor: usize,
    hint: Option<usize>,
) -> Result<(usize, Shift), String> {
    if let [only] = found {
        return Ok(only.clone());
    }
    let after: Vec<&(usize, Shift)> = found.iter().filter(|(s, _)| *s >= cursor).collect();
    if let [only] = after.as_slice() {
        return Ok((*only).clone());
    }
    if let Some(hint) = hint {
        let distance = |s: usize| s.abs_diff(hint);
        let best = found.iter().map(|(s, _)| distance(*s)).min().unwrap_or(0);
        let nearest: Vec<&(usize, Shift)> =
            found.iter().filter(|(s, _)| distance(*s) == best).collect();
        if let [only] = nearest.as_slice() {
            return Ok((*only).clone());
        }
    }
    let lines: Vec<usize> = found.iter().map(|(s, _)| s + 1).collect();
    Err(ambiguous("it", &lines))
}

/// How alike two texts are, 0 to 1, character by character. Bounded in
/// time: on long, very different texts the diff gives up early, which only
/// makes the estimate rougher.
fn likeness(a: &str, b: &str) -> f32 {
    TextDiff::configure()
        .timeout(Duration::from_millis(20))
        .diff_chars(a, b)
        .ratio()
}

/// The windows of `have` as long as `want`, with how alike each is to the
/// quote (0 to 1), most alike first; only the few best by a cheap measure
/// get the real comparison.
fn rank_windows(have: &[&str], want: &[&str]) -> Vec<(f32, usize)> {
    if want.is_empty() || have.is_empty() {
        return Vec::new();
    }
    let k = want.len().min(have.len());
    let quote = want.join("\n");
    let quote = quote.trim();
    // Comparing the quote with every window costs a character diff each,
    // which is far too slow on big files; so windows are ranked cheaply
    // first (how many of their lines the quote contains, found with a
    // sliding count) and only the best few get the real comparison.
    let wanted: HashSet<&str> = want
        .iter()
        .map(|w| w.trim())
        .filter(|w| !w.is_empty())
        .collect();
    let hit: Vec<usize> = have
        .iter()
        .map(|h| usize::from(!h.trim().is_empty() && wanted.contains(h.trim())))
        .collect();
    let mut scores = Vec::with_capacity(have.len() - k + 1);
    let mut sum: usize = hit[..k].iter().sum();
    scores.push(sum);
    for start in 1..=have.len() - k {
        sum = sum + hit[start + k - 1] - hit[start - 1];
        scores.push(sum);
    }
    let mut ranked: Vec<(f32, usize)> = if scores.iter().any(|&s| s > 0) {
        scores
            .iter()
            .enumerate()
            .map(|(start, &score)| (score as f32, start))
            .collect()
    } else {
        // No line in common: rank by the first line alone.
        let first = want[0].trim();
        (0..scores.len())
            .map(|start| (likeness(have[start].trim(), first), start))
            .collect()
    };
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut compared: Vec<(f32, usize)> = ranked
        .iter()
        .take(16)
        .map(|&(_, start)| {
            let window = have[start..start + k].join("\n");
            (likeness(window.trim(), quote), start)
        })
        .collect();
    compared.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    compared
}

/// " (closest match at line N, P% similar: `text`)" for an error message, or
/// a note that nothing in the file resembles the quote.
fn closest(have: &[&str], want: &[&str]) -> String {
    let k = want.len().min(have.len());
    let best = rank_windows(have, want).first().copied();
    let Some((ratio, start)) = best.filter(|(r, _)| *r >= 0.5) else {
        return " (nothing similar in the file)".to_owned();
    };
    // Show the first line that differs: that is where the quote went wrong.
    let offset = have[start..start + k]
        .iter()
        .zip(want)
        .position(|(h, w)| h.trim() != w.trim())
        .unwrap_or(0);
    let line: String = have[start + offset].trim().chars().take(80).collect();
    format!(
        " (closest match at line {}, {:.0}% similar: `{line}`)",
        start + offset + 1,
        ratio * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALC: &str = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n";

    const VERSION: &str = "def parse(text):\n    parts = text.split(\".\")\n    return Version(int(parts[0]), int(parts[1]), int(parts[2]), pre or \"~\")\n";

    #[test]
    fn a_change_the_file_already_has_is_named_as_such() {
        let renamed = "def shipping_cost(kg):\n    return kg * 2\n";
        let err = replace(
            renamed,
            "def compute_shipping(kg):",
            "def shipping_cost(kg):",
        )
        .expect_err("the quote is not in the file");
        assert_eq!(
            err,
            "old text not found, and the file already has the new text at line 1: that change is already made (look for what it left out, such as code that still uses the old text)"
        );
        // A quote that is simply wrong still gets the closest match.
        let err =
            replace(renamed, "def compute_shipping(kg):", "def cost(kg):").expect_err("not there");
        assert!(
            err.starts_with("old text not found (closest match at line 1"),
            "{err}"
        );
    }

    #[test]
    fn a_quote_a_few_characters_off_takes_the_change_onto_the_real_text() {
        // The model quoted '~' where the file says "~", and changed parts[2].
        let old = "    return Version(int(parts[0]), int(parts[1]), int(parts[2]), pre or '~')";
        let new = "    return Version(int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) > 2 else 0, pre or '~')";
        let out = replace(VERSION, old, new).expect("merged");
        assert_eq!(
            out,
            "def parse(text):\n    parts = text.split(\".\")\n    return Version(int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) > 2 else 0, pre or \"~\")\n"
        );
    }

    #[test]
    fn a_change_where_the_quote_is_wrong_is_not_merged() {
        // The quote gets the very characters wrong that the change replaces.
        let old = "    return Version(int(parts[0]), int(parts[1]), int(parts[2]), pre or '~')";
        let new = "    return Version(int(parts[0]), int(parts[1]), int(parts[2]), pre or '-')";
        let err = replace(VERSION, old, new).expect_err("a clash");
        assert!(
            err.starts_with("old text not found (closest match at line 3"),
            "{err}"
        );
    }

    #[test]
    fn a_misquote_close_to_two_places_is_not_merged() {
        let content = "x = compute(alpha, beta)\ny = compute(alpha, betb)\n";
        let err = replace(
            content,
            "z = compute(alpha, beta)",
            "z = compute(alpha, gamma)",
        )
        .expect_err("two places are alike");
        assert!(err.starts_with("old text not found"), "{err}");
    }

    #[test]
    fn exact_text_is_replaced_in_place() {
        let out = replace("x = 1\ny = 2\n", "y = 2", "y = 3");
        assert_eq!(out, Ok("x = 1\ny = 3\n".to_owned()));
    }

    #[test]
    fn text_found_twice_is_ambiguous() {
        let err = replace(CALC, "    return a - b\n", "    return a + b\n");
        assert_eq!(
            err,
            Err("old text matches 2 places (lines 2, 6); quote more surrounding lines so it matches one".to_owned())
        );
    }

    #[test]
    fn trailing_whitespace_differences_are_tolerated() {
        let out = replace(
            "def f():  \n    return 1\t\n",
            "def f():\n    return 1\n",
            "def f():\n    return 2\n",
        );
        assert_eq!(out, Ok("def f():\n    return 2\n".to_owned()));
    }

    #[test]
    fn a_uniform_indentation_difference_is_tolerated_both_ways() {
        let file = "class A:\n    def f(self):\n        return 1\n";
        let out = replace(
            file,
            "def f(self):\n    return 1",
            "def f(self):\n    return 2",
        );
        assert_eq!(
            out,
            Ok("class A:\n    def f(self):\n        return 2\n".to_owned())
        );
        let file = "def f():\n    return 1\n";
        let out = replace(
            file,
            "        def f():\n            return 1\n",
            "        def f():\n            return 3\n",
        );
        assert_eq!(out, Ok("def f():\n    return 3\n".to_owned()));
    }

    #[test]
    fn mixed_indentation_shifts_do_not_match() {
        let file = "a:\n    b\n  c\n";
        assert!(replace(file, "  b\n    c\n", "x\n").is_err());
    }

    #[test]
    fn not_found_points_at_the_closest_line() {
        let err = replace(CALC, "def add(a, b):\n    return a * b\n", "x");
        assert_eq!(
            err,
            Err(
                "old text not found (closest match at line 2, 97% similar: `return a - b`)"
                    .to_owned()
            )
        );
        let err = replace(CALC, "import totally_unrelated_module_name\n", "x");
        assert_eq!(
            err,
            Err("old text not found (nothing similar in the file)".to_owned())
        );
    }

    fn hunk(old_start: Option<usize>, spec: &str) -> Hunk {
        let lines = spec
            .lines()
            .map(|l| {
                let (mark, text) = l.split_at(1);
                match mark {
                    "+" => HunkLine::Add(text.to_owned()),
                    "-" => HunkLine::Remove(text.to_owned()),
                    _ => HunkLine::Context(text.to_owned()),
                }
            })
            .collect();
        Hunk { old_start, lines }
    }

    #[test]
    fn hunks_are_placed_by_content_not_line_numbers() {
        let h = hunk(
            Some(40),
            " def sub(a, b):\n-    return a - b\n+    return a - b  # ok\n",
        );
        let out = apply_hunks(CALC, &[h]);
        assert_eq!(
            out,
            Ok(
                "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b  # ok\n"
                    .to_owned()
            )
        );
    }

    #[test]
    fn the_line_number_breaks_ties_between_equal_matches() {
        let h = |start| hunk(Some(start), "-    return a - b\n+    return a + b\n");
        let first = apply_hunks(CALC, &[h(2)]).expect("applies");
        assert!(first.starts_with("def add(a, b):\n    return a + b\n"));
        let second = apply_hunks(CALC, &[h(6)]).expect("applies");
        assert!(second.ends_with("def sub(a, b):\n    return a + b\n"));
        let err = apply_hunks(
            CALC,
            &[hunk(None, "-    return a - b\n+    return a + b\n")],
        );
        assert_eq!(
            err,
            Err("hunk: it matches 2 places (lines 2, 6); quote more surrounding lines so it matches one".to_owned())
        );
    }

    #[test]
    fn later_hunks_search_after_earlier_ones() {
        let hunks = [
            hunk(
                None,
                " def add(a, b):\n-    return a - b\n+    return a + b\n",
            ),
            hunk(None, "-    return a - b\n+    return b - a\n"),
        ];
        let out = apply_hunks(CALC, &hunks).expect("applies");
        assert_eq!(
            out,
            "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return b - a\n"
        );
    }

    #[test]
    fn invented_outer_context_is_fuzzed_away() {
        let h = hunk(
            None,
            " # a comment the model imagined\n def add(a, b):\n-    return a - b\n+    return a + b\n",
        );
        let out = apply_hunks(CALC, &[h]).expect("applies");
        assert!(out.starts_with("def add(a, b):\n    return a + b\n"));
    }

    #[test]
    fn pure_insertions_need_a_line_number_or_an_empty_file() {
        let add = |start| hunk(start, "+import os\n");
        assert_eq!(apply_hunks("", &[add(None)]), Ok("import os\n".to_owned()));
        assert_eq!(
            apply_hunks("x = 1\n", &[add(Some(0))]),
            Ok("import os\nx = 1\n".to_owned())
        );
        assert_eq!(
            apply_hunks("x = 1\n", &[add(None)]),
            Err("hunk: it only adds lines and has no context lines to place them".to_owned())
        );
    }

    /// Regression: the closest-match search compared the quote with every
    /// window of the file, which took minutes on a 25,000-line file.
    #[test]
    fn closest_match_on_a_big_file_stays_fast() {
        use std::fmt::Write as _;
        let mut file = String::new();
        for i in 0..5000 {
            let _ = write!(
                file,
                "fn f{i}(x: u32) -> u32 {{\n    let y = x + {i};\n    y * 2\n}}\n\n"
            );
        }
        let mut old = String::new();
        for i in 0..20 {
            let _ = write!(old, "fn g{i}() {{\n    let y = x + {i};\n}}\n");
        }
        let started = std::time::Instant::now();
        let shared = replace(&file, &old, "x");
        let unshared = replace(&file, "nothing like this at all", "x");
        let elapsed = started.elapsed();
        assert!(shared.is_err() && unshared.is_err());
        assert!(elapsed.as_secs() < 10, "took {elapsed:?}");
    }

    #[test]
    fn a_file_without_a_final_newline_keeps_it_that_way() {
        let h = hunk(None, "-b\n+c\n");
        assert_eq!(apply_hunks("a\nb", &[h]), Ok("a\nc".to_owned()));
    }
}
