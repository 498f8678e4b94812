//! The free-form formats: unified diffs, SEARCH/REPLACE blocks and fenced
//! whole files, found by one pass over the reply's lines.
//!
//! The pass knows about Markdown fences because they decide what a block
//! means: a fence whose body holds a diff or SEARCH/REPLACE markers is looked
//! inside; any other fence is a whole file when it is labelled with a path
//! (in its info string, or on the line before it) and is ignored otherwise.
//! Inside a fence, the fence's end also ends a diff, which lets us accept
//! diff lines whose leading space the model dropped.

use crate::edit::{Edit, Hunk, HunkLine};

use super::ReplyFormat;

#[derive(Default)]
pub(super) struct TextEdits {
    pub edits: Vec<(Edit, ReplyFormat)>,
    /// Parts of the reply that looked like edits but could not be used.
    pub problems: Vec<String>,
    /// Fenced blocks that name no file (code shown for explanation, or a
    /// whole file the model forgot to label).
    pub unlabelled_blocks: usize,
}

struct Fence<'a> {
    marker: char,
    len: usize,
    info: &'a str,
}

fn fence_open(line: &str) -> Option<Fence<'_>> {
    let t = line.trim();
    let marker = t.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = t.chars().take_while(|c| *c == marker).count();
    let info = t[len..].trim();
    (len >= 3 && !(marker == '`' && info.contains('`'))).then_some(Fence { marker, len, info })
}

fn is_fence_close(line: &str, fence: &Fence<'_>) -> bool {
    let t = line.trim();
    t.len() >= fence.len && t.chars().all(|c| c == fence.marker)
}

/// Marker lines are 7 characters long in aider's format; 5 to 9 are taken,
/// but not the long `=====` underlines of reStructuredText.
const MARKER_LEN: std::ops::RangeInclusive<usize> = 5..=9;

fn is_search(line: &str) -> bool {
    let t = line.trim();
    let arrows = t.chars().take_while(|c| *c == '<').count();
    MARKER_LEN.contains(&arrows) && {
        let rest = t[arrows..].trim();
        rest.is_empty() || rest.eq_ignore_ascii_case("search")
    }
}

fn is_divider(line: &str) -> bool {
    let t = line.trim();
    MARKER_LEN.contains(&t.len()) && t.chars().all(|c| c == '=')
}

fn is_replace_end(line: &str) -> bool {
    let t = line.trim();
    MARKER_LEN.contains(&t.chars().take_while(|c| *c == '>').count())
}

fn is_diff_header(lines: &[&str], i: usize) -> bool {
    lines[i].starts_with("--- ") && lines.get(i + 1).is_some_and(|l| l.starts_with("+++ "))
}

/// Whether a token reads as a file path rather than a word or a language.
pub(super) fn looks_like_path(s: &str) -> bool {
    const BARE: [&str; 12] = [
        "Makefile",
        "Dockerfile",
        "Containerfile",
        "Gemfile",
        "Rakefile",
        "Procfile",
        "Jenkinsfile",
        "Justfile",
        "Vagrantfile",
        "CODEOWNERS",
        "LICENSE",
        "BUILD",
    ];
    if s.is_empty()
        || s.len() > 255
        || s.contains("://")
        || s.ends_with('/')
        || s.ends_with('.')
        || !s
            .chars()
            .all(|c| c.is_alphanumeric() || "/._-+@".contains(c))
    {
        return false;
    }
    let name = s.rsplit('/').next().unwrap_or(s);
    let has_extension = name
        .rsplit_once('.')
        .is_some_and(|(_, ext)| ext.len() <= 12 && ext.chars().any(char::is_alphabetic));
    s.contains('/') || has_extension || BARE.contains(&name)
}

/// The path named in a fence's info string: ```` ```python src/app.py ````,
/// ```` ```src/app.py ````, ```` ```python:src/app.py ````, `title="src/app.py"`.
fn path_from_info(info: &str) -> Option<String> {
    info.split_whitespace().find_map(|token| {
        let token = token
            .split_once('=')
            .map_or(token, |(_, value)| value)
            .trim_matches(['"', '\'']);
        token
            .rsplit(':')
            .find(|part| looks_like_path(part))
            .map(str::to_owned)
    })
}

