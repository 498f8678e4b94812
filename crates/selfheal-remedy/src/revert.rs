//! The revert rule: the tested commit changed lines that the failure runs
//! through, so those lines go back to what they were before it, and the
//! rest of the commit stays.
//!
//! Most red runs are regressions of the commit CI tested, and the first
//! thing a reviewer tries is undoing the part of it that the failure points
//! at. Which part: the change blocks (runs of removed and added lines) of
//! the commit's non-test files that
//!
//! 1. a traceback frame lands on or next to (within the block's two lines
//!    of context), else that share a function with a frame;
//! 2. else that lie in a function the failing test calls, directly or
//!    through functions of the changed files (a few calls deep).
//!
//! A block is reverted only while the tree still holds it as the commit
//! left it (an earlier fix may have changed it) and only when it changed
//! existing code: a block that only added lines is reverted only when a
//! frame lands inside it, since deleting new code rarely fixes anything.
//! Tests are never touched: the commit's own new tests still run, so a
//! revert that undoes a tested feature fails validation like any change.
//! Python code only, for now: the rule reads its functions and tells its
//! tests apart by their paths.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use selfheal_git::CommitChange;
use selfheal_types::{Diagnosis, Failure};

use crate::diff::{self, Hunk, Kind, blocks};
use crate::{Remedy, Replacement, Rule, is_test_path, python, resolve, test_function};

/// At most this many changed lines (removed and added) are put back: more
/// is not "the lines the failure runs through" any more.
const MAX_REVERTED_LINES: usize = 40;
/// How many calls deep from the failing test a changed function is looked for.
const MAX_CALL_DEPTH: usize = 3;
/// Lines of context around a block that locate it in the tree.
const CONTEXT: usize = 2;

/// A change block as it stands in the tree now.
struct Placed {
    hunk: usize,
    /// The block's hunk lines.
    block: Range<usize>,
    /// The 0-based lines of the file that the block's added lines occupy
    /// (empty at the line after the removed ones for a pure removal).
    lines: Range<usize>,
    /// The same with the context lines around it.
    around: Range<usize>,
    only_added: bool,
    /// The function it is in (Python), by name.
    function: Option<String>,
    /// Its `def` line.
    def: Option<usize>,
}

/// Why the blocks were chosen, for the diagnosis.
enum Reach {
    Frame,
    FrameFunction,
    Calls(String),
}

/// The revert of what the tested commit `change` changed where `failure`
/// runs through, in the tree at `root`; `None` when no changed line of a
/// non-test file is in its way. `workdir`: as for [`crate::remedy_for`].
pub fn revert_for(
    root: &Path,
    workdir: &str,
    failure: &Failure,
    change: Option<&CommitChange>,
) -> Option<Remedy> {
    let change = change?;
    let hunks = hunks(change, false);
    let texts = read_files(root, &hunks);
    let placed: Vec<Placed> = hunks
        .iter()
        .enumerate()
        .filter_map(|(index, hunk)| Some(place(index, hunk, texts.get(hunk.path)?)))
        .flatten()
        .collect();
    if placed.is_empty() {
        return None;
    }
    // The failing test's file and function, from its id.
    let failing = failure
        .test
        .as_deref()
        .and_then(test_function)
        .and_then(|(file, name)| Some((resolve(root, workdir, file)?, name.to_owned())));
    let (chosen, reach) = choose(
        root,
        workdir,
        failure,
        failing.as_ref(),
        &hunks,
        &texts,
        &placed,
    )?;
    // The commit's own tests may say that the change is wanted.
    let commit_tests = test_changes(root, failing.as_ref(), change);
    let functions: Vec<&str> = chosen
        .iter()
        .filter_map(|&i| placed[i].function.as_deref())
        .collect();
    if commit_tests.failing_changed
        || functions.iter().any(|f| commit_tests.in_added.contains(*f))
        || calls_untested_new_code(&hunks, &placed, &chosen, &commit_tests.in_changed)
    {
        return None;
    }
    let reverted: usize = chosen.iter().map(|&i| placed[i].block.len()).sum::<usize>();
    if reverted > MAX_REVERTED_LINES {
        return None;
    }
    let mut edits = Vec::new();
    let mut by_hunk: Vec<usize> = chosen.iter().map(|&i| placed[i].hunk).collect();
    by_hunk.dedup();
    for h in by_hunk {
        let blocks: Vec<&Placed> = chosen
            .iter()
            .map(|&i| &placed[i])
            .filter(|p| p.hunk == h)
            .collect();
        edits.push(revert_edit(&hunks[h], &blocks, texts.get(hunks[h].path)?)?);
    }
    Some(diagnose(
        change, failure, &hunks, &placed, &chosen, &reach, edits,
    ))
}

