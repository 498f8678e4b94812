//! Applying edits in memory: [`plan`].
//!
//! All or nothing: when any edit fails, the whole plan fails with every
//! reason at once. A half-applied patch would send a tree to validation that
//! the model never meant, and its test results would mislead the next
//! attempt; the full list of reasons lets that attempt fix every edit.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::edit::{Edit, Hunk};
use crate::error::{EditFailure, PatchError};
use crate::matching;
use crate::safety;
use crate::{ChangeSet, FileChange};

struct FileState {
    path: String,
    before: Option<String>,
    current: Option<String>,
    /// Why the file cannot be edited at all (a directory, not UTF-8).
    unreadable: Option<String>,
    edits: usize,
}

/// Reads the affected files under `root`, applies every edit in memory, and
/// returns the resulting change; nothing is written.
///
/// Several edits to one file apply in order, each to the result of the one
/// before. An unsafe path fails the plan at once, before any file is read.
pub fn plan(root: &Path, edits: &[Edit]) -> Result<ChangeSet, PatchError> {
    plan_over(root, &ChangeSet::default(), edits)
}

/// Like [`plan`], but as if `base` had been written under `root` first: the
/// edits apply to `base`'s version of each file it changes, and the result
/// is `base` and the edits together, against the files as they really are
/// (its `before`s are the real contents). Files `base` changes and the edits
/// leave alone keep `base`'s change.
///
/// This is how an answer that builds on an earlier change which was since
/// undone (its `old` quotes that change's text, not the file's) can still be
/// applied as the model meant it. When `base` does not fit the files as they
/// are (a `before` differs), the edits are planned on the real files alone.
pub fn plan_over(root: &Path, base: &ChangeSet, edits: &[Edit]) -> Result<ChangeSet, PatchError> {
    let fits = base.files.iter().all(|f| {
        safety::resolve(root, &f.path)
            .ok()
            .and_then(|abs| read_text(&abs).ok())
            .is_some_and(|(text, unreadable)| unreadable.is_none() && text == f.before)
    });
    let base = if fits { &base.files[..] } else { &[] };
    if edits.is_empty() {
        return Err(PatchError::NoEdits {
            reason: "the reply contains no edits".to_owned(),
        });
    }
    let canonical_root = root.canonicalize().map_err(|source| PatchError::Read {
        path: root.to_path_buf(),
        source,
    })?;
    let mut targets: Vec<(String, PathBuf)> = Vec::with_capacity(edits.len());
    for edit in edits {
        let rel = safety::normalize(edit.file())?;
        let abs = safety::resolve(root, &rel)?;
        // An edit through a symlink inside the repository is an edit of its
        // target: the change names the file that really changes, so the
        // policy judges it and the commit includes it.
        let rel = abs
            .strip_prefix(&canonical_root)
            .ok()
            .and_then(|p| p.to_str())
            .map_or(rel, |p| p.replace('\\', "/"));
        targets.push((rel, abs));
    }

    let mut states: Vec<FileState> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (rel, abs) in &targets {
        if let Some(&i) = index.get(rel) {
            states[i].edits += 1;
            continue;
        }
        let (before, unreadable) = read_text(abs)?;
        let current = base
            .iter()
            .find(|f| f.path == *rel)
            .map_or_else(|| before.clone(), |f| Some(f.after.clone()));
        index.insert(rel.clone(), states.len());
        states.push(FileState {
            path: rel.clone(),
            current,
            before,
            unreadable,
            edits: 1,
        });
    }
    // What `base` changes and the edits do not touch stays changed.
    for f in base {
        if !index.contains_key(&f.path) {
            index.insert(f.path.clone(), states.len());
            states.push(FileState {
                path: f.path.clone(),
                before: f.before.clone(),
                current: Some(f.after.clone()),
                unreadable: None,
                edits: 0,
            });
        }
    }

    let mut failures = Vec::new();
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut twins_done: Vec<bool> = vec![false; edits.len()];
    for (k, (edit, (rel, _))) in edits.iter().zip(&targets).enumerate() {
        let i = index[rel];
        let n = seen.entry(i).or_default();
        *n += 1;
        if twins_done[k] {
            continue;
        }
        let twins: Vec<usize> = (k + 1..edits.len())
            .filter(|&t| targets[t].0 == *rel && is_twin(edit, &edits[t]))
            .collect();
        let state = &mut states[i];
        let result = match (&state.unreadable, state.current.as_deref()) {
            (Some(reason), _) => Err(reason.clone()),
            (None, Some(content)) if !twins.is_empty() => {
                replace_every(content, edit, twins.len() + 1)
                    .inspect(|_| twins.iter().for_each(|&t| twins_done[t] = true))
            }
            (None, current) => apply_one(current, edit),
        };
        match result {
            Ok(after) => state.current = Some(after),
            Err(reason) => {
                let reason = if state.edits > 1 {
                    format!("edit {} of {}: {reason}", n, state.edits)
                } else {
                    reason
                };
                failures.push(EditFailure {
                    file: edit.file().to_owned(),
                    reason,
                });
            }
        }
    }
    if !failures.is_empty() {
        return Err(PatchError::Apply { failures });
    }

    let files = states
        .into_iter()
        .filter_map(|s| {
            let after = s.current?;
            (s.before.as_ref() != Some(&after)).then_some(FileChange {
                path: s.path,
                before: s.before,
                after,
            })
        })
        .collect();
    Ok(ChangeSet { files })
}

