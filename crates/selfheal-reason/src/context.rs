//! Choosing which source to show the model, within a token budget.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use selfheal_types::Failure;

use crate::SourceFile;

/// Files bigger than this are not read at all: no useful excerpt of a
/// generated or vendored blob fits a prompt anyway.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Lines kept either side of each location on the first pass, then the sizes tried when growing.
const FIRST_RADII: &[usize] = &[12, 6, 3, 1, 0];
const GROW_RADII: &[usize] = &[60, 30, 20];

const OMIT_PREFIX: &str = "... [lines ";
const OMIT_SUFFIX: &str = " not shown]";

/// The line that stands for lines `start..=end` left out of an excerpt.
///
/// [`SourceFile`] carries only text, so an excerpt marks its gaps in-line and
/// the prompt renderer reads the marks back to keep real line numbers.
pub(crate) fn omission(start: usize, end: usize) -> String {
    format!("{OMIT_PREFIX}{start}-{end}{OMIT_SUFFIX}")
}

pub(crate) fn parse_omission(line: &str) -> Option<(usize, usize)> {
    let inner = line.strip_prefix(OMIT_PREFIX)?.strip_suffix(OMIT_SUFFIX)?;
    let (a, b) = inner.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Roughly what a file costs in the prompt, in characters: its text, the line-number gutter, the header.
fn cost(path: &str, content: &str) -> usize {
    content.len() + content.lines().count() * 8 + path.len() + 16
}

struct Candidate {
    rel: String,
    text: String,
    /// 1-based lines worth showing: where the failure points.
    anchors: BTreeSet<usize>,
}

impl Candidate {
    /// The lines within `radius` of any anchor, gaps marked; the head of the
    /// file when nothing points into it. The whole text, byte for byte, when
    /// the windows cover every line.
    fn window(&self, radius: usize) -> String {
        let lines: Vec<&str> = self.text.lines().collect();
        let n = lines.len();
        if n == 0 {
            return String::new();
        }
        let mut ranges: Vec<(usize, usize)> = if self.anchors.is_empty() {
            vec![(1, (2 * radius + 1).min(n))]
        } else {
            self.anchors
                .iter()
                .map(|&a| {
                    let a = a.clamp(1, n);
                    (a.saturating_sub(radius).max(1), (a + radius).min(n))
                })
                .collect()
        };
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (s, e) in ranges {
            match merged.last_mut() {
                // A gap of one line costs more as a marker than as the line itself.
                Some(last) if s <= last.1 + 2 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        if merged == [(1, n)] {
            return self.text.clone();
        }
        let mut out = Vec::new();
        let mut next = 1;
        for (s, e) in merged {
            if s > next {
                out.push(omission(next, s - 1));
            }
            out.extend(lines[s - 1..e].iter().map(|l| (*l).to_owned()));
            next = e + 1;
        }
        if next <= n {
            out.push(omission(next, n));
        }
        out.join("\n")
    }
}

/// A path from a log, if it names a regular file inside `root`: relative,
/// no `..`, and still inside `root` once symlinks are resolved.
fn resolve_inside(root: &Path, raw: &str) -> Option<(String, PathBuf)> {
    let cleaned = raw.trim().replace('\\', "/");
    let cleaned = cleaned.trim_start_matches("./");
    let relative = Path::new(cleaned);
    if cleaned.is_empty()
        || relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return None;
    }
    let real = root.join(relative).canonicalize().ok()?;
    (real.starts_with(root) && real.is_file()).then(|| (cleaned.to_owned(), real))
}

fn read_text(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.len() > MAX_FILE_BYTES {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    // Binary files and non-UTF-8 text cannot be edited by exact replacement; leave them out.
    if bytes.contains(&0) {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// Adds the file at `raw` (relative to `root`) to the candidates, or the
/// anchor to the candidate already there; files outside `root`, missing or
/// not text are skipped.
fn add_candidate(
    root: &Path,
    candidates: &mut Vec<(PathBuf, Candidate)>,
    raw: &str,
    line: Option<usize>,
    test_id: Option<&str>,
) {
    let Some((shown, real)) = resolve_inside(root, raw) else {
        return;
    };
    if let Some((_, c)) = candidates.iter_mut().find(|(p, _)| *p == real) {
        c.anchors.extend(line);
        return;
    }
    let Some(text) = read_text(&real) else {
        return;
    };
    let mut anchors: BTreeSet<usize> = line.into_iter().collect();
    anchors.extend(test_id.and_then(|t| find_test_def(&text, t)));
    candidates.push((
        real,
        Candidate {
            rel: shown,
            text,
            anchors,
        },
    ));
}

/// At most this many files are shown.
const MAX_FILES: usize = 8;
/// Imports are followed from this many of the first files (the test and the
/// failure's locations), and from every package `__init__.py` reached.
const FOLLOW_FROM: usize = 3;

/// Project files that the Python source `text` (at `importer`, relative to
/// `root`) imports, as paths relative to `root`. Modules that do not exist
/// under the root (the standard library, installed packages) are skipped.
fn python_imports(root: &Path, importer: &str, text: &str) -> Vec<String> {
    if Path::new(importer).extension().is_none_or(|e| e != "py") {
        return Vec::new();
    }
    let dir = Path::new(importer).parent().unwrap_or(Path::new(""));
    let mut found = Vec::new();
    let mut push = |base: &Path, dotted: &str, names: &[&str]| {
        let module = dotted.replace('.', "/");
        let mut tries: Vec<PathBuf> = Vec::new();
        if module.is_empty() {
            tries.extend(names.iter().map(|n| base.join(format!("{n}.py"))));
        } else {
            tries.push(base.join(format!("{module}.py")));
            tries.push(base.join(&module).join("__init__.py"));
            tries.extend(
                names
                    .iter()
                    .map(|n| base.join(&module).join(format!("{n}.py"))),
            );
        }
        for t in tries {
            let rel = t.to_string_lossy().replace('\\', "/");
            if root.join(&rel).is_file() && !found.contains(&rel) {
                found.push(rel);
            }
        }
    };
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("from ") {
            let Some((module, names)) = rest.split_once(" import ") else {
                continue;
            };
            let names: Vec<&str> = names
                .trim_matches(|c| c == '(' || c == ')')
                .split(',')
                .filter_map(|n| n.split_whitespace().next())
                .filter(|n| n.chars().all(|c| c.is_alphanumeric() || c == '_'))
                .collect();
            let module = module.trim();
            let dots = module.chars().take_while(|&c| c == '.').count();
            if dots > 0 {
                let mut base = dir.to_path_buf();
                for _ in 1..dots {
                    base.pop();
                }
                push(&base, &module[dots..], &names);
            } else {
                for base in ["", "src", "lib"] {
                    push(Path::new(base), module, &names);
                }
            }
        } else if let Some(rest) = line.strip_prefix("import ") {
            for module in rest.split(',').filter_map(|m| m.split_whitespace().next()) {
                for base in ["", "src", "lib"] {
                    push(Path::new(base), module, &[]);
                }
            }
        }
    }
    found
}

/// The line where a test function is defined, found by its name.
fn find_test_def(text: &str, test_id: &str) -> Option<usize> {
    let last = test_id.rsplit("::").next()?;
    // Parametrised ids carry their parameters in brackets: `test_x[1-2]`.
    let name = last.split('[').next()?.trim();
    if name.is_empty() {
        return None;
    }
    let needles = [
        format!("def {name}("),
        format!("fn {name}("),
        format!("func {name}("),
    ];
    text.lines()
        .position(|l| needles.iter().any(|n| l.contains(n.as_str())))
        .map(|i| i + 1)
}

/// The source files worth showing: the failing test's file, then files named in
/// the failure's locations that exist under `root` (relative paths only, never
/// outside root), trimmed to `token_budget` (about 4 characters a token),
/// keeping the lines around each location when a file is too big.
///
/// Every file first gets a small window around its locations, in order of
/// relevance, so a large test file cannot starve the code it tests; what
/// budget is left then grows those windows, up to whole files.
pub fn collect_context(root: &Path, failure: &Failure, token_budget: usize) -> Vec<SourceFile> {
    let Ok(root) = root.canonicalize() else {
        return Vec::new();
    };
    let mut candidates: Vec<(PathBuf, Candidate)> = Vec::new();
    if let Some(test) = failure.test.as_deref() {
        // pytest ids start with the file (`tests/test_x.py::test_y`); ids of
        // other tools rarely name a file and are skipped when nothing exists there.
        if let Some(file) = test.split("::").next() {
            add_candidate(&root, &mut candidates, file, None, Some(test));
        }
    }
    for loc in &failure.locations {
        add_candidate(
            &root,
            &mut candidates,
            &loc.file,
            loc.line.map(|l| l as usize),
            None,
        );
    }
    // A failing test rarely names the code it tests in the log (an assertion
    // fails in the test file), yet that code is usually what needs the fix:
    // follow the project-local imports of the files found so far, and of the
    // packages they import (whose `__init__.py` re-exports the real module).
    let mut next = 0;
    while next < candidates.len() && candidates.len() < MAX_FILES {
        let (importer, text) = (
            candidates[next].1.rel.clone(),
            candidates[next].1.text.clone(),
        );
        next += 1;
        let is_package = importer.ends_with("__init__.py");
        if next > FOLLOW_FROM && !is_package {
            continue;
        }
        for module in python_imports(&root, &importer, &text) {
            if candidates.len() >= MAX_FILES {
                break;
            }
            add_candidate(&root, &mut candidates, &module, None, None);
        }
    }

    let mut remaining = token_budget.saturating_mul(4);
    let mut chosen: Vec<Option<String>> = Vec::with_capacity(candidates.len());
    for (_, c) in &candidates {
        let pick = FIRST_RADII
            .iter()
            .map(|&r| c.window(r))
            .find(|w| cost(&c.rel, w) <= remaining);
        if let Some(w) = &pick {
            remaining -= cost(&c.rel, w);
        }
        chosen.push(pick);
    }
    for ((_, c), slot) in candidates.iter().zip(chosen.iter_mut()) {
        let Some(current) = slot.as_ref() else {
            continue;
        };
        let current_cost = cost(&c.rel, current);
        let bigger = std::iter::once(c.text.clone())
            .chain(GROW_RADII.iter().map(|&r| c.window(r)))
            .filter(|w| w.len() > current.len())
            .find(|w| cost(&c.rel, w).saturating_sub(current_cost) <= remaining);
        if let Some(w) = bigger {
            remaining = remaining.saturating_sub(cost(&c.rel, &w).saturating_sub(current_cost));
            *slot = Some(w);
        }
    }
    candidates
        .into_iter()
        .zip(chosen)
        .filter_map(|((_, c), content)| {
            content.map(|content| SourceFile {
                path: c.rel,
                content,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    #[test]
    fn imports_lead_to_the_code_under_test() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let init = "from .cart import Cart\nfrom .prices import total\n";
        let test = "import os\nfrom shop import Cart, total\n\ndef test_total():\n    assert total([1]) == 2\n";
        for (path, text) in [
            ("src/shop/__init__.py", init),
            ("src/shop/cart.py", "class Cart:\n    pass\n"),
            (
                "src/shop/prices.py",
                "import math\n\ndef total(xs):\n    return sum(xs)\n",
            ),
            ("tests/test_cart.py", test),
        ] {
            std::fs::create_dir_all(root.join(path).parent().expect("parent")).expect("mkdir");
            std::fs::write(root.join(path), text).expect("write");
        }
        assert_eq!(
            python_imports(root, "tests/test_cart.py", test),
            vec!["src/shop/__init__.py".to_owned()]
        );
        assert_eq!(
            python_imports(root, "src/shop/__init__.py", init),
            vec![
                "src/shop/cart.py".to_owned(),
                "src/shop/prices.py".to_owned()
            ]
        );
        let failure = Failure {
            category: selfheal_types::Category::TestFailure,
            tool: "pytest".into(),
            message: "assert 1 == 2".into(),
            test: Some("tests/test_cart.py::test_total".into()),
            locations: vec![],
            job: None,
            step: None,
            log_file: None,
            log_span: selfheal_types::LineSpan::new(1, 1),
            fingerprint: String::new(),
            flaky: None,
        };
        let shown: Vec<String> = collect_context(root, &failure, 6000)
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(
            shown,
            [
                "tests/test_cart.py",
                "src/shop/__init__.py",
                "src/shop/cart.py",
                "src/shop/prices.py"
            ]
        );
    }

    fn candidate(lines: usize, anchors: &[usize]) -> Candidate {
        Candidate {
            rel: "f.py".into(),
            text: (1..=lines).fold(String::new(), |mut s, i| {
                let _ = writeln!(s, "line {i}");
                s
            }),
            anchors: anchors.iter().copied().collect(),
        }
    }

    #[test]
    fn window_marks_gaps_with_real_line_numbers() {
        let c = candidate(30, &[10, 12, 25]);
        assert_eq!(
            c.window(1),
            [
                omission(1, 8),
                "line 9".into(),
                "line 10".into(),
                "line 11".into(),
                "line 12".into(),
                "line 13".into(),
                omission(14, 23),
                "line 24".into(),
                "line 25".into(),
                "line 26".into(),
                omission(27, 30),
            ]
            .join("\n")
        );
    }

    #[test]
    fn window_covering_everything_is_the_file_itself() {
        let c = candidate(5, &[3]);
        assert_eq!(c.window(10), c.text);
    }

    #[test]
    fn omission_marks_round_trip() {
        assert_eq!(parse_omission(&omission(3, 17)), Some((3, 17)));
        assert_eq!(parse_omission("... [lines x-1 not shown]"), None);
    }

    #[test]
    fn test_definitions_are_found_by_name() {
        let text = "import x\n\ndef test_a():\n    pass\n\ndef test_b():\n    assert 1\n";
        assert_eq!(find_test_def(text, "tests/t.py::test_b[case-1]"), Some(6));
        assert_eq!(find_test_def(text, "tests/t.py::Cls::test_a"), Some(3));
        assert_eq!(find_test_def(text, "tests/t.py::test_c"), None);
    }
}
