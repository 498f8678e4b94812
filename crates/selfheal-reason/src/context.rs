//! Choosing which source to show the model, within a token budget.
//!
//! A small model fixes what it is shown and is distracted by the rest, so the
//! context is built from *anchors*, lines the failure gives a reason to show,
//! and from nothing else:
//!
//! - the failing test's own definition, found by name from the test id;
//! - every traceback frame inside the repository, with the function around
//!   it (paths that CI or the sandbox printed are mapped back to the
//!   repository; installed packages and the standard library are skipped);
//! - the definitions of the names those lines use, looked up in the files
//!   already chosen and the project modules they import, two calls deep;
//! - for an error about a missing name (`ImportError`, `AttributeError`,
//!   `NameError`, `ModuleNotFoundError`, a missing pytest fixture), the names
//!   that do exist where the code looked, so that a rename is visible.
//!
//! Anchors come in two tiers. Core lines (frames, the test's `def` line, the
//! names that exist) are what every file gets first; extra lines (function
//! bodies, definitions) are added while the budget lasts. A file that only an
//! import leads to is shown only when something in it is anchored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use selfheal_types::Failure;
use selfheal_types::missing::{Missing, quoted_after};

use crate::SourceFile;

/// Files bigger than this are not read at all: no useful excerpt of a
/// generated or vendored blob fits a prompt anyway.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Lines kept either side of the anchors, widest first.
const RADII: &[usize] = &[2, 1, 0];
/// Lines shown of a file the failure names without pointing into it.
const HEAD_LINES: usize = 20;
/// A definition longer than this is shown by its first line only: the
/// anchors inside it still bring their own lines.
const MAX_BLOCK_LINES: usize = 60;
/// An excerpt that already shows this share of a file (percent) is replaced
/// by the whole file: the gap marks would cost more than they save.
const WHOLE_FILE_PERCENT: usize = 66;
/// At most this many files are shown.
const MAX_FILES: usize = 8;
/// At most this many files are searched for definitions.
const MAX_LOOKUP_FILES: usize = 24;
/// How many calls deep definitions are followed from the failing lines: the
/// test calls a helper that calls the buggy function.
const DEFINITION_DEPTH: usize = 2;
/// Definitions anchored per step, so one busy line cannot flood the context.
const MAX_DEFINITIONS_PER_STEP: usize = 16;
/// Sibling modules shown for a missing module when none defines the names asked for.
const MAX_SIBLINGS: usize = 3;

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

/// The lines of `text` within `radius` of any anchor, gaps marked; the head
/// of the file when there are no anchors. The whole text, byte for byte,
/// when the windows cover every line.
fn excerpt(text: &str, anchors: &BTreeSet<usize>, radius: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    if n == 0 {
        return String::new();
    }
    let mut ranges: Vec<(usize, usize)> = if anchors.is_empty() {
        vec![(1, HEAD_LINES.min(n))]
    } else {
        anchors
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
        return text.to_owned();
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

/// How many of the file's lines an excerpt shows.
fn shown_lines(excerpt: &str) -> usize {
    excerpt
        .lines()
        .filter(|l| parse_omission(l).is_none())
        .count()
}

struct Candidate {
    rel: String,
    real: PathBuf,
    text: String,
    /// The failure names this file itself (test id, frame, the module its
    /// message names): shown even when nothing in it is anchored.
    named: bool,
    /// When the file first became worth showing; files are shown in this order.
    order: Option<usize>,
    /// 1-based lines every excerpt keeps.
    core: BTreeSet<usize>,
    /// 1-based lines kept while the budget lasts.
    extra: BTreeSet<usize>,
}

impl Candidate {
    fn window(&self, with_extra: bool, radius: usize) -> String {
        // A file that only definitions lead to has extra lines alone: those,
        // rather than the head of the file that no anchors would mean.
        if with_extra || self.core.is_empty() {
            let all: BTreeSet<usize> = self.core.union(&self.extra).copied().collect();
            excerpt(&self.text, &all, radius)
        } else {
            excerpt(&self.text, &self.core, radius)
        }
    }

    fn is_python(&self) -> bool {
        Path::new(&self.rel).extension().is_some_and(|e| e == "py")
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

/// Checkout folders of CI systems, and how many folders after the prefix
/// name the checkout (`/home/runner/work/<repo>/<repo>/`).
const CHECKOUT_ROOTS: &[(&str, usize)] = &[
    ("/home/runner/work/", 2),
    ("/Users/runner/work/", 2),
    ("/__w/", 2),
    ("D:/a/", 2),
    ("C:/a/", 2),
    ("/github/workspace/", 0),
    // The validation sandbox mounts the repository here (selfheal-validate's `PROJECT_DIR`).
    ("/work/", 0),
];

/// Someone else's code: installed packages, the standard library, interpreter internals.
const VENDOR_MARKERS: &[&str] = &[
    "site-packages/",
    "dist-packages/",
    "/lib/python",
    "/lib64/python",
    "/.pyenv/",
    "/hostedtoolcache/",
    "/node_modules/",
    "/.cargo/registry/",
    "/rustc/",
    "/go/pkg/mod/",
];

/// Where a path printed in a log may be in the repository, most likely
/// first: CI checkout and sandbox paths lose their prefix, relative paths
/// are tried against the folder the CI step ran in and then the root.
/// Paths into installed packages or elsewhere on the machine give nothing.
fn repo_paths(root: &Path, workdir: &str, raw: &str) -> Vec<String> {
    let path = raw.trim().replace('\\', "/");
    if path.is_empty() || path.starts_with('<') || VENDOR_MARKERS.iter().any(|m| path.contains(m)) {
        return Vec::new();
    }
    let root_prefix = format!(
        "{}/",
        root.to_string_lossy()
            .replace('\\', "/")
            .trim_end_matches('/')
    );
    if let Some(rest) = path.strip_prefix(&root_prefix) {
        return vec![rest.to_owned()];
    }
    if path.starts_with('/') || path.get(1..3) == Some(":/") {
        for (prefix, depth) in CHECKOUT_ROOTS {
            if let Some(mut rest) = path.strip_prefix(prefix) {
                for _ in 0..*depth {
                    match rest.split_once('/') {
                        Some((_, after)) => rest = after,
                        None => return Vec::new(),
                    }
                }
                return vec![rest.to_owned()];
            }
        }
        return Vec::new();
    }
    let path = path.trim_start_matches("./");
    if workdir.is_empty() {
        vec![path.to_owned()]
    } else {
        vec![format!("{workdir}/{path}"), path.to_owned()]
    }
}

/// The CI step's folder as a clean relative path; empty (the root) when it
/// is absolute or climbs out with `..`.
fn clean_workdir(workdir: &str) -> String {
    let w = workdir.trim().replace('\\', "/");
    let w = w.trim_start_matches("./").trim_matches('/');
    let ok = Path::new(w)
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if ok { w.to_owned() } else { String::new() }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The code part of a line, without a trailing `#` comment (strings with a
/// `#` in them are cut too: harmless for finding names and brackets).
fn code(line: &str) -> &str {
    line.split('#').next().unwrap_or(line)
}

const DEF_KEYWORDS: &[&str] = &[
    "def ",
    "async def ",
    "class ",
    "fn ",
    "pub fn ",
    "func ",
    "function ",
];

fn identifier_prefix(s: &str) -> &str {
    let end = s
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(s.len(), |(i, _)| i);
    &s[..end]
}

/// What a line defines, if it starts a definition: a function, class or
/// method (at any depth), or a top-level assignment.
fn defined_name(line: &str) -> Option<(&str, bool)> {
    let trimmed = line.trim_start();
    if let Some(rest) = DEF_KEYWORDS.iter().find_map(|k| trimmed.strip_prefix(k)) {
        let name = identifier_prefix(rest.trim_start());
        return (!name.is_empty()).then_some((name, trimmed.starts_with("class ")));
    }
    if indent(line) > 0 {
        return None;
    }
    let name = identifier_prefix(trimmed);
    let rest = trimmed[name.len()..].trim_start();
    let assigns = (rest.starts_with('=') && !rest.starts_with("=="))
        || (rest.starts_with(':') && rest.contains('='));
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) && assigns)
        .then_some((name, false))
}

/// A definition found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Definition {
    name: String,
    /// 1-based.
    line: usize,
    top_level: bool,
    class: bool,
}

fn definitions(text: &str) -> Vec<Definition> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            defined_name(l).map(|(name, class)| Definition {
                name: name.to_owned(),
                line: i + 1,
                top_level: indent(l) == 0,
                class,
            })
        })
        .collect()
}