/// The hunks of the commit's Python test files (`tests`) or other Python
/// files. Python only: its tests are told apart by
/// their paths and its functions by indentation, which the rule relies on
/// (a Rust file holds its own tests, for one).
fn hunks(change: &CommitChange, tests: bool) -> Vec<Hunk<'_>> {
    let mut out = Vec::new();
    for file in &change.files {
        let python = Path::new(&file.path).extension().is_some_and(|e| e == "py");
        if !python || is_test_path(&file.path) != tests {
            continue;
        }
        out.extend(diff::hunks(file));
    }
    out
}

/// The text of each file the hunks change, by path (files that cannot be
/// read are left out).
fn read_files<'a>(root: &Path, hunks: &[Hunk<'a>]) -> BTreeMap<&'a str, String> {
    let mut texts = BTreeMap::new();
    for hunk in hunks {
        if !texts.contains_key(hunk.path)
            && let Ok(text) = std::fs::read_to_string(root.join(hunk.path))
        {
            texts.insert(hunk.path, text);
        }
    }
    texts
}

/// `block` widened by [`CONTEXT`] context lines either side (the lines of
/// neighbouring blocks in between come along).
fn with_context(hunk: &Hunk<'_>, block: &Range<usize>) -> Range<usize> {
    let (mut start, mut taken) = (block.start, 0);
    while start > 0 && taken < CONTEXT {
        start -= 1;
        taken += usize::from(hunk.lines[start].0 == Kind::Context);
    }
    let (mut end, mut taken) = (block.end, 0);
    while end < hunk.lines.len() && taken < CONTEXT {
        taken += usize::from(hunk.lines[end].0 == Kind::Context);
        end += 1;
    }
    start..end
}

/// The lines the tree holds for hunk lines `range` if nothing changed
/// them since the commit: all but the removed ones.
fn new_side<'a>(hunk: &Hunk<'a>, range: Range<usize>) -> Vec<&'a str> {
    hunk.lines[range]
        .iter()
        .filter(|(k, _)| *k != Kind::Removed)
        .map(|(_, l)| *l)
        .collect()
}

/// The 0-based line where `wanted` occurs in `text`, when it occurs there
/// exactly once as whole lines and once as text.
fn find_once(text: &str, wanted: &[&str]) -> Option<usize> {
    if wanted.is_empty() {
        return None;
    }
    let joined = wanted.join("\n");
    let mut matches = text.match_indices(&joined);
    let (at, _) = matches.next()?;
    if matches.next().is_some() {
        return None;
    }
    let end = at + joined.len();
    let aligned = (at == 0 || text.as_bytes()[at - 1] == b'\n')
        && (end == text.len() || matches!(text.as_bytes()[end], b'\n' | b'\r'));
    aligned.then(|| text[..at].matches('\n').count())
}