/// Two identical replacements of a non-empty `old` in one file.
fn is_twin(a: &Edit, b: &Edit) -> bool {
    matches!((a, b), (Edit::Replace { old, new, .. }, Edit::Replace { old: o, new: n, .. })
        if !old.trim().is_empty() && old == o && new == n)
}

/// The one exception to "several matches are ambiguous": when a reply
/// repeats the same replacement exactly as many times as its `old` occurs
/// (verbatim) in the file, the model clearly meant every occurrence. Any
/// other count falls back to the ordinary, single-match rules.
fn replace_every(content: &str, edit: &Edit, times: usize) -> Result<String, String> {
    if let Edit::Replace { old, new, .. } = edit {
        let done = in_lf(content, |c| {
            let (old, new) = (lf(old), lf(new));
            if c.matches(old.as_str()).count() == times {
                Ok(c.replace(old.as_str(), &new))
            } else {
                Err(String::new())
            }
        });
        if done.is_ok() {
            return done;
        }
    }
    apply_one(Some(content), edit)
}

/// The file's text, `None` when it does not exist, or why it cannot be edited.
fn read_text(path: &Path) -> Result<(Option<String>, Option<String>), PatchError> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok((Some(text), None)),
            Err(_) => Ok((None, Some("not a UTF-8 text file".to_owned()))),
        },
        Err(e) if e.kind() == ErrorKind::NotFound => Ok((None, None)),
        Err(e) if e.kind() == ErrorKind::IsADirectory || path.is_dir() => {
            Ok((None, Some("is a directory, not a file".to_owned())))
        }
        Err(source) => Err(PatchError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A file whose every line ends in CRLF is edited as LF and converted back,
/// so replies (which are LF) match it. Files with mixed endings are left as
/// they are; the trailing-whitespace round of matching absorbs their `\r`.
fn is_crlf(text: &str) -> bool {
    text.contains("\r\n") && text.matches('\n').count() == text.matches("\r\n").count()
}

fn in_lf(content: &str, f: impl FnOnce(&str) -> Result<String, String>) -> Result<String, String> {
    if is_crlf(content) {
        let lf = content.replace("\r\n", "\n");
        Ok(f(&lf)?.replace('\n', "\r\n"))
    } else {
        f(content)
    }
}

fn lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

fn apply_one(current: Option<&str>, edit: &Edit) -> Result<String, String> {
    match edit {
        Edit::Replace { old, new, .. } => match current {
            None if old.trim().is_empty() => Ok(lf(new)),
            None => Err("file does not exist".to_owned()),
            // Lenient: re-creating a file with what it already holds, or
            // filling an empty one, is what the model meant.
            Some(content)
                if old.trim().is_empty()
                    && (content.trim().is_empty() || lf(content) == lf(new)) =>
            {
                in_lf(content, |_| Ok(lf(new)))
            }
            Some(_) if old.trim().is_empty() => Err(
                "old text is empty but the file already exists; quote the text to replace"
                    .to_owned(),
            ),
            Some(content) => in_lf(content, |c| replace_or_ungutter(c, &lf(old), &lf(new))),
        },
        Edit::Diff { hunks, .. } => match current {
            Some(content) => in_lf(content, |c| matching::apply_hunks(c, hunks)),
            // Lenient: a diff that only adds lines to a missing file is a new
            // file whose `--- /dev/null` header the model left out.
            None if hunks.iter().all(|h| h.old_lines().is_empty()) => {
                let added: Vec<&str> = hunks.iter().flat_map(Hunk::added_lines).collect();
                Ok(added.iter().flat_map(|l| [*l, "\n"]).collect())
            }
            None => Err("file does not exist".to_owned()),
        },
        Edit::WholeFile { content: new, .. } => {
            let new = lf(new);
            let new = strip_gutter(&new).unwrap_or(new);
            let before = current.unwrap_or("");
            if let Some(line) = abridged_line(before, &new) {
                return Err(format!(
                    "the whole-file block looks abridged (`{line}`); send the complete file or an edit of the lines that change"
                ));
            }
            // A labelled block that is really a snippet (the model quoting the
            // lines it talks about) would delete the rest of the file, and
            // deleting tests can make a suite pass; so a block far shorter than
            // the file it replaces is refused.
            let code_lines = |t: &str| t.lines().filter(|l| !l.trim().is_empty()).count();
            let (had, has) = (code_lines(before), code_lines(&new));
            if had >= 10 && has * 2 < had {
                return Err(format!(
                    "the whole-file block has {has} lines of code where the file has {had}; it looks like a fragment: send the complete file or an edit of the lines that change"
                ));
            }
            in_lf(before, |_| Ok(new))
        }
    }
}

/// Lenient: the prompt shows files with a line-number gutter (`12 | code`)
/// and models copy it into `old`. When `old` does not match as given and
/// every line of it carries a gutter, the gutters are dropped (from `new`
/// too, on the lines that have one) and the match is tried again.
fn replace_or_ungutter(content: &str, old: &str, new: &str) -> Result<String, String> {
    matching::replace(content, old, new).or_else(|err| {
        let Some(old) = strip_gutter(old) else {
            return Err(err);
        };
        let new: Vec<&str> = new
            .split_inclusive('\n')
            .map(|l| gutter_len(l).map_or(l, |n| &l[n..]))
            .collect();
        matching::replace(content, &old, &new.concat()).map_err(|e| {
            format!("{e}; the line numbers and ` | ` shown in the prompt are not part of the file")
        })
    })
}

/// The length of a line's `  12 | ` gutter, if it has one.
fn gutter_len(line: &str) -> Option<usize> {
    let body = line.trim_start();
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &body[digits..];
    let indent = line.len() - body.len();
    if digits == 0 {
        None
    } else if rest.starts_with(" | ") {
        Some(indent + digits + 3)
    } else if rest.trim_end() == " |" {
        Some(indent + digits + 2)
    } else {
        None
    }
}

/// `text` without its gutters, when every non-blank line has one.
fn strip_gutter(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let all = lines
        .iter()
        .all(|l| l.trim().is_empty() || gutter_len(l).is_some());
    (all && lines.iter().any(|l| gutter_len(l).is_some())).then(|| {
        lines
            .iter()
            .map(|l| gutter_len(l).map_or(*l, |n| &l[n..]))
            .collect()
    })
}

/// A line like `# ... rest of the file unchanged` that stands for code the
/// model left out. Writing such a block would delete that code, so it is
/// refused. A line the original file already has (Python's `...` in a stub)
/// does not count.
fn abridged_line(before: &str, after: &str) -> Option<String> {
    const WORDS: [&str; 9] = [
        "existing",
        "unchanged",
        "rest of",
        "remain",
        "same as",
        "omitted",
        "previous",
        "as before",
        "other ",
    ];
    let known: std::collections::HashSet<&str> = before.lines().map(str::trim).collect();
    after.lines().map(str::trim).find_map(|line| {
        if line.is_empty() || known.contains(line) {
            return None;
        }
        let text = line
            .trim_start_matches(['#', '/', '*', '-', '<', '!', ';', ' '])
            .trim_end_matches(['*', '/', '-', '>', ' ']);
        let commented = text.len() < line.len();
        let dotted = text.starts_with("...") || text.starts_with('…') || text.ends_with("...");
        let lower = text.to_lowercase();
        let bare = matches!(line, "..." | "…");
        // The prompt's own marker for lines it left out, copied back.
        let marker = line.starts_with("... [") && lower.contains("not shown");
        let elided =
            bare || marker || (commented && dotted && WORDS.iter().any(|w| lower.contains(w)));
        elided.then(|| line.chars().take(80).collect())
    })
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    #[test]
    fn crlf_files_are_matched_as_lf_and_keep_crlf() {
        let out = apply_one(
            Some("a = 1\r\nb = 2\r\n"),
            &Edit::Replace {
                file: "x".into(),
                old: "b = 2\n".into(),
                new: "b = 3\nc = 4\n".into(),
            },
        );
        assert_eq!(out, Ok("a = 1\r\nb = 3\r\nc = 4\r\n".to_owned()));
    }

    #[test]
    fn a_headerless_diff_of_additions_creates_the_file() {
        let hunk = |text: &str| Hunk {
            old_start: None,
            lines: vec![crate::edit::HunkLine::Add(text.to_owned())],
        };
        let edit = Edit::Diff {
            file: "x".into(),
            hunks: vec![hunk("a"), hunk("b")],
        };
        assert_eq!(apply_one(None, &edit), Ok("a\nb\n".to_owned()));
    }

    #[test]
    fn empty_old_creates_but_never_clobbers() {
        let create = Edit::Replace {
            file: "x".into(),
            old: String::new(),
            new: "hello\n".into(),
        };
        assert_eq!(apply_one(None, &create), Ok("hello\n".to_owned()));
        assert_eq!(apply_one(Some(""), &create), Ok("hello\n".to_owned()));
        assert_eq!(
            apply_one(Some("hello\n"), &create),
            Ok("hello\n".to_owned())
        );
        assert_eq!(
            apply_one(Some("other\n"), &create),
            Err(
                "old text is empty but the file already exists; quote the text to replace"
                    .to_owned()
            )
        );
    }

    #[test]
    fn whole_file_blocks_much_shorter_than_the_file_are_fragments() {
        let file = (1..=12).fold(String::new(), |mut acc, i| {
            let _ = writeln!(acc, "x{i} = {i}");
            acc
        });
        let fragment = Edit::WholeFile {
            file: "x".into(),
            content: "x1 = 1\nx2 = 20\n".into(),
        };
        assert_eq!(
            apply_one(Some(&file), &fragment),
            Err("the whole-file block has 2 lines of code where the file has 12; it looks like a fragment: send the complete file or an edit of the lines that change".to_owned())
        );
        let rewrite = Edit::WholeFile {
            file: "x".into(),
            content: file.replace("x2 = 2\n", "x2 = 20\n"),
        };
        assert!(apply_one(Some(&file), &rewrite).is_ok());
    }

    #[test]
    fn line_number_gutters_copied_from_the_prompt_are_dropped() {
        let file = "def add(a, b):\n    return a - b\n";
        let edit = Edit::Replace {
            file: "x".into(),
            old: " 9 | def add(a, b):\n10 |     return a - b\n".into(),
            new: " 9 | def add(a, b):\n10 |     return a + b\n".into(),
        };
        assert_eq!(
            apply_one(Some(file), &edit),
            Ok("def add(a, b):\n    return a + b\n".to_owned())
        );
        let missing = Edit::Replace {
            file: "x".into(),
            old: "10 |     return a * b\n".into(),
            new: "    return a + b\n".into(),
        };
        assert_eq!(
            apply_one(Some(file), &missing),
            Err("old text not found (closest match at line 2, 92% similar: `return a - b`); the line numbers and ` | ` shown in the prompt are not part of the file".to_owned())
        );
        let whole = Edit::WholeFile {
            file: "x".into(),
            content: "1 | x = 1\n2 |\n3 | y = 2\n".into(),
        };
        assert_eq!(apply_one(None, &whole), Ok("x = 1\n\ny = 2\n".to_owned()));
        // Code that merely contains a pipe keeps it.
        assert_eq!(strip_gutter("x = 1 | 2\n"), None);
    }

    #[test]
    fn abridged_whole_files_are_spotted() {
        assert_eq!(
            abridged_line("a\nb\n", "a\n# ... rest of the file unchanged\n"),
            Some("# ... rest of the file unchanged".to_owned())
        );
        assert_eq!(
            abridged_line("", "fn f() {\n    // ... existing code ...\n}\n"),
            Some("// ... existing code ...".to_owned())
        );
        assert_eq!(abridged_line("", "a\n...\nb\n"), Some("...".to_owned()));
        assert_eq!(
            abridged_line("", "a\n... [lines 5-20 not shown]\n"),
            Some("... [lines 5-20 not shown]".to_owned())
        );
        assert_eq!(abridged_line("", "const c = {...existing, x};\n"), None);
        // Python stubs and prose with dots are code, not elisions.
        assert_eq!(
            abridged_line("class P:\n    ...\n", "class P:\n    ...\n    x = 1\n"),
            None
        );
        assert_eq!(abridged_line("", "print('loading...')\n"), None);
        assert_eq!(abridged_line("", "# wait... this is fine\n"), None);
    }
}