/// The last line of the statement or block that starts at `start`
/// (1-based): a header continued over lines until its brackets close, then
/// every line indented deeper than it.
fn block_end(lines: &[&str], start: usize) -> usize {
    let Some(first) = lines.get(start.wrapping_sub(1)) else {
        return start;
    };
    let base = indent(first);
    let mut depth = 0i64;
    let mut header_end = start;
    for (i, line) in lines
        .iter()
        .enumerate()
        .skip(start - 1)
        .take(MAX_BLOCK_LINES)
    {
        for c in code(line).chars() {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            }
        }
        header_end = i + 1;
        if depth <= 0 {
            break;
        }
    }
    let mut end = header_end;
    for (i, line) in lines.iter().enumerate().skip(header_end) {
        if line.trim().is_empty() {
            continue;
        }
        if indent(line) <= base {
            break;
        }
        end = i + 1;
    }
    end
}

/// The lines of the definition at `start` when it is short enough to show
/// whole; its first line alone otherwise.
fn block_lines(lines: &[&str], start: usize) -> std::ops::RangeInclusive<usize> {
    let end = block_end(lines, start);
    if end + 1 - start > MAX_BLOCK_LINES {
        start..=start
    } else {
        start..=end
    }
}

/// The function or class whose body holds `line` (1-based): the nearest
/// definition above it that is indented less. `None` for module-level code.
fn enclosing_definition(lines: &[&str], line: usize) -> Option<usize> {
    let target = lines.get(line.checked_sub(1)?)?;
    if DEF_KEYWORDS
        .iter()
        .any(|d| target.trim_start().starts_with(d))
    {
        return Some(line);
    }
    let mut limit = if target.trim().is_empty() {
        usize::MAX
    } else {
        indent(target)
    };
    for k in (1..line).rev() {
        let l = lines[k - 1];
        if l.trim().is_empty() {
            continue;
        }
        let ind = indent(l);
        let t = l.trim_start();
        // `):` closing a signature over lines belongs to the header above it.
        if ind >= limit || t.starts_with([')', ']', '}']) {
            continue;
        }
        if DEF_KEYWORDS.iter().any(|d| t.starts_with(d)) {
            return Some(k);
        }
        // A statement less indented than the line, but no definition: an
        // `if` or `for` around it; keep climbing from its level.
        if ind == 0 {
            return None;
        }
        limit = ind;
    }
    None
}

/// Decorator lines right above the definition at `line`.
fn decorators(lines: &[&str], line: usize) -> Vec<usize> {
    (1..line)
        .rev()
        .take_while(|&k| {
            lines
                .get(k - 1)
                .is_some_and(|l| l.trim_start().starts_with('@'))
        })
        .collect()
}

const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "None",
    "True", "False", "self", "cls",
];

/// The names a line of code mentions, keywords left out.
fn names(line: &str) -> impl Iterator<Item = &str> {
    code(line)
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(|c: char| c.is_alphabetic() || c == '_') && !KEYWORDS.contains(w))
}

/// The candidate files of one failure, and what is anchored in them.
struct Context {
    root: PathBuf,
    workdir: String,
    files: Vec<Candidate>,
    next_order: usize,
}

impl Context {
    /// The index of the file `raw` names (a path from a log, a test id's
    /// file), read and added on first sight; `None` for paths outside the
    /// repository, missing files and files that are not text.
    fn file(&mut self, raw: &str) -> Option<usize> {
        repo_paths(&self.root, &self.workdir, raw)
            .iter()
            .find_map(|rel| self.file_rel(rel))
    }

    /// [`Self::file`] for a path already relative to the repository root.
    fn file_rel(&mut self, path: &str) -> Option<usize> {
        let (shown, real) = resolve_inside(&self.root, path)?;
        if let Some(i) = self.files.iter().position(|c| c.real == real) {
            return Some(i);
        }
        let text = read_text(&real)?;
        self.files.push(Candidate {
            rel: shown,
            real,
            text,
            named: false,
            order: None,
            core: BTreeSet::new(),
            extra: BTreeSet::new(),
        });
        Some(self.files.len() - 1)
    }

    /// Marks a file as worth showing, keeping the order of first mention.
    fn show(&mut self, i: usize) {
        if self.files[i].order.is_none() {
            self.files[i].order = Some(self.next_order);
            self.next_order += 1;
        }
    }

    fn name_file(&mut self, raw: &str) -> Option<usize> {
        let i = self.file(raw)?;
        self.files[i].named = true;
        self.show(i);
        Some(i)
    }

    fn anchor(&mut self, i: usize, line: usize, core: bool) {
        self.show(i);
        let c = &mut self.files[i];
        if core {
            c.core.insert(line);
        } else {
            c.extra.insert(line);
        }
    }