/// The path on a label line before a block: `src/app.py`, "`src/app.py`:",
/// "**src/app.py**", "### File: src/app.py". Prose that merely mentions a
/// path does not count: a snippet introduced by "In `src/app.py`, change
/// this:" must not replace the whole file.
fn path_from_label(line: &str) -> Option<String> {
    const LABELS: [&str; 8] = [
        "file:",
        "filename:",
        "file name:",
        "path:",
        "updated file:",
        "new file:",
        "modified file:",
        "file",
    ];
    let mut t = line.trim();
    loop {
        let before = t;
        // Markdown decoration around the path. Not `_`, which paths such
        // as `__init__.py` start and end with, and `-` only as a list marker.
        t = t
            .trim_start_matches(['#', '>', '*', '`', '"', ' '])
            .trim_end_matches([':', '*', '`', '"', ' ']);
        t = t.strip_prefix("- ").unwrap_or(t);
        for label in LABELS {
            // `get` rather than indexing: the label's length need not fall
            // on a character boundary of the line.
            let head = t
                .get(..label.len())
                .filter(|h| h.eq_ignore_ascii_case(label));
            if let Some(rest) = head.and_then(|_| t.get(label.len()..))
                && !rest.is_empty()
                && (label.ends_with(':') || rest.starts_with([' ', ':']))
            {
                t = rest.trim_start_matches([':', ' ']);
            }
        }
        if t == before {
            break;
        }
    }
    looks_like_path(t).then(|| t.to_owned())
}

/// Lenient: a block whose first line is a comment naming a path
/// (`# src/app.py`, `// File: src/main.rs`) is that file, a habit of models
/// asked for whole files. The comment line and the blank lines after it are
/// not part of the file.
fn path_comment<'a, 'b>(body: &'a [&'b str]) -> Option<(String, &'a [&'b str])> {
    const LEADERS: [&str; 6] = ["#", "//", "--", ";", "/*", "<!--"];
    let first = body.iter().position(|l| !l.trim().is_empty())?;
    let line = body[first].trim();
    let text = LEADERS.iter().find_map(|c| line.strip_prefix(c))?;
    let text = text.trim_end_matches("*/").trim_end_matches("-->");
    let path = path_from_label(text)?;
    let rest = &body[first + 1..];
    let skip = rest.iter().take_while(|l| l.trim().is_empty()).count();
    Some((path, &rest[skip..]))
}

/// The index of the nearest non-blank line before `i`, looking past at most
/// two blank lines.
fn prev_non_blank(lines: &[&str], i: usize) -> Option<usize> {
    (i.saturating_sub(3)..i)
        .rev()
        .find(|&j| !lines[j].trim().is_empty())
}

/// The path labelling the block that starts at line `i`, looking past one
/// fence opener (aider puts the path before the fence, the markers inside).
fn label_before(lines: &[&str], i: usize) -> Option<String> {
    let mut j = prev_non_blank(lines, i)?;
    if let Some(fence) = fence_open(lines[j]) {
        if let Some(path) = path_from_info(fence.info) {
            return Some(path);
        }
        j = prev_non_blank(lines, j)?;
    }
    path_from_label(lines[j])
}

fn join_block(lines: &[&str]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }
}

