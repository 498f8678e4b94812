//! A commit's file patches read back: hunks line by line, and their change
//! blocks (runs of removed and added lines), for the rules that read what
//! the commit changed.

use std::ops::Range;

use selfheal_git::FileChange;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Context,
    Removed,
    Added,
}

/// One hunk of a file's patch, line by line.
pub(crate) struct Hunk<'a> {
    pub path: &'a str,
    pub lines: Vec<(Kind, &'a str)>,
}

/// The hunks of `file`'s patch (none for a patch shown without them).
pub(crate) fn hunks(file: &FileChange) -> Vec<Hunk<'_>> {
    let mut out = Vec::new();
    let mut current: Option<Hunk<'_>> = None;
    for line in file.patch.lines() {
        if line.starts_with("@@") {
            out.extend(current.take());
            current = Some(Hunk {
                path: &file.path,
                lines: Vec::new(),
            });
            continue;
        }
        let Some(hunk) = current.as_mut() else {
            continue;
        };
        let entry = match line.as_bytes().first() {
            Some(b'-') => (Kind::Removed, &line[1..]),
            Some(b'+') => (Kind::Added, &line[1..]),
            Some(b' ') => (Kind::Context, &line[1..]),
            None => (Kind::Context, ""),
            // "\ No newline at end of file"
            _ => continue,
        };
        hunk.lines.push(entry);
    }
    out.extend(current);
    out
}

/// The change blocks of `hunk` (ranges of its lines).
pub(crate) fn blocks(hunk: &Hunk<'_>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, (kind, _)) in hunk.lines.iter().enumerate() {
        match (kind, start) {
            (Kind::Context, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            (Kind::Removed | Kind::Added, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..hunk.lines.len());
    }
    out
}

/// The lines of `block` of `hunk` that are of `kind`.
pub(crate) fn lines_of<'a>(hunk: &Hunk<'a>, block: &Range<usize>, kind: Kind) -> Vec<&'a str> {
    hunk.lines[block.clone()]
        .iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, l)| *l)
        .collect()
}