    fn anchor_all(&mut self, i: usize, lines: impl IntoIterator<Item = usize>, core: bool) {
        for l in lines {
            self.anchor(i, l, core);
        }
    }

    /// The failing test's definition, its decorators and its body.
    fn anchor_test(&mut self, i: usize, test_id: &str) {
        let text = &self.files[i].text;
        let Some(def) = find_test_def(text, test_id) else {
            return;
        };
        let lines: Vec<&str> = text.lines().collect();
        let mut core = decorators(&lines, def);
        core.push(def);
        let body: Vec<usize> = block_lines(&lines, def).collect();
        self.anchor_all(i, core, true);
        self.anchor_all(i, body, false);
    }

    /// A traceback frame: its line, and the function around it.
    fn anchor_frame(&mut self, i: usize, line: usize) {
        let lines: Vec<&str> = self.files[i].text.lines().collect();
        let def = enclosing_definition(&lines, line);
        let body: Vec<usize> = def
            .map(|d| block_lines(&lines, d).collect())
            .unwrap_or_default();
        self.anchor(i, line, true);
        self.anchor_all(i, def, true);
        self.anchor_all(i, body, false);
    }

    /// Every top-level name a module defines, and its imports when asked:
    /// what the code could have meant instead of the missing name.
    fn anchor_names_that_exist(&mut self, i: usize, with_imports: bool) {
        let text = &self.files[i].text;
        let mut lines: Vec<usize> = definitions(text)
            .into_iter()
            .filter(|d| d.top_level)
            .map(|d| d.line)
            .collect();
        if with_imports {
            lines.extend(text.lines().enumerate().filter_map(|(k, l)| {
                (l.starts_with("import ") || l.starts_with("from ")).then_some(k + 1)
            }));
        }
        self.anchor_all(i, lines, true);
    }

    /// The lines of the named files that mention `name`: where a missing
    /// name is used, each a place the fix may have to touch.
    fn anchor_mentions(&mut self, name: &str) {
        for i in 0..self.files.len() {
            if !self.files[i].named {
                continue;
            }
            let lines: Vec<&str> = self.files[i].text.lines().collect();
            let mut hits: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| names(l).any(|n| n == name))
                .map(|(k, _)| k + 1)
                .take(MAX_DEFINITIONS_PER_STEP)
                .collect();
            // Which function each use is in, so an edit there reads in context.
            let owners: Vec<usize> = hits
                .iter()
                .filter_map(|&h| enclosing_definition(&lines, h))
                .collect();
            hits.extend(owners);
            self.anchor_all(i, hits, true);
        }
    }

    /// Folders a dotted Python module may live under: the step's folder and
    /// its `src`/`lib`, then the root's.
    fn module_bases(&self) -> Vec<String> {
        let mut bases: Vec<String> = Vec::new();
        let wd = if self.workdir.is_empty() {
            String::new()
        } else {
            format!("{}/", self.workdir)
        };
        for prefix in [wd.as_str(), ""] {
            for sub in ["", "src/", "lib/"] {
                let b = format!("{prefix}{sub}");
                if !bases.contains(&b) {
                    bases.push(b);
                }
            }
        }
        bases
    }

    /// The project file of a dotted module name, if the project has it.
    fn module(&mut self, dotted: &str) -> Option<usize> {
        if dotted.is_empty()
            || !dotted
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        {
            return None;
        }
        let path = dotted.replace('.', "/");
        for base in self.module_bases() {
            for candidate in [
                format!("{base}{path}.py"),
                format!("{base}{path}/__init__.py"),
            ] {
                if let Some(i) = self.file_rel(&candidate) {
                    return Some(i);
                }
            }
        }
        None
    }

    /// Project files the Python file `i` imports.
    fn imports_of(&mut self, i: usize) -> Vec<usize> {
        let c = &self.files[i];
        if !c.is_python() {
            return Vec::new();
        }
        let modules = python_imports(&self.root, &c.rel, &c.text, &self.module_bases());
        modules.iter().filter_map(|m| self.file_rel(m)).collect()
    }

    /// The files searched for definitions: the named ones, the project
    /// modules they import and what those import in turn (as deep as
    /// definitions are followed; a package's `__init__.py` counts as no
    /// step, since it only re-exports), and the `conftest.py` files above
    /// the test.
    fn lookup_set(&mut self, test_file: Option<usize>) -> Vec<usize> {
        let mut set: Vec<(usize, usize)> = (0..self.files.len())
            .filter(|&i| self.files[i].named)
            .map(|i| (i, 0))
            .collect();
        if let Some(t) = test_file {
            for conftest in self.conftests(t) {
                if !set.iter().any(|&(i, _)| i == conftest) {
                    set.push((conftest, 0));
                }
            }
        }
        let mut next = 0;
        while next < set.len() && set.len() < MAX_LOOKUP_FILES {
            let (i, depth) = set[next];
            next += 1;
            if depth >= DEFINITION_DEPTH {
                continue;
            }
            for j in self.imports_of(i) {
                if set.len() >= MAX_LOOKUP_FILES {
                    break;
                }
                if !set.iter().any(|&(k, _)| k == j) {
                    let step = usize::from(!self.files[j].rel.ends_with("__init__.py"));
                    set.push((j, depth + step));
                }
            }
        }
        set.into_iter().map(|(i, _)| i).collect()
    }

    /// `conftest.py` files from the test's folder up to the root, nearest first.
    fn conftests(&mut self, test_file: usize) -> Vec<usize> {
        let mut dir = Path::new(&self.files[test_file].rel)
            .parent()
            .map(Path::to_path_buf);
        let mut found = Vec::new();
        while let Some(d) = dir {
            let rel = d.join("conftest.py").to_string_lossy().replace('\\', "/");
            found.extend(self.file_rel(&rel));
            dir = d.parent().map(Path::to_path_buf);
        }
        found
    }

    /// The error's own rule: where the missing name was looked for, and
    /// what exists there instead.
    fn anchor_missing(&mut self, missing: &Missing, lookup: &[usize], first_frame: Option<usize>) {
        match missing {
            Missing::NameInModule { name, module } => {
                if let Some(m) = self.module(module) {
                    self.files[m].named = true;
                    self.anchor_names_that_exist(m, false);
                }
                self.anchor_mentions(name);
            }
            Missing::Attribute { class, name } => {
                let found = lookup
                    .iter()
                    .find_map(|&i| Some((i, class_attributes(&self.files[i].text, class)?)));
                if let Some((i, lines)) = found {
                    self.anchor_all(i, lines, true);
                }
                self.anchor_mentions(name);
            }
            Missing::Name(name) => {
                if let Some(f) = first_frame {
                    self.anchor_names_that_exist(f, true);
                }
                self.anchor_mentions(name);
            }
            Missing::Module(module) => self.anchor_sibling_modules(module, first_frame),
            Missing::Fixture(_) => {
                for &i in lookup {
                    let found = fixtures(&self.files[i].text);
                    self.anchor_all(i, found, true);
                }
            }
        }
    }

    /// For `No module named 'pkg.x'`: the modules beside where `x` was
    /// looked for, best the ones that define the names the failing import
    /// asks for, so that a moved or renamed module is visible.
    fn anchor_sibling_modules(&mut self, module: &str, first_frame: Option<usize>) {
        let (package, _) = module.rsplit_once('.').unwrap_or(("", module));
        let mut dirs: Vec<String> = if package.is_empty() {
            first_frame
                .and_then(|f| Path::new(&self.files[f].rel).parent())
                .map(|d| d.to_string_lossy().replace('\\', "/"))
                .into_iter()
                .collect()
        } else {
            Vec::new()
        };
        let pkg_path = package.replace('.', "/");
        for base in self.module_bases() {
            dirs.push(format!("{base}{pkg_path}"));
        }
        // The names the failing import asks for: `from pkg.x import a, b`.
        let wanted: BTreeSet<String> = self
            .files
            .iter()
            .filter(|c| c.named)
            .flat_map(|c| c.text.lines())
            .filter_map(|l| {
                l.trim()
                    .strip_prefix("from ")?
                    .strip_prefix(module)?
                    .trim_start()
                    .strip_prefix("import ")
            })
            .flat_map(|names| {
                names
                    .split(',')
                    .filter_map(|n| n.split_whitespace().next())
                    .map(|n| n.trim_matches(|c| c == '(' || c == ')').to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        for dir in dirs {
            let Some(real_dir) = resolve_dir(&self.root, &dir) else {
                continue;
            };
            let Ok(entries) = std::fs::read_dir(&real_dir) else {
                continue;
            };
            let mut siblings: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    Path::new(n).extension().is_some_and(|e| e == "py") && n != "__init__.py"
                })
                .map(|n| {
                    if dir.is_empty() {
                        n
                    } else {
                        format!("{dir}/{n}")
                    }
                })
                .collect();
            siblings.sort();
            siblings.truncate(MAX_LOOKUP_FILES);
            let found: Vec<usize> = siblings.iter().filter_map(|s| self.file_rel(s)).collect();
            let mut scored: Vec<(usize, usize)> = found
                .into_iter()
                .map(|i| {
                    let defined = definitions(&self.files[i].text)
                        .into_iter()
                        .filter(|d| d.top_level && wanted.contains(&d.name))
                        .count();
                    (defined, i)
                })
                .collect();
            if scored.is_empty() {
                continue;
            }
            let best = scored.iter().map(|s| s.0).max().unwrap_or(0);
            scored.retain(|s| s.0 == best);
            scored.truncate(MAX_SIBLINGS);
            for (_, i) in scored {
                self.files[i].named = true;
                self.anchor_names_that_exist(i, false);
            }
            return;
        }
    }

    /// Anchors the definitions of the names used on `uses` (file, line),
    /// then of the names used in those definitions, [`DEFINITION_DEPTH`] deep.
    fn follow_definitions(&mut self, lookup: &[usize], uses: Vec<(usize, usize)>) {
        let anchors = {
            let lines: Vec<Vec<&str>> = self
                .files
                .iter()
                .map(|c| c.text.lines().collect())
                .collect();
            definition_anchors(&lines, lookup, uses)
        };
        for (i, line, core) in anchors {
            self.anchor(i, line, core);
        }
    }
}