pub(super) fn parse(text: &str) -> TextEdits {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = TextEdits::default();
    // The closing line of the fence being looked inside, and its label.
    let mut fence_close: Option<usize> = None;
    let mut fence_label: Option<String> = None;
    // Several SEARCH/REPLACE blocks in a row may share one path line.
    let mut last_path: Option<String> = None;
    let mut i = 0;
    while i < lines.len() {
        if fence_close == Some(i) {
            fence_close = None;
            fence_label = None;
            i += 1;
            continue;
        }
        let line = lines[i];
        if is_search(line) {
            let path = label_before(&lines, i)
                .or_else(|| fence_label.clone())
                .or_else(|| last_path.clone());
            let Some((old, new, next)) = search_replace(&lines, i) else {
                out.problems
                    .push("a SEARCH/REPLACE block is not closed by `>>>>>>> REPLACE`".to_owned());
                i += 1;
                continue;
            };
            match path {
                Some(file) => {
                    last_path = Some(file.clone());
                    out.edits
                        .push((Edit::Replace { file, old, new }, ReplyFormat::SearchReplace));
                }
                None => out.problems.push(
                    "a SEARCH/REPLACE block does not name its file; put the path on the line before it"
                        .to_owned(),
                ),
            }
            i = next;
            continue;
        }
        if is_diff_header(&lines, i) {
            i = diff_file(&lines, i, fence_close, &mut out);
            continue;
        }
        if fence_close.is_none()
            && let Some(fence) = fence_open(line)
        {
            let close = (i + 1..lines.len()).find(|&j| is_fence_close(lines[j], &fence));
            let body_end = close.unwrap_or(lines.len());
            let body = &lines[i + 1..body_end];
            let label = path_from_info(fence.info).or_else(|| label_before(&lines, i));
            let holds_edits = body.iter().any(|l| is_search(l))
                || (0..body.len()).any(|k| is_diff_header(body, k));
            if holds_edits {
                fence_close = close;
                fence_label = label;
                i += 1;
                continue;
            }
            let starts_with_hunk = body
                .iter()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.starts_with("@@"));
            match label {
                Some(file) if starts_with_hunk => {
                    let mut j = 0;
                    let hunks = parse_hunks(body, &mut j, None, true);
                    out.edits
                        .push((Edit::Diff { file, hunks }, ReplyFormat::UnifiedDiff));
                }
                Some(file) if close.is_none() => out.problems.push(format!(
                    "the code block for {file} is not closed (was the reply cut off?)"
                )),
                Some(file) => out.edits.push((
                    Edit::WholeFile {
                        file,
                        content: join_block(body),
                    },
                    ReplyFormat::WholeFile,
                )),
                None => {
                    if let Some((file, rest)) = path_comment(body).filter(|_| close.is_some()) {
                        out.edits.push((
                            Edit::WholeFile {
                                file,
                                content: join_block(rest),
                            },
                            ReplyFormat::WholeFile,
                        ));
                    } else if !fence.info.eq_ignore_ascii_case("json")
                        && !body.iter().all(|l| l.trim().is_empty())
                    {
                        // JSON blocks were the JSON parser's to take; one it
                        // left is not an edit, and not an unlabelled file.
                        out.unlabelled_blocks += 1;
                    }
                }
            }
            i = body_end + 1;
            continue;
        }
        i += 1;
    }
    out
}

/// Reads the SEARCH/REPLACE block starting at `i`: (old, new, next line).
fn search_replace(lines: &[&str], i: usize) -> Option<(String, String, usize)> {
    let divider = (i + 1..lines.len())
        .take_while(|&j| !is_search(lines[j]) && !is_replace_end(lines[j]))
        .find(|&j| is_divider(lines[j]))?;
    let end = (divider + 1..lines.len())
        .take_while(|&j| !is_search(lines[j]) && !is_divider(lines[j]))
        .find(|&j| is_replace_end(lines[j]))?;
    Some((
        join_block(&lines[i + 1..divider]),
        join_block(&lines[divider + 1..end]),
        end + 1,
    ))
}

/// The path in a `---`/`+++` header: no timestamp, no quotes, no `a/`/`b/`
/// prefix (git's convention wins over a real top-level `a/` directory);
/// `None` for `/dev/null`.
fn header_path(raw: &str) -> Option<String> {
    let mut path = raw.split('\t').next().unwrap_or(raw).trim();
    if let Some((p, rest)) = path.split_once(' ')
        && rest.trim_start().starts_with(|c: char| c.is_ascii_digit())
    {
        path = p;
    }
    let path = path.trim_matches('"');
    if path == "/dev/null" || path.is_empty() {
        return None;
    }
    let path = path
        .strip_prefix("a/")
        .or_else(|| path.strip_prefix("b/"))
        .unwrap_or(path);
    Some(path.to_owned())
}