/// Every block of hunk `index` that the tree still holds as the commit
/// left it.
fn place(index: usize, hunk: &Hunk<'_>, text: &str) -> Vec<Placed> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for block in blocks(hunk) {
        let around = with_context(hunk, &block);
        let Some(first) = find_once(text, &new_side(hunk, around.clone())) else {
            continue;
        };
        let before = new_side(hunk, around.start..block.start).len();
        let added = new_side(hunk, block.clone()).len();
        let start = first + before;
        let only_added = hunk.lines[block.clone()]
            .iter()
            .all(|(k, _)| *k == Kind::Added);
        let def = python::enclosing_function(&lines, start.min(lines.len().saturating_sub(1)));
        out.push(Placed {
            hunk: index,
            lines: start..start + added,
            around: first..first + new_side(hunk, around).len(),
            only_added,
            function: def
                .and_then(|d| python::defined_name(lines[d]))
                .map(str::to_owned),
            def,
            block,
        });
    }
    out
}

/// The blocks to revert (indexes into `placed`, in order) and why.
/// `failing`: the failing test's file and function; `texts`: the changed
/// files, by path.
fn choose(
    root: &Path,
    workdir: &str,
    failure: &Failure,
    failing: Option<&(String, String)>,
    hunks: &[Hunk<'_>],
    texts: &BTreeMap<&str, String>,
    placed: &[Placed],
) -> Option<(Vec<usize>, Reach)> {
    let frames: Vec<(String, usize)> = failure
        .locations
        .iter()
        .filter_map(|loc| {
            let path = resolve(root, workdir, &loc.file)?;
            let line = usize::try_from(loc.line?).ok()?.checked_sub(1)?;
            Some((path, line))
        })
        .collect();
    let in_file = |p: &Placed, path: &str| hunks[p.hunk].path == path;
    let on_frame: Vec<usize> = (0..placed.len())
        .filter(|&i| {
            let p = &placed[i];
            frames.iter().any(|(path, line)| {
                in_file(p, path)
                    && if p.only_added {
                        p.lines.contains(line)
                    } else {
                        p.around.contains(line)
                    }
            })
        })
        .collect();
    if !on_frame.is_empty() {
        return Some((on_frame, Reach::Frame));
    }
    // The function each frame in a changed file is in.
    let frame_defs: Vec<(&str, usize)> = frames
        .iter()
        .filter_map(|(path, line)| {
            let (path, text) = texts.get_key_value(path.as_str())?;
            let lines: Vec<&str> = text.lines().collect();
            let def = (*line < lines.len())
                .then(|| python::enclosing_function(&lines, *line))
                .flatten()?;
            Some((*path, def))
        })
        .collect();
    let frame_functions: Vec<usize> = (0..placed.len())
        .filter(|&i| {
            let p = &placed[i];
            !p.only_added
                && frame_defs
                    .iter()
                    .any(|(path, def)| in_file(p, path) && p.def == Some(*def))
        })
        .collect();
    if !frame_functions.is_empty() {
        return Some((frame_functions, Reach::FrameFunction));
    }
    let test = failing_test(root, failing, &frames)?;
    let calls = Calls::of(root);
    let mut reached = test.names;
    for _ in 0..MAX_CALL_DEPTH {
        let hit: Vec<usize> = (0..placed.len())
            .filter(|&i| {
                let p = &placed[i];
                !p.only_added && p.function.as_ref().is_some_and(|f| reached.contains(f))
            })
            .collect();
        if !hit.is_empty() {
            return Some((hit, Reach::Calls(test.name)));
        }
        let deeper = calls.one_deeper(&reached);
        if deeper.len() == reached.len() {
            return None;
        }
        reached = deeper;
    }
    None
}

/// What each function of the repository's code (tests aside) names in
/// its body, by the function's name.
struct Calls(Vec<(String, Vec<String>)>);

impl Calls {
    fn of(root: &Path) -> Calls {
        let mut out = Vec::new();
        for path in crate::python_files(root) {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy();
            if is_test_path(&rel.replace('\\', "/")) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if let Some(name) = python::defined_name(line) {
                    let body = lines[i..=python::block_end(&lines, i)].join("\n");
                    out.push((name.to_owned(), names_in(&body)));
                }
            }
        }
        Calls(out)
    }

    /// `reached` and every name the functions it names use.
    fn one_deeper(&self, reached: &BTreeSet<String>) -> BTreeSet<String> {
        let mut out = reached.clone();
        for (name, uses) in &self.0 {
            if reached.contains(name) {
                out.extend(uses.iter().cloned());
            }
        }
        out
    }
}