/// The `(file, line, core)` anchors of [`Context::follow_definitions`],
/// worked out over the files' lines.
fn definition_anchors(
    lines: &[Vec<&str>],
    lookup: &[usize],
    mut uses: Vec<(usize, usize)>,
) -> Vec<(usize, usize, bool)> {
    let mut index: BTreeMap<&str, Vec<(usize, usize, bool)>> = BTreeMap::new();
    for &i in lookup {
        for (k, line) in lines[i].iter().enumerate() {
            if let Some((name, class)) = defined_name(line) {
                index.entry(name).or_default().push((i, k + 1, class));
            }
        }
    }
    let mut anchors = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for depth in 0..DEFINITION_DEPTH {
        let mut found: Vec<(usize, usize, bool)> = Vec::new();
        for &(i, line) in &uses {
            let Some(text) = lines.get(i).and_then(|l| l.get(line.wrapping_sub(1))) else {
                continue;
            };
            // An import line names what a module offers, not what the failing
            // code does with it; the lines that use the names bring them in.
            let trimmed = text.trim_start();
            if trimmed.starts_with("import ") || trimmed.starts_with("from ") {
                continue;
            }
            let own = defined_name(text).map(|(n, _)| n);
            for name in names(text) {
                if own == Some(name) || !seen.insert(name) {
                    continue;
                }
                let Some(defs) = index.get(name) else {
                    continue;
                };
                // The same file's definition shadows the others.
                let local: Vec<&(usize, usize, bool)> =
                    defs.iter().filter(|(f, _, _)| *f == i).collect();
                let pick = if local.is_empty() {
                    defs.iter().take(2).collect()
                } else {
                    local
                };
                found.extend(pick.into_iter().copied());
            }
        }
        found.truncate(MAX_DEFINITIONS_PER_STEP);
        let mut next_uses = Vec::new();
        for (i, start, class) in found {
            anchors.push((i, start, depth == 0));
            let file = &lines[i];
            let body: Vec<usize> = if !class {
                block_lines(file, start).collect()
            } else if depth == 0 {
                class_summary(file, start)
            } else {
                // A class met on the way to the bug: its name is enough.
                decorators(file, start)
            };
            if !class {
                next_uses.extend(body.iter().map(|&l| (i, l)));
            }
            anchors.extend(body.into_iter().map(|l| (i, l, false)));
        }
        uses = next_uses;
    }
    anchors
}

/// The class `class` in `text`, by what it does have: its header, its
/// methods, and what its methods assign to `self`.
fn class_attributes(text: &str, class: &str) -> Option<Vec<usize>> {
    let def = definitions(text)
        .into_iter()
        .find(|d| d.class && d.name == class)?;
    let lines: Vec<&str> = text.lines().collect();
    let mut out = vec![def.line];
    out.extend(
        (def.line + 1..=block_end(&lines, def.line)).filter(|&k| {
            defined_name(lines[k - 1]).is_some() || assigns_self_attribute(lines[k - 1])
        }),
    );
    Some(out)
}

/// The pytest fixtures `text` defines: functions under a `fixture` decorator.
fn fixtures(text: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    definitions(text)
        .into_iter()
        .filter(|d| {
            decorators(&lines, d.line)
                .iter()
                .any(|&k| lines[k - 1].contains("fixture"))
        })
        .map(|d| d.line)
        .collect()
}