/// Reads one file's part of a unified diff starting at its `---` line and
/// returns the line after it.
fn diff_file(lines: &[&str], i: usize, fence_close: Option<usize>, out: &mut TextEdits) -> usize {
    let old = header_path(&lines[i][4..]);
    let new = header_path(&lines[i + 1][4..]);
    let mut j = i + 2;
    let hunks = parse_hunks(lines, &mut j, fence_close, fence_close.is_some());
    match (old, new) {
        (_, None) => out.problems.push(format!(
            "the diff deletes {}, and deleting files is not supported",
            lines[i][4..].trim()
        )),
        (None, Some(file)) => {
            // A new file: only its added lines mean anything.
            let added: Vec<&str> = hunks.iter().flat_map(Hunk::added_lines).collect();
            out.edits.push((
                Edit::Replace {
                    file,
                    old: String::new(),
                    new: join_block(&added),
                },
                ReplyFormat::UnifiedDiff,
            ));
        }
        (Some(_), Some(file)) if hunks.is_empty() => {
            out.problems
                .push(format!("the diff for {file} has no hunks"));
        }
        (Some(_), Some(file)) => out
            .edits
            .push((Edit::Diff { file, hunks }, ReplyFormat::UnifiedDiff)),
    }
    j
}

/// The old-file start line of an `@@ -12,7 +12,8 @@` header; `None` for
/// the bare `@@` and `@@ @@` that models write.
fn old_start(header: &str) -> Option<usize> {
    let rest = header
        .trim_start_matches('@')
        .trim_start()
        .strip_prefix('-')?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Ends a hunk, dropping the empty lines it ended with: those are usually
/// the gap before prose, not empty context lines.
fn finish(hunk: Option<Hunk>, trailing_empty: usize, hunks: &mut Vec<Hunk>) {
    if let Some(mut hunk) = hunk {
        hunk.lines.truncate(hunk.lines.len() - trailing_empty);
        if !hunk.lines.is_empty() {
            hunks.push(hunk);
        }
    }
}

/// Reads hunks from line `*j` until something that is not part of a diff.
/// Lenient: a missing `@@` before the first hunk line, empty lines standing
/// for empty context lines, and (inside a fence, which bounds the diff)
/// lines with no marker at all, taken as context.
fn parse_hunks(lines: &[&str], j: &mut usize, stop: Option<usize>, in_fence: bool) -> Vec<Hunk> {
    let mut hunks = Vec::new();
    let mut current: Option<Hunk> = None;
    let mut trailing_empty = 0usize;
    while *j < lines.len() && Some(*j) != stop {
        let line = lines[*j];
        if is_diff_header(lines, *j) || line.starts_with("diff --git ") || is_search(line) {
            break;
        }
        if line.starts_with("@@") {
            finish(current.take(), trailing_empty, &mut hunks);
            trailing_empty = 0;
            current = Some(Hunk {
                old_start: old_start(line),
                lines: Vec::new(),
            });
            *j += 1;
            continue;
        }
        let parsed = match line.chars().next() {
            Some(' ') => HunkLine::Context(line[1..].to_owned()),
            Some('-') => HunkLine::Remove(line[1..].to_owned()),
            Some('+') => HunkLine::Add(line[1..].to_owned()),
            Some('\\') => {
                *j += 1;
                continue;
            }
            None => HunkLine::Context(String::new()),
            Some(_) if in_fence => HunkLine::Context(line.to_owned()),
            Some(_) => break,
        };
        trailing_empty = if line.is_empty() {
            trailing_empty + 1
        } else {
            0
        };
        current
            .get_or_insert_with(|| Hunk {
                old_start: None,
                lines: Vec::new(),
            })
            .lines
            .push(parsed);
        *j += 1;
    }
    finish(current, trailing_empty, &mut hunks);
    hunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_told_from_words_and_languages() {
        for path in [
            "src/calc.py",
            "calc.py",
            "Makefile",
            ".github/workflows/ci.yml",
            "a/b",
        ] {
            assert!(looks_like_path(path), "{path}");
        }
        for word in [
            "python",
            "diff",
            "e.g.",
            "1.2.3",
            "https://x.io/a.py",
            "two words.py",
            "",
        ] {
            assert!(!looks_like_path(word), "{word}");
        }
    }

    #[test]
    fn fence_info_strings_name_paths_in_several_ways() {
        let info = |s: &str| path_from_info(s);
        assert_eq!(info("python src/calc.py"), Some("src/calc.py".into()));
        assert_eq!(info("src/calc.py"), Some("src/calc.py".into()));
        assert_eq!(info("python:src/calc.py"), Some("src/calc.py".into()));
        assert_eq!(info("py title=\"src/calc.py\""), Some("src/calc.py".into()));
        assert_eq!(info("python"), None);
        assert_eq!(info(""), None);
    }

    #[test]
    fn label_lines_name_paths_but_prose_does_not() {
        let label = |s: &str| path_from_label(s);
        assert_eq!(label("`src/calc.py`:"), Some("src/calc.py".into()));
        assert_eq!(label("File: src/calc.py"), Some("src/calc.py".into()));
        assert_eq!(label("**src/calc.py**"), Some("src/calc.py".into()));
        assert_eq!(label("### src/calc.py"), Some("src/calc.py".into()));
        assert_eq!(label("- `src/calc.py`"), Some("src/calc.py".into()));
        assert_eq!(label("Filename: `calc.py`"), Some("calc.py".into()));
        assert_eq!(label("**src/__init__.py**"), Some("src/__init__.py".into()));
        assert_eq!(label("**File: `src/calc.py`**"), Some("src/calc.py".into()));
        assert_eq!(label("### `src/calc.py`"), Some("src/calc.py".into()));
        assert_eq!(label("> path: web/app.ts"), Some("web/app.ts".into()));
        assert_eq!(label("__init__.py:"), Some("__init__.py".into()));
        assert_eq!(label("In `src/calc.py`, change this:"), None);
        assert_eq!(label("Here is the fix:"), None);
    }

    #[test]
    fn a_path_comment_on_the_first_line_labels_a_block() {
        let parsed = parse(
            "```python\n# src/calc.py\n\nx = 1\n```\n```js\n// File: web/app.js\ny();\n```\n",
        );
        let files: Vec<(String, String)> = parsed
            .edits
            .into_iter()
            .map(|(e, _)| match e {
                Edit::WholeFile { file, content } => (file, content),
                other => panic!("expected a whole file, got {other:?}"),
            })
            .collect();
        assert_eq!(
            files,
            vec![
                ("src/calc.py".to_owned(), "x = 1\n".to_owned()),
                ("web/app.js".to_owned(), "y();\n".to_owned())
            ]
        );
        // An ordinary comment is code, not a label.
        let parsed = parse("```python\n# fix the sign\nx = 1\n```\n");
        assert!(parsed.edits.is_empty());
        assert_eq!(parsed.unlabelled_blocks, 1);
    }

    #[test]
    fn hunk_headers_give_an_optional_start_line() {
        assert_eq!(old_start("@@ -12,7 +12,8 @@ def f():"), Some(12));
        assert_eq!(old_start("@@ -3 +3 @@"), Some(3));
        assert_eq!(old_start("@@ @@"), None);
        assert_eq!(old_start("@@"), None);
    }

    #[test]
    fn header_paths_lose_prefixes_and_timestamps() {
        assert_eq!(header_path("a/src/x.py"), Some("src/x.py".into()));
        assert_eq!(
            header_path("src/x.py\t2024-01-01 00:00:00"),
            Some("src/x.py".into())
        );
        assert_eq!(
            header_path("src/x.py 2024-01-01 00:00:00"),
            Some("src/x.py".into())
        );
        assert_eq!(header_path("/dev/null"), None);
    }

    #[test]
    fn search_replace_blocks_without_a_path_are_reported() {
        let parsed = parse("<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n");
        assert!(parsed.edits.is_empty());
        assert_eq!(
            parsed.problems,
            vec![
                "a SEARCH/REPLACE block does not name its file; put the path on the line before it"
            ]
        );
    }

    #[test]
    fn a_diff_ends_where_the_prose_after_it_starts() {
        let parsed = parse("--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n\nThis fixes it.\n");
        let expected = Edit::Diff {
            file: "x.py".into(),
            hunks: vec![Hunk {
                old_start: Some(1),
                lines: vec![HunkLine::Remove("a".into()), HunkLine::Add("b".into())],
            }],
        };
        assert_eq!(parsed.edits, vec![(expected, ReplyFormat::UnifiedDiff)]);
    }
}