/// What the commit did to the tests.
#[derive(Default)]
struct TestChanges {
    /// The failing test is one the commit added or changed: it expects the
    /// new behaviour.
    failing_changed: bool,
    /// The names that the test functions the commit added use.
    in_added: BTreeSet<String>,
    /// The same for the test functions it added or changed.
    in_changed: BTreeSet<String>,
}

/// `failing`: the failing test's file and function.
fn test_changes(
    root: &Path,
    failing: Option<&(String, String)>,
    change: &CommitChange,
) -> TestChanges {
    let hunks = hunks(change, true);
    let texts = read_files(root, &hunks);
    // The lines of each test file that the commit changed, as they are now.
    let mut changed: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, hunk) in hunks.iter().enumerate() {
        let Some(text) = texts.get(hunk.path) else {
            continue;
        };
        let lines: Vec<usize> = place(index, hunk, text)
            .iter()
            .flat_map(|p| {
                if p.lines.is_empty() {
                    p.lines.start..p.lines.start + 1
                } else {
                    p.lines.clone()
                }
            })
            .collect();
        changed.entry(hunk.path).or_default().extend(lines);
    }
    let mut out = TestChanges::default();
    for (path, lines_changed) in &changed {
        let Some(text) = texts.get(path) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(name) = python::defined_name(line) else {
                continue;
            };
            let end = python::block_end(&lines, i);
            // Decorators (a parametrize list) belong to the test.
            let mut start = i;
            while start > 0 && lines[start - 1].trim_start().starts_with('@') {
                start -= 1;
            }
            if !lines_changed.iter().any(|l| (start..=end).contains(l)) {
                continue;
            }
            let names = names_in(&lines[i..=end].join("\n"));
            if failing.is_some_and(|(p, n)| p == path && n == name) {
                out.failing_changed = true;
            }
            if lines_changed.contains(&i) {
                out.in_added.extend(names.iter().cloned());
            }
            out.in_changed.extend(names);
        }
    }
    out
}