/// `self.x = ...` or `self.x: T = ...`.
fn assigns_self_attribute(line: &str) -> bool {
    let Some(rest) = line.trim_start().strip_prefix("self.") else {
        return false;
    };
    let after = rest[identifier_prefix(rest).len()..].trim_start();
    (after.starts_with('=') && !after.starts_with("==")) || after.starts_with(':')
}

/// A folder inside `root`, as `resolve_inside` checks files.
fn resolve_dir(root: &Path, dir: &str) -> Option<PathBuf> {
    let relative = Path::new(dir);
    if relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return None;
    }
    let real = root.join(relative).canonicalize().ok()?;
    (real.starts_with(root) && real.is_dir()).then_some(real)
}

/// What a class is made of, short: its header and fields up to its first
/// method, and its constructor.
fn class_summary(lines: &[&str], start: usize) -> Vec<usize> {
    let end = block_end(lines, start);
    let mut out: Vec<usize> = decorators(lines, start);
    let first_method = (start + 1..=end)
        .find(|&k| defined_name(lines[k - 1]).is_some_and(|_| indent(lines[k - 1]) > 0))
        .unwrap_or(end + 1);
    out.extend(start..first_method.min(start + 15));
    if let Some(init) = (start + 1..=end).find(|&k| {
        let t = lines[k - 1].trim_start();
        t.starts_with("def __init__(") || t.starts_with("def __post_init__(")
    }) {
        out.extend(block_lines(lines, init));
    }
    out
}