/// Whether the lines to revert call a function or class the commit added
/// and no test it added or changed uses (`tested`): then the fault is more
/// likely in the new code than in the call to it, and a revert would leave
/// the new code unused and as wrong as it is.
fn calls_untested_new_code(
    hunks: &[Hunk<'_>],
    placed: &[Placed],
    chosen: &[usize],
    tested: &BTreeSet<String>,
) -> bool {
    let new: BTreeSet<&str> = placed
        .iter()
        .filter(|p| p.only_added)
        .flat_map(|p| hunks[p.hunk].lines[p.block.clone()].iter())
        .filter_map(|(_, line)| python::defined_name(line))
        .filter(|name| !tested.contains(*name))
        .collect();
    chosen.iter().any(|&i| {
        let p = &placed[i];
        diff::lines_of(&hunks[p.hunk], &p.block, Kind::Added)
            .iter()
            .any(|line| names_in(line).iter().any(|n| new.contains(n.as_str())))
    })
}

fn names_in(code: &str) -> Vec<String> {
    python::identifiers(code)
        .into_iter()
        .map(|t| code[t.range].to_owned())
        .collect()
}

/// The failing test: its name and the names its body uses.
struct FailingTest {
    name: String,
    names: BTreeSet<String>,
}

/// The test function that failed, from the failure's test id, else from
/// the frames that land in test files.
fn failing_test(
    root: &Path,
    failing: Option<&(String, String)>,
    frames: &[(String, usize)],
) -> Option<FailingTest> {
    let mut sites: Vec<(String, Option<String>, Option<usize>)> = Vec::new();
    if let Some((path, function)) = failing {
        sites.push((path.clone(), Some(function.clone()), None));
    }
    for (path, line) in frames.iter().filter(|(p, _)| is_test_path(p)) {
        sites.push((path.clone(), None, Some(*line)));
    }
    sites.into_iter().find_map(|(path, function, line)| {
        let text = std::fs::read_to_string(root.join(&path)).ok()?;
        let lines: Vec<&str> = text.lines().collect();
        let def = match (&function, line) {
            (Some(f), _) => lines
                .iter()
                .position(|l| python::defined_name(l) == Some(f.as_str()))?,
            (None, Some(line)) if line < lines.len() => python::enclosing_function(&lines, line)?,
            _ => return None,
        };
        let body = lines[def..=python::block_end(&lines, def)].join("\n");
        let name = python::defined_name(lines[def])?.to_owned();
        let names = names_in(&body).into_iter().filter(|n| *n != name).collect();
        Some(FailingTest { name, names })
    })
}

/// One replacement that puts `blocks` of `hunk` back as they were (other
/// blocks in between stay as the commit made them).
fn revert_edit(hunk: &Hunk<'_>, blocks: &[&Placed], text: &str) -> Option<Replacement> {
    let start = blocks
        .iter()
        .map(|b| with_context(hunk, &b.block).start)
        .min()?;
    let end = blocks
        .iter()
        .map(|b| with_context(hunk, &b.block).end)
        .max()?;
    let reverted = |i: usize| blocks.iter().any(|b| b.block.contains(&i));
    let old = new_side(hunk, start..end);
    let new: Vec<&str> = (start..end)
        .filter(|&i| match hunk.lines[i].0 {
            Kind::Context => true,
            Kind::Removed => reverted(i),
            Kind::Added => !reverted(i),
        })
        .map(|i| hunk.lines[i].1)
        .collect();
    find_once(text, &old)?;
    let (old, new) = (old.join("\n"), new.join("\n"));
    (old != new).then(|| Replacement {
        file: hunk.path.to_owned(),
        old,
        new,
    })
}

fn diagnose(
    change: &CommitChange,
    failure: &Failure,
    hunks: &[Hunk<'_>],
    placed: &[Placed],
    chosen: &[usize],
    reach: &Reach,
    edits: Vec<Replacement>,
) -> Remedy {
    let commit = change.commit.get(..7).unwrap_or(&change.commit);
    let mut sites: Vec<String> = Vec::new();
    for &i in chosen {
        let p = &placed[i];
        let path = hunks[p.hunk].path;
        let site = match &p.function {
            Some(f) => format!("{f}() in {path}"),
            None => format!("{path} (line {})", p.lines.start + 1),
        };
        if !sites.contains(&site) {
            sites.push(site);
        }
    }
    let changed_in = sites.join(", ");
    let how = match reach {
        Reach::Frame => "the failure's traceback points at the changed lines".to_owned(),
        Reach::FrameFunction => {
            "the failure's traceback runs through the function they are in".to_owned()
        }
        Reach::Calls(test) => format!("the failing test {test} calls into them"),
    };
    let subject = if change.subject.is_empty() {
        String::new()
    } else {
        format!(" (\"{}\")", change.subject)
    };
    Remedy {
        rule: Rule::Revert,
        diagnosis: Diagnosis {
            summary: format!("Put back what commit {commit} changed in {changed_in}"),
            root_cause: format!(
                "The failure: {}. Commit {commit}{subject} changed {changed_in}, and {how}. The change puts those lines back as they were before the commit and keeps the rest of it. If the commit meant to change this behaviour, the test needs updating instead. (A remedy selfheal found without a model, validated like any change.)",
                failure.message.trim().trim_end_matches('.')
            ),
            test_is_wrong: None,
        },
        edits,
    }
}