/// Project files that the Python source `text` (at `importer`, relative to
/// `root`) imports, as paths relative to `root`; absolute imports are looked
/// for under each of `bases` (`""`, `src/`, ...). Modules that do not exist
/// under the root (the standard library, installed packages) are skipped.
fn python_imports(root: &Path, importer: &str, text: &str, bases: &[String]) -> Vec<String> {
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
                for base in bases {
                    push(Path::new(base), module, &names);
                }
            }
        } else if let Some(rest) = line.strip_prefix("import ") {
            for module in rest.split(',').filter_map(|m| m.split_whitespace().next()) {
                for base in bases {
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

/// [`collect_context_in`] for a CI step that ran in the repository root.
pub fn collect_context(root: &Path, failure: &Failure, token_budget: usize) -> Vec<SourceFile> {
    collect_context_in(root, "", failure, token_budget)
}

/// The source worth showing the model for `failure`, within `token_budget`
/// (about 4 characters a token): the failing test's definition, the code
/// around every traceback frame in the repository, the definitions those
/// lines use, and for a missing name what exists in its stead (see the
/// module docs). `workdir` is the repository-relative folder the CI step ran
/// in, which test ids and relative paths in the log are relative to; the
/// returned paths are relative to `root`. Nothing outside `root` is read.
///
/// Every file first gets its core lines, in order of relevance, so a large
/// test file cannot starve the code it tests; what budget is left then
/// widens them to whole definitions, and to whole files when an excerpt
/// would show most of one anyway.
pub fn collect_context_in(
    root: &Path,
    workdir: &str,
    failure: &Failure,
    token_budget: usize,
) -> Vec<SourceFile> {
    let Ok(root) = root.canonicalize() else {
        return Vec::new();
    };
    let mut cx = Context {
        root,
        workdir: clean_workdir(workdir),
        files: Vec::new(),
        next_order: 0,
    };
    let mut uses: Vec<(usize, usize)> = Vec::new();
    let mut test_file = None;
    if let Some(test) = failure.test.as_deref() {
        // pytest ids start with the file (`tests/test_x.py::test_y`); ids of
        // other tools rarely name a file and are skipped when nothing exists there.
        if let Some(i) = test.split("::").next().and_then(|f| cx.name_file(f)) {
            cx.anchor_test(i, test);
            let c = &cx.files[i];
            uses.extend(c.core.iter().chain(&c.extra).map(|&l| (i, l)));
            test_file = Some(i);
        }
    }
    let mut first_frame = None;
    for loc in &failure.locations {
        let Some(i) = cx.name_file(&loc.file) else {
            continue;
        };
        if let Some(line) = loc.line.map(|l| l as usize).filter(|&l| l > 0) {
            cx.anchor_frame(i, line);
            uses.push((i, line));
            if first_frame.is_none() {
                first_frame = Some(i);
            }
        }
    }
    let lookup = cx.lookup_set(test_file);
    if let Some(missing) = Missing::from_message(&failure.message) {
        cx.anchor_missing(&missing, &lookup, first_frame);
    }
    // Python 3.10+ suggests a near name (`Did you mean: 'step_text'?`): show where it is.
    if let Some(suggested) = quoted_after(&failure.message, "Did you mean") {
        cx.anchor_mentions(suggested);
    }
    cx.follow_definitions(&lookup, uses);
    choose(cx.files, token_budget)
}

/// Fits the candidates into the budget: core lines of every file first, in
/// order, then each widened as far as what is left allows.
fn choose(files: Vec<Candidate>, token_budget: usize) -> Vec<SourceFile> {
    let mut shown: Vec<Candidate> = files
        .into_iter()
        .filter(|c| c.order.is_some() && (c.named || !c.core.is_empty() || !c.extra.is_empty()))
        .collect();
    shown.sort_by_key(|c| c.order);
    shown.truncate(MAX_FILES);

    let mut remaining = token_budget.saturating_mul(4);
    let mut chosen: Vec<Option<String>> = Vec::with_capacity(shown.len());
    for c in &shown {
        let pick = RADII
            .iter()
            .map(|&r| c.window(false, r))
            .find(|w| cost(&c.rel, w) <= remaining);
        if let Some(w) = &pick {
            remaining -= cost(&c.rel, w);
        }
        chosen.push(pick);
    }
    for (c, slot) in shown.iter().zip(chosen.iter_mut()) {
        let Some(current) = slot.as_ref() else {
            continue;
        };
        let current_cost = cost(&c.rel, current);
        let widest = c.window(true, RADII[0]);
        let total_lines = c.text.lines().count().max(1);
        let mut richer: Vec<String> = Vec::new();
        if shown_lines(&widest) * 100 >= total_lines * WHOLE_FILE_PERCENT {
            richer.push(c.text.clone());
        }
        richer.push(widest);
        richer.extend(RADII[1..].iter().map(|&r| c.window(true, r)));
        let bigger = richer
            .into_iter()
            .filter(|w| shown_lines(w) > shown_lines(current))
            .find(|w| cost(&c.rel, w).saturating_sub(current_cost) <= remaining);
        if let Some(w) = bigger {
            remaining = remaining.saturating_sub(cost(&c.rel, &w).saturating_sub(current_cost));
            *slot = Some(w);
        }
    }
    shown
        .into_iter()
        .zip(chosen)
        .filter_map(|(c, content)| {
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

    use selfheal_types::{Category, LineSpan, Location};

    use super::*;

    fn write_tree(root: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            std::fs::create_dir_all(root.join(path).parent().expect("parent")).expect("mkdir");
            std::fs::write(root.join(path), text).expect("write");
        }
    }

    fn failure(message: &str, test: Option<&str>, locations: &[(&str, u32)]) -> Failure {
        Failure {
            category: Category::TestFailure,
            tool: "pytest".into(),
            message: message.into(),
            test: test.map(Into::into),
            locations: locations
                .iter()
                .map(|(file, line)| Location {
                    file: (*file).into(),
                    line: Some(*line),
                    column: None,
                })
                .collect(),
            job: None,
            step: None,
            log_file: None,
            log_span: LineSpan::new(1, 1),
            fingerprint: String::new(),
            flaky: None,
        }
    }

    /// The context as `(path, visible text)`, gap marks left out, for
    /// asserting what is shown and what is not.
    fn shown(root: &Path, workdir: &str, f: &Failure) -> Vec<(String, String)> {
        collect_context_in(root, workdir, f, 6000)
            .into_iter()
            .map(|s| {
                let visible: Vec<&str> = s
                    .content
                    .lines()
                    .filter(|l| parse_omission(l).is_none())
                    .collect();
                (s.path, visible.join("\n"))
            })
            .collect()
    }

    fn paths(context: &[(String, String)]) -> Vec<&str> {
        context.iter().map(|(p, _)| p.as_str()).collect()
    }

    fn text_of<'a>(context: &'a [(String, String)], path: &str) -> &'a str {
        context
            .iter()
            .find(|(p, _)| p == path)
            .map_or("", |(_, t)| t.as_str())
    }

    /// `n` lines of filler: big enough that excerpts stay excerpts.
    fn filler(prefix: &str, n: usize) -> String {
        (1..=n).fold(String::new(), |mut s, i| {
            let _ = writeln!(s, "{prefix}_{i} = {i}");
            s
        })
    }

    #[test]
    fn only_imported_files_that_the_failure_uses_are_shown() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let init = "from .cart import Cart\nfrom .prices import total\n";
        let test = "import os\nfrom shop import Cart, total\n\ndef test_total():\n    assert total([1]) == 2\n";
        write_tree(
            root,
            &[
                ("src/shop/__init__.py", init),
                ("src/shop/cart.py", "class Cart:\n    pass\n"),
                (
                    "src/shop/prices.py",
                    "import math\n\ndef total(xs):\n    return sum(xs)\n",
                ),
                ("tests/test_cart.py", test),
            ],
        );
        let bases = [String::new(), "src/".to_owned()];
        assert_eq!(
            python_imports(root, "tests/test_cart.py", test, &bases),
            vec!["src/shop/__init__.py".to_owned()]
        );
        assert_eq!(
            python_imports(root, "src/shop/__init__.py", init, &bases),
            vec![
                "src/shop/cart.py".to_owned(),
                "src/shop/prices.py".to_owned()
            ]
        );
        let f = failure("assert 1 == 2", Some("tests/test_cart.py::test_total"), &[]);
        // `Cart` is imported but unused by the failing test; `__init__.py`
        // only re-exports: neither is shown.
        assert_eq!(
            paths(&shown(root, "", &f)),
            ["tests/test_cart.py", "src/shop/prices.py"]
        );
    }

    #[test]
    fn definitions_are_followed_two_calls_deep() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let days = format!(
            "{}\ndef is_business_day(day):\n    return day.weekday() <= 5\n\n\ndef unrelated():\n    return 1\n",
            filler("x", 40)
        );
        let calendar = "from .days import is_business_day\n\n\ndef business_days(days):\n    return sum(1 for d in days if is_business_day(d))\n";
        let test = "from workdays.calendar import business_days\n\n\ndef test_week():\n    assert business_days(WEEK) == 5\n";
        write_tree(
            root,
            &[
                ("workdays/days.py", &days),
                ("workdays/calendar.py", calendar),
                ("tests/test_days.py", test),
            ],
        );
        let f = failure(
            "assert 6 == 5",
            Some("tests/test_days.py::test_week"),
            &[("tests/test_days.py", 5)],
        );
        let context = shown(root, "", &f);
        assert_eq!(
            paths(&context),
            [
                "tests/test_days.py",
                "workdays/calendar.py",
                "workdays/days.py"
            ]
        );
        let days_shown = text_of(&context, "workdays/days.py");
        assert!(
            days_shown.contains("return day.weekday() <= 5"),
            "{days_shown}"
        );
        assert!(!days_shown.contains("x_10 = 10"), "{days_shown}");
        assert!(!days_shown.contains("def unrelated"), "{days_shown}");
    }

    #[test]
    fn frame_paths_from_ci_and_the_sandbox_map_back_and_vendor_frames_are_skipped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().canonicalize().expect("root");
        assert_eq!(
            repo_paths(&root, "", "/home/runner/work/shop/shop/src/a.py"),
            ["src/a.py"]
        );
        assert_eq!(repo_paths(&root, "", "/work/src/a.py"), ["src/a.py"]);
        assert_eq!(
            repo_paths(&root, "", "D:\\a\\shop\\shop\\src\\a.py"),
            ["src/a.py"]
        );
        assert_eq!(
            repo_paths(&root, "", &root.join("src/a.py").display().to_string()),
            ["src/a.py"]
        );
        assert_eq!(
            repo_paths(&root, "svc", "./tests/t.py"),
            ["svc/tests/t.py", "tests/t.py"]
        );
        for vendor in [
            "/opt/hostedtoolcache/Python/3.12.1/x64/lib/python3.12/json/decoder.py",
            "/usr/lib/python3/dist-packages/six.py",
            "/home/runner/.venv/lib/python3.12/site-packages/requests/api.py",
            "<frozen importlib._bootstrap>",
            "/etc/passwd",
        ] {
            assert_eq!(
                repo_paths(&root, "", vendor),
                Vec::<String>::new(),
                "{vendor}"
            );
        }
        write_tree(
            &root,
            &[(
                "src/a.py",
                &format!("{}def f(x):\n    return 1 / x\n", filler("a", 40)),
            )],
        );
        let f = failure(
            "ZeroDivisionError: division by zero",
            None,
            &[
                ("/usr/lib/python3.12/fractions.py", 10),
                ("/home/runner/work/shop/shop/src/a.py", 42),
            ],
        );
        let context = shown(&root, "", &f);
        assert_eq!(paths(&context), ["src/a.py"]);
        // The frame and the function around it, not the filler.
        assert_eq!(
            text_of(&context, "src/a.py"),
            "a_39 = 39\na_40 = 40\ndef f(x):\n    return 1 / x"
        );
    }

    #[test]
    fn a_workdir_resolves_test_ids_and_keeps_paths_repository_relative() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write_tree(
            root,
            &[
                (
                    "services/api/tests/test_calc.py",
                    "from calc import add\n\n\ndef test_add():\n    assert add(2, 2) == 4\n",
                ),
                (
                    "services/api/src/calc.py",
                    "def add(a, b):\n    return a + b + 1\n",
                ),
                ("tests/test_calc.py", "def test_add():\n    assert False\n"),
            ],
        );
        let f = failure(
            "assert 5 == 4",
            Some("tests/test_calc.py::test_add"),
            &[("tests/test_calc.py", 5)],
        );
        assert_eq!(
            paths(&shown(root, "services/api/", &f)),
            [
                "services/api/tests/test_calc.py",
                "services/api/src/calc.py"
            ]
        );
        // A workdir that climbs out of the repository counts as the root.
        assert_eq!(
            paths(&shown(root, "../elsewhere", &f)),
            ["tests/test_calc.py"]
        );
        assert_eq!(
            paths(
                &collect_context(root, &f, 6000)
                    .into_iter()
                    .map(|s| (s.path, s.content))
                    .collect::<Vec<_>>()
            ),
            ["tests/test_calc.py"]
        );
    }

    #[test]
    fn import_error_shows_the_names_the_module_does_have_and_where_the_missing_one_is_used() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let slug = format!(
            "import re\n\n\ndef normalize_whitespace(text):\n{}    return text\n\n\ndef slugify(text):\n    return text\n",
            "    text = text.strip()\n".repeat(30)
        );
        let init = "from .slug import normalise_whitespace, slugify\n\n__all__ = [\"slugify\"]\n";
        let export = format!(
            "from textkit import normalise_whitespace\n{}\ndef render(x):\n    return normalise_whitespace(x)\n",
            filler("e", 30)
        );
        write_tree(
            root,
            &[
                ("src/textkit/slug.py", &slug),
                ("src/textkit/__init__.py", init),
                ("src/textkit/export.py", &export),
                ("tests/test_slug.py", "import textkit\n"),
            ],
        );
        let f = failure(
            "ImportError: cannot import name 'normalise_whitespace' from 'textkit.slug' (/home/runner/work/textkit/textkit/src/textkit/slug.py)",
            Some("tests/test_slug.py"),
            &[("src/textkit/__init__.py", 1), ("src/textkit/export.py", 1)],
        );
        let context = shown(root, "", &f);
        let slug_shown = text_of(&context, "src/textkit/slug.py");
        assert!(
            slug_shown.contains("def normalize_whitespace(text):"),
            "{slug_shown}"
        );
        assert!(slug_shown.contains("def slugify(text):"), "{slug_shown}");
        let export_shown = text_of(&context, "src/textkit/export.py");
        assert!(
            export_shown.contains("    return normalise_whitespace(x)"),
            "every use of the missing name: {export_shown}"
        );
        assert!(
            export_shown.contains("def render(x):"),
            "and the function it is in: {export_shown}"
        );
        assert_eq!(
            Missing::from_message(
                "AttributeError: module 'shop.shipping' has no attribute 'compute_shipping'"
            ),
            Some(Missing::NameInModule {
                name: "compute_shipping".into(),
                module: "shop.shipping".into()
            })
        );
    }

    #[test]
    fn missing_module_attribute_shows_the_module_names() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let shipping = format!(
            "{}\ndef shipping_cost(weight, zone):\n    return 1\n",
            filler("RATE", 30)
        );
        let checkout = "from . import shipping\n\n\ndef total(w, z):\n    return shipping.compute_shipping(w, z)\n";
        write_tree(
            root,
            &[
                ("src/shop/shipping.py", &shipping),
                ("src/shop/checkout.py", checkout),
            ],
        );
        let f = failure(
            "AttributeError: module 'shop.shipping' has no attribute 'compute_shipping'",
            None,
            &[("src/shop/checkout.py", 5)],
        );
        let context = shown(root, "", &f);
        assert_eq!(
            paths(&context),
            ["src/shop/checkout.py", "src/shop/shipping.py"]
        );
        assert!(
            text_of(&context, "src/shop/shipping.py").contains("def shipping_cost(weight, zone):")
        );
    }

    #[test]
    fn missing_object_attribute_shows_the_attributes_the_class_has() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let stock = format!(
            "class Inventory:\n    def __init__(self):\n        self._lines = {{}}\n{}\n    def low_stock(self):\n        return [s for s in self._items]\n",
            "        # comment\n".repeat(40)
        );
        write_tree(root, &[("inventory/stock.py", &stock)]);
        let f = failure(
            "AttributeError: 'Inventory' object has no attribute '_items'",
            None,
            &[("inventory/stock.py", 46)],
        );
        assert_eq!(
            Missing::from_message("AttributeError: 'Inventory' object has no attribute '_items'"),
            Some(Missing::Attribute {
                class: "Inventory".into(),
                name: "_items".into()
            })
        );
        let context = shown(root, "", &f);
        let text = text_of(&context, "inventory/stock.py");
        assert!(text.contains("        self._lines = {}"), "{text}");
        assert!(text.contains("return [s for s in self._items]"), "{text}");
        assert!(
            !text.contains("# comment\n        # comment\n        # comment\n        # comment"),
            "{text}"
        );
    }

    #[test]
    fn name_error_shows_the_imports_and_names_of_the_failing_module() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let sphere = format!(
            "from math import asin, cos\n\nEARTH = 6371\n{}\ndef bearing(a, b):\n    return math.atan2(a, b)\n",
            "# notes\n".repeat(40)
        );
        write_tree(root, &[("src/geo/sphere.py", &sphere)]);
        let f = failure(
            "NameError: name 'math' is not defined",
            None,
            &[("src/geo/sphere.py", 46)],
        );
        let context = shown(root, "", &f);
        let text = text_of(&context, "src/geo/sphere.py");
        assert!(text.contains("from math import asin, cos"), "{text}");
        assert!(text.contains("EARTH = 6371"), "{text}");
        assert!(text.contains("    return math.atan2(a, b)"), "{text}");
        assert!(
            !text.contains("# notes\n# notes\n# notes\n# notes"),
            "{text}"
        );
    }

    #[test]
    fn a_suggested_name_is_shown_where_it_is_defined() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        // A function too long to show whole: the suggestion's line must be anchored.
        let strip = "    part = part.strip()\n";
        let fields = format!(
            "def expand(part):\n{}    base, _, step_text = part.partition('/')\n{}    if step_txt:\n        return 1\n",
            strip.repeat(10),
            strip.repeat(70)
        );
        write_tree(root, &[("cron/fields.py", &fields)]);
        let f = failure(
            "NameError: name 'step_txt' is not defined. Did you mean: 'step_text'?",
            None,
            &[("cron/fields.py", 83)],
        );
        let context = shown(root, "", &f);
        let text = text_of(&context, "cron/fields.py");
        assert!(
            text.contains("    base, _, step_text = part.partition('/')"),
            "{text}"
        );
        assert!(text.matches("part.strip()").count() < 20, "{text}");
    }

    #[test]
    fn missing_module_shows_the_sibling_that_defines_the_names_asked_for() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write_tree(
            root,
            &[
                ("src/weather/__init__.py", ""),
                (
                    "src/weather/conversions.py",
                    "def c_to_f(c):\n    return c\n\n\ndef beaufort(k):\n    return k\n",
                ),
                ("src/weather/stations.py", "def nearest():\n    pass\n"),
                (
                    "src/weather/report.py",
                    "from weather.units import beaufort, c_to_f\n\n\ndef report():\n    pass\n",
                ),
            ],
        );
        let f = failure(
            "ModuleNotFoundError: No module named 'weather.units'",
            None,
            &[("src/weather/report.py", 1)],
        );
        let context = shown(root, "", &f);
        assert_eq!(
            paths(&context),
            ["src/weather/report.py", "src/weather/conversions.py"]
        );
    }

    #[test]
    fn missing_fixture_shows_the_fixtures_that_exist() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let conftest = format!(
            "import pytest\n{}\n@pytest.fixture\ndef dotenv_path(tmp_path):\n    return tmp_path\n",
            filler("c", 30)
        );
        write_tree(
            root,
            &[
                ("tests/conftest.py", &conftest),
                (
                    "tests/test_settings.py",
                    "def test_bad_flag(env_file):\n    assert env_file\n",
                ),
            ],
        );
        let f = failure(
            "fixture 'env_file' not found",
            Some("tests/test_settings.py::test_bad_flag"),
            &[],
        );
        let context = shown(root, "", &f);
        assert_eq!(
            paths(&context),
            ["tests/test_settings.py", "tests/conftest.py"]
        );
        let text = text_of(&context, "tests/conftest.py");
        assert!(text.contains("def dotenv_path(tmp_path):"), "{text}");
        assert!(!text.contains("c_10 = 10"), "{text}");
    }

    #[test]
    fn the_budget_holds_however_many_anchors() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let mut module = String::new();
        for i in 0..300 {
            let _ = writeln!(
                module,
                "def f{i}(x):\n    return g{i}(x)\n\ndef g{i}(x):\n    return x\n"
            );
        }
        let mut test = String::from("from pkg.mod import *\n\n\ndef test_all():\n");
        for i in 0..300 {
            let _ = writeln!(test, "    assert f{i}(1) == 1");
        }
        write_tree(
            root,
            &[("pkg/mod.py", &module), ("tests/test_mod.py", &test)],
        );
        let f = failure(
            "ImportError: cannot import name 'h' from 'pkg.mod'",
            Some("tests/test_mod.py::test_all"),
            &[("pkg/mod.py", 2), ("tests/test_mod.py", 5)],
        );
        for budget in [0, 10, 50, 200, 800, 3000, 6000] {
            let files = collect_context(root, &f, budget);
            let spent: usize = files.iter().map(|s| cost(&s.path, &s.content)).sum();
            assert!(spent <= budget * 4, "budget {budget}: spent {spent}");
        }
    }

    #[test]
    fn odd_input_gives_a_context_not_a_panic() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write_tree(
            root,
            &[
                ("a.py", "def f(\n"),
                ("b.py", "\u{feff}  \tx = ('\n@\n@\nclass\n"),
                ("c.py", ""),
            ],
        );
        std::fs::write(root.join("bin.py"), b"\x00\xff").expect("write");
        for message in [
            "ImportError: cannot import name '",
            "AttributeError: 'x",
            "NameError: name 'é' is not defined. Did you mean: '",
            "ModuleNotFoundError: No module named '../../etc'",
            "ModuleNotFoundError: No module named '.'",
            "fixture '' not found",
            "",
        ] {
            let locations: Vec<(&str, u32)> = vec![
                ("a.py", 0),
                ("a.py", u32::MAX),
                ("b.py", 3),
                ("c.py", 1),
                ("bin.py", 1),
                ("../a.py", 1),
                ("/work/../etc/passwd", 1),
            ];
            let f = failure(message, Some("a.py::f[x"), &locations);
            for budget in [0, 1, 6000] {
                let files = collect_context_in(root, "..", &f, budget);
                let spent: usize = files.iter().map(|s| cost(&s.path, &s.content)).sum();
                assert!(spent <= budget * 4, "{message}: {files:?}");
                assert!(files.iter().all(|s| s.path != "bin.py"));
            }
        }
    }

    #[test]
    fn blocks_and_enclosing_definitions() {
        let text = "class A:\n    x = 1\n\n    def m(\n        self,\n    ):\n        if True:\n            return 1\n\n\ndef f():\n    pass\nTOP = {\n    'a': 1,\n}\n";
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            block_end(&lines, 4),
            8,
            "a signature over lines, then the body"
        );
        assert_eq!(block_end(&lines, 1), 8);
        assert_eq!(
            block_end(&lines, 13),
            15,
            "an assignment until its brackets close"
        );
        assert_eq!(enclosing_definition(&lines, 8), Some(4));
        assert_eq!(enclosing_definition(&lines, 2), Some(1));
        assert_eq!(enclosing_definition(&lines, 12), Some(11));
        assert_eq!(enclosing_definition(&lines, 14), None);
        assert_eq!(
            definitions(text)
                .iter()
                .map(|d| (d.name.as_str(), d.top_level))
                .collect::<Vec<_>>(),
            [("A", true), ("m", false), ("f", true), ("TOP", true)]
        );
    }

    #[test]
    fn excerpt_marks_gaps_with_real_line_numbers() {
        let text = (1..=30).fold(String::new(), |mut s, i| {
            let _ = writeln!(s, "line {i}");
            s
        });
        let anchors: BTreeSet<usize> = [10, 12, 25].into_iter().collect();
        assert_eq!(
            excerpt(&text, &anchors, 1),
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
        let all: BTreeSet<usize> = [3].into_iter().collect();
        assert_eq!(excerpt("a\nb\nc\nd\n", &all, 10), "a\nb\nc\nd\n");
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
