//! Changes selfheal refuses to make, whatever the model says.
//!
//! A fix that makes CI green by weakening the tests hides the failure instead
//! of repairing it. These rules compare each test file before and after the
//! change: fewer assertions, fewer tests, new skip, ignore, `.only` or
//! expected-failure markers, failures swallowed (`try`/`except`,
//! `catch_unwind`, `recover()`), looser `pytest.approx` tolerances, test
//! files deleted or renamed where the runner no longer finds them, and test
//! selection narrowed in pytest's configuration. Each refusal is one line that
//! goes back to the model.
//!
//! Beyond tests, a [`Policy`] keeps the change small and away from files a
//! repair has no business touching (CI definitions, lock files, vendored code,
//! secrets).
//!
//! Changing a test at all (what an assertion expects, a fixture it asks for)
//! is not decided here: it needs the model to say why the test itself is
//! wrong and the user's consent, which the loop asks for. [`consent_needed`]
//! lists the changes that need it; a new test file does not.
//!
//! The rules count tokens per language rather than parse code, so they are
//! cheap and hold for every language selfheal validates; a determined model
//! can still get around them, which is why the user approves every diff.

use selfheal_patch::{ChangeSet, FileChange};

/// What a repair may change. [`Policy::default`] is what `selfheal` enforces
/// unless told otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The user consented beforehand (`--allow-test-edits`) to changes to
    /// tests that the model says are wrong. Weakening a test is refused
    /// either way.
    pub allow_test_edits: bool,
    /// Globs of paths the change may not touch, matched against the
    /// normalised path, ASCII case-insensitively. As in `.gitignore`, a
    /// pattern without `/` matches the file name at any depth; `*` and `?`
    /// stay within one path segment and `**` spans any number of them.
    pub denied_paths: Vec<String>,
    /// When not empty, every path the change touches must match one of
    /// these globs (same syntax as [`Self::denied_paths`], which still apply).
    pub allowed_paths: Vec<String>,
    /// The most files one change may touch.
    pub max_files: usize,
    /// The most lines one change may insert and delete together.
    pub max_changed_lines: usize,
    /// Let a change declare a dependency the project's manifests did not
    /// (`requirements*.txt`, `pyproject.toml`, `package.json`, `Cargo.toml`,
    /// `go.mod`, `pom.xml`, `build.gradle*`). Raising a version is not a new dependency.
    pub allow_new_dependencies: bool,
}

impl Default for Policy {
    fn default() -> Self {
        let denied = [
            ".github/**",
            ".gitlab-ci.yml",
            ".circleci/**",
            "Jenkinsfile",
            "**/*.lock",
            "Cargo.lock",
            "package-lock.json",
            "yarn.lock",
            "poetry.lock",
            "go.sum",
            "vendor/**",
            "node_modules/**",
            "third_party/**",
            ".env*",
            "**/*.pem",
            "**/*.key",
            "**/id_rsa*",
            "**/.npmrc",
            "**/.pypirc",
        ];
        Self {
            allow_test_edits: false,
            denied_paths: denied.iter().map(|&g| g.to_owned()).collect(),
            allowed_paths: Vec::new(),
            max_files: 10,
            max_changed_lines: 400,
            allow_new_dependencies: false,
        }
    }
}

/// One change to a test file, as [`test_edits`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestEdit {
    /// The normalised path of the test file.
    pub path: String,
    pub kind: TestEditKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestEditKind {
    /// A new test file.
    Added,
    /// The file was emptied or removed.
    Deleted,
    /// Its content moved to `to`, a path the test runner does not collect.
    RenamedAway { to: String },
    /// An assertion line changed into another: what the test expects.
    ExpectationChanged { before: String, after: String },
    /// Any other change.
    Modified,
}

/// `Err(reason)` when the change breaks [`Policy::default`].
pub fn check(change: &ChangeSet) -> Result<(), String> {
    check_with(change, &Policy::default())
}

/// `Err(reason)` for the first rule of `policy` the change breaks: its size,
/// a denied path, then each test file's rules in the change's order.
pub fn check_with(change: &ChangeSet, policy: &Policy) -> Result<(), String> {
    let files = normalised(change);
    if files.len() > policy.max_files {
        return Err(format!(
            "refused: the change touches {} files, more than the {} allowed; make a smaller fix",
            files.len(),
            policy.max_files
        ));
    }
    let stat = change.stat();
    let lines = stat.insertions + stat.deletions;
    if lines > policy.max_changed_lines {
        return Err(format!(
            "refused: the change inserts and deletes {lines} lines, more than the {} allowed; make a smaller fix",
            policy.max_changed_lines
        ));
    }
    for file in &files {
        if let Some(glob) = policy
            .denied_paths
            .iter()
            .find(|glob| glob_matches(glob, &file.path))
        {
            return Err(format!(
                "refused: the change touches {}, which a repair may not edit (denied by {glob})",
                file.path
            ));
        }
        if !policy.allowed_paths.is_empty()
            && !policy
                .allowed_paths
                .iter()
                .any(|glob| glob_matches(glob, &file.path))
        {
            return Err(format!(
                "refused: the change touches {}, outside the paths a repair may edit ({})",
                file.path,
                policy.allowed_paths.join(", ")
            ));
        }
        if !policy.allow_new_dependencies {
            let new = crate::manifests::added(&file.path, file.before, file.after);
            if !new.is_empty() {
                return Err(format!(
                    "refused: the change adds the dependency {} to {}; fix the code with what the project already uses (new dependencies need [policy] allow_new_dependencies)",
                    new.join(", "),
                    file.path
                ));
            }
        }
    }
    for file in &files {
        if let Some(reason) = narrowed_test_selection(file) {
            return Err(reason);
        }
        if is_test_file(&file.path) {
            check_test_file(file, &files)?;
        } else if lang(&file.path) == Lang::Rust
            && let Some(before) = file.before.and_then(rust_test_module)
        {
            // Rust keeps unit tests beside the code, in files no name marks:
            // the rules look at the test module only, so the code above it
            // may drop its own `assert!`s.
            let tests = File {
                path: file.path.clone(),
                before: Some(before),
                after: rust_test_module(file.after).unwrap_or(""),
            };
            check_test_file(&tests, &[])?;
        }
    }
    Ok(())
}

/// The changes to tests that need the model's reason and the user's consent:
/// every [`test_edits`] entry but a new test file, which adds checks and
/// hides nothing.
pub fn consent_needed(change: &ChangeSet) -> Vec<TestEdit> {
    test_edits(change)
        .into_iter()
        .filter(|e| e.kind != TestEditKind::Added)
        .collect()
}

impl std::fmt::Display for TestEdit {
    /// One line naming the file and what changed in it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = &self.path;
        match &self.kind {
            TestEditKind::Added => write!(f, "{path}: new test file"),
            TestEditKind::Deleted => write!(f, "{path}: deleted"),
            TestEditKind::RenamedAway { to } => write!(f, "{path}: moved to {to}"),
            TestEditKind::ExpectationChanged { before, after } => {
                write!(f, "{path}: `{before}` became `{after}`")
            }
            TestEditKind::Modified => write!(f, "{path}: changed (no assertion changed)"),
        }
    }
}

/// Every change to a test file, in the change's order: one entry per file,
/// except that a file whose assertions changed gets one
/// [`TestEditKind::ExpectationChanged`] per changed assertion line.
pub fn test_edits(change: &ChangeSet) -> Vec<TestEdit> {
    let files = normalised(change);
    let mut edits = Vec::new();
    for file in files.iter().filter(|f| is_test_file(&f.path)) {
        let edit = |kind| TestEdit {
            path: file.path.clone(),
            kind,
        };
        let Some(before) = file.before else {
            edits.push(edit(TestEditKind::Added));
            continue;
        };
        if is_emptied(file) {
            match renamed_to(file, &files) {
                Some(to) => edits.push(edit(TestEditKind::RenamedAway { to })),
                None => edits.push(edit(TestEditKind::Deleted)),
            }
            continue;
        }
        let changed = changed_assertions(&file.path, before, file.after);
        if changed.is_empty() {
            edits.push(edit(TestEditKind::Modified));
        }
        edits.extend(
            changed
                .into_iter()
                .map(|(before, after)| edit(TestEditKind::ExpectationChanged { before, after })),
        );
    }
    edits
}

/// Whether `path` holds tests, by the naming conventions of the ecosystems selfheal knows.
pub fn is_test_file(path: &str) -> bool {
    let path = normalise_path(path);
    let name = path.rsplit('/').next().unwrap_or(&path);
    let in_test_dir = path
        .split('/')
        .any(|segment| matches!(segment, "tests" | "test" | "__tests__" | "spec" | "testing"));
    in_test_dir
        || name.starts_with("test_")
        || name.ends_with("_test.py")
        || name.ends_with("_test.go")
        || name.ends_with("_test.rs")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.ends_with("Test.java")
        || name.ends_with("Tests.java")
        || name.ends_with("Test.kt")
        || name.ends_with("Tests.kt")
        || name == "conftest.py"
}

/// A path as a relative, `/`-separated path: backslashes turned, a leading
/// `/` and `./` segments dropped, `..` resolved. A `..` above the root is
/// dropped too, so `../.github/x` still meets the rule for `.github/**`
/// (the patch crate refuses such paths before they get here).
pub fn normalise_path(path: &str) -> String {
    let path = path.trim().replace('\\', "/");
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

/// A [`FileChange`] with its path normalised.
struct File<'a> {
    path: String,
    before: Option<&'a str>,
    after: &'a str,
}

fn normalised(change: &ChangeSet) -> Vec<File<'_>> {
    change
        .files
        .iter()
        .map(|f: &FileChange| File {
            path: normalise_path(&f.path),
            before: f.before.as_deref(),
            after: &f.after,
        })
        .collect()
}

fn is_emptied(file: &File) -> bool {
    file.before.is_some_and(|b| !b.trim().is_empty()) && file.after.trim().is_empty()
}

/// The new file in `files` that took the emptied `file`'s content, if any.
fn renamed_to(file: &File, files: &[File]) -> Option<String> {
    let before = file.before?.trim();
    files
        .iter()
        .find(|f| f.before.is_none() && f.after.trim() == before)
        .map(|f| f.path.clone())
}

/// The languages whose test idioms the rules know.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Python,
    Rust,
    Go,
    Js,
    Jvm,
    /// Anything else: the union of every language's tokens.
    Other,
}

fn lang(path: &str) -> Lang {
    let ext = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    match ext {
        "py" => Lang::Python,
        "rs" => Lang::Rust,
        "go" => Lang::Go,
        "js" | "jsx" | "ts" | "tsx" | "mjs" | "cjs" | "mts" | "cts" => Lang::Js,
        "java" | "kt" | "kts" => Lang::Jvm,
        _ => Lang::Other,
    }
}

/// One language's test idioms.
struct Idioms {
    /// Tokens that assert something.
    assertions: &'static [&'static str],
    /// Line starts that define a test.
    tests: &'static [&'static str],
    /// Tokens that skip a test or expect it to fail.
    skips: &'static [&'static str],
    /// Assertions that cannot fail.
    trivial: &'static [&'static str],
    /// Line starts or tokens that catch the failure a test would report.
    swallows: &'static [&'static str],
}

const PYTHON: Idioms = Idioms {
    // `assert` also counts assertEqual, assertRaises, assert_called_with ...
    assertions: &["assert", "pytest.raises", "self.fail(", "pytest.fail("],
    tests: &["def test", "async def test"],
    skips: &[
        "pytest.mark.skip",
        "pytest.mark.xfail",
        "pytest.skip(",
        "pytest.xfail(",
        "pytest.importorskip(",
        "unittest.skip",
        "unittest.expectedFailure",
        "self.skipTest(",
        "raise SkipTest",
    ],
    trivial: &[
        "assert True",
        "assert 1\n",
        "assertTrue(True)",
        "assert not False",
    ],
    swallows: &[
        "except:",
        "except Exception",
        "except BaseException",
        "except AssertionError",
        "suppress(Exception",
        "suppress(AssertionError",
        "suppress(BaseException",
    ],
};

const RUST: Idioms = Idioms {
    // `assert` counts assert!, assert_eq!, assert_ne!, debug_assert! and
    // assert_matches!.
    assertions: &["assert", "panic!(", "unreachable!("],
    tests: &["#[test]", "#[tokio::test"],
    skips: &["#[ignore"],
    trivial: &[
        "assert!(true)",
        "assert_eq!(1, 1)",
        "assert_eq!(true, true)",
    ],
    swallows: &["catch_unwind"],
};

const GO: Idioms = Idioms {
    // `assert` counts testify's assert.*, `require.` its require.*.
    assertions: &["t.Error", "t.Fatal", "t.Fail", "require.", "assert"],
    tests: &["func Test"],
    skips: &["t.Skip", "b.Skip"],
    trivial: &["assert.True(t, true)", "require.True(t, true)"],
    swallows: &["recover()"],
};

const JS: Idioms = Idioms {
    assertions: &["expect(", "assert"],
    // Skipped and focused tests still count as tests, so that the skip
    // rule, not this one, names what the change did.
    tests: &[
        "it(",
        "test(",
        "it.each",
        "test.each",
        "it.skip(",
        "test.skip(",
        "it.only(",
        "test.only(",
        "xit(",
        "xtest(",
    ],
    skips: &[
        ".skip(",
        ".skip`",
        "xit(",
        "xtest(",
        "xdescribe(",
        "test.todo",
        "it.todo",
        ".failing(",
    ],
    trivial: &[
        "expect(true).toBe(true)",
        "expect(1).toBe(1)",
        "assert(true)",
        "assert.ok(true)",
    ],
    swallows: &[],
};

const JVM: Idioms = Idioms {
    // `assert` counts assertEquals, assertThat, assertThrows, Kotlin's assert ...
    assertions: &["assert", "fail("],
    tests: &["@Test", "@ParameterizedTest"],
    skips: &[
        "@Disabled",
        "@Ignore",
        "assumeTrue(false",
        "Assumptions.abort(",
    ],
    trivial: &["assertTrue(true)", "assertEquals(1, 1)"],
    swallows: &[],
};

const OTHER: Idioms = Idioms {
    assertions: &[
        "assert",
        "expect(",
        "pytest.raises",
        "self.fail(",
        "t.Error",
        "t.Fatal",
        "panic!(",
    ],
    tests: &[
        "def test",
        "async def test",
        "#[test]",
        "#[tokio::test]",
        "func Test",
        "it(",
        "test(",
        "@Test",
    ],
    skips: &[
        "pytest.mark.skip",
        "pytest.mark.xfail",
        "pytest.skip(",
        "pytest.xfail(",
        "unittest.skip",
        "unittest.expectedFailure",
        "#[ignore",
        "t.Skip",
        ".skip(",
        "xit(",
        "xdescribe(",
        "@Disabled",
        "@Ignore",
    ],
    trivial: &[
        "assert True",
        "assert 1\n",
        "assertTrue(True)",
        "expect(true).toBe(true)",
    ],
    swallows: &[],
};

fn idioms(lang: Lang) -> &'static Idioms {
    match lang {
        Lang::Python => &PYTHON,
        Lang::Rust => &RUST,
        Lang::Go => &GO,
        Lang::Js => &JS,
        Lang::Jvm => &JVM,
        Lang::Other => &OTHER,
    }
}

/// A Rust file from its `#[cfg(test)]` module on.
fn rust_test_module(text: &str) -> Option<&str> {
    text.find("#[cfg(test)]").map(|i| &text[i..])
}

fn check_test_file(file: &File, files: &[File]) -> Result<(), String> {
    let path = &file.path;
    let Some(before) = file.before else {
        // A new test file weakens nothing; it can still skip others (`.only`).
        return check_only(path, "", file.after);
    };
    let after = file.after;
    if is_emptied(file) {
        if is_test_file(path) {
            return Err(match renamed_to(file, files) {
                Some(to) if !is_test_file(&to) => format!(
                    "refused: the change renames test file {path} to {to}, where the test runner does not find it; fix the code, not the test"
                ),
                // Moved to another test file: the tests still run there.
                Some(_) => return Ok(()),
                None => format!(
                    "refused: the change deletes test file {path}; fix the code, not the test"
                ),
            });
        }
        return Err(format!(
            "refused: the change deletes the tests in {path}; fix the code, not the test"
        ));
    }
    let lang = lang(path);
    let idioms = idioms(lang);
    let (b, a) = (
        count(before, idioms.assertions),
        count(after, idioms.assertions),
    );
    if a < b {
        return Err(format!(
            "refused: the change removes assertions from {path} ({b} before, {a} after); fix the code, not the test"
        ));
    }
    let (tests_before, tests_after) = (
        count_starts(before, idioms.tests),
        count_starts(after, idioms.tests),
    );
    if tests_after < tests_before {
        return Err(format!(
            "refused: the change removes tests from {path} ({tests_before} before, {tests_after} after)"
        ));
    }
    if count(after, idioms.skips) > count(before, idioms.skips) {
        return Err(format!("refused: the change skips a test in {path}"));
    }
    if count(after, idioms.trivial) > count(before, idioms.trivial) {
        return Err(format!(
            "refused: the change adds an assertion that cannot fail to {path}"
        ));
    }
    if count(after, idioms.swallows) > count(before, idioms.swallows) {
        let how = match lang {
            Lang::Rust => "catch_unwind",
            Lang::Go => "recover()",
            _ => "try/except",
        };
        return Err(format!(
            "refused: the change catches the failure in {path} with {how}, so the test cannot fail; fix the code, not the test"
        ));
    }
    if lang == Lang::Rust {
        let new_tests = tests_after - tests_before;
        let (b, a) = (
            count(before, &["#[should_panic"]),
            count(after, &["#[should_panic"]),
        );
        if a > b + new_tests {
            return Err(format!(
                "refused: the change marks an existing test in {path} #[should_panic], so it passes by failing"
            ));
        }
    }
    if lang == Lang::Python {
        check_approx(path, before, after)?;
    }
    check_only(path, before, after)
}

/// `.only(` runs one test and silently skips every other one in the file.
fn check_only(path: &str, before: &str, after: &str) -> Result<(), String> {
    if !matches!(lang(path), Lang::Js | Lang::Other) {
        return Ok(());
    }
    let focused =
        |text: &str| count(text, &[".only("]) + count_starts(text, &["fit(", "fdescribe("]);
    if focused(after) > focused(before) {
        return Err(format!(
            "refused: the change adds .only to {path}, which silently skips every other test"
        ));
    }
    Ok(())
}

/// A new `pytest.approx` around an expected value, or a wider tolerance.
fn check_approx(path: &str, before: &str, after: &str) -> Result<(), String> {
    let wrapped = changed_assertions(path, before, after)
        .iter()
        .any(|(b, a)| a.contains("approx(") && !b.contains("approx("));
    if wrapped {
        return Err(format!(
            "refused: the change wraps an expected value in {path} in pytest.approx, so a wrong result can pass"
        ));
    }
    for key in ["rel=", "abs="] {
        let (b, a) = (tolerances(before, key), tolerances(after, key));
        let wider = a.len() > b.len() || a.iter().zip(&b).any(|(a, b)| a > b);
        if wider {
            return Err(format!(
                "refused: the change loosens a pytest.approx tolerance ({key}) in {path}, so a wrong result can pass"
            ));
        }
    }
    Ok(())
}

/// The numbers after `key` on lines that call `approx(`, in order. A value
/// that is not a literal counts as infinite, so it is never "wider" than
/// itself but is wider than any literal it replaces.
fn tolerances(text: &str, key: &str) -> Vec<f64> {
    code_lines(text)
        .filter(|line| line.contains("approx("))
        .flat_map(|line| line.match_indices(key).map(|(i, _)| &line[i + key.len()..]))
        .map(|rest| {
            let rest = rest.trim_start();
            let end = rest
                .find(|c: char| {
                    !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+' | '_'))
                })
                .unwrap_or(rest.len());
            rest[..end]
                .replace('_', "")
                .parse()
                .unwrap_or(f64::INFINITY)
        })
        .collect()
}

/// A change to pytest's configuration that runs fewer tests: `-k`,
/// `--deselect`, `-m not ...`, `--ignore`, `collect_ignore`, or a collection
/// hook, added to `conftest.py`, `pytest.ini`, or the pytest section of
/// `pyproject.toml`, `setup.cfg` or `tox.ini`.
fn narrowed_test_selection(file: &File) -> Option<String> {
    let name = file.path.rsplit('/').next().unwrap_or(&file.path);
    let section = match name {
        "conftest.py" | "pytest.ini" => None,
        "pyproject.toml" => Some("[tool.pytest.ini_options]"),
        "setup.cfg" => Some("[tool:pytest]"),
        "tox.ini" => Some("[pytest]"),
        _ => return None,
    };
    let relevant = |text: &str| match section {
        None => text.to_owned(),
        Some(header) => ini_section(text, header),
    };
    let before = relevant(file.before.unwrap_or(""));
    let after = relevant(file.after);
    let (b, a) = (deselections(&before), deselections(&after));
    (a > b).then(|| {
        format!(
            "refused: the change narrows which tests run in {} (-k, --deselect, -m not, --ignore or collect_ignore); fix the code, not the test selection",
            file.path
        )
    })
}

/// The lines of `text`'s `header` section, up to the next section.
fn ini_section(text: &str, header: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t == header;
            continue;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// How many test deselections `text` holds.
fn deselections(text: &str) -> usize {
    let words: Vec<&str> = code_lines(text)
        .flat_map(|line| {
            line.split(|c: char| c.is_whitespace() || "\"'=,[](){}".contains(c))
                .filter(|w| !w.is_empty())
        })
        .collect();
    words
        .iter()
        .enumerate()
        .filter(|(i, w)| match **w {
            "-k"
            | "--deselect"
            | "--ignore"
            | "--ignore-glob"
            | "collect_ignore"
            | "collect_ignore_glob"
            | "pytest_collection_modifyitems" => true,
            "-m" => words.get(i + 1).is_some_and(|next| *next == "not"),
            _ => false,
        })
        .count()
}

/// Pairs of (before, after) assertion lines where one assertion line was
/// replaced by another. Lines are compared as multisets, so moving code
/// around is not an edit; removed and added assertion lines are paired in order.
fn changed_assertions(path: &str, before: &str, after: &str) -> Vec<(String, String)> {
    let assertions = idioms(lang(path)).assertions;
    let lines = |text: &str| -> Vec<String> {
        code_lines(text)
            .map(str::trim)
            .filter(|l| assertions.iter().any(|tok| l.contains(tok)))
            .map(str::to_owned)
            .collect()
    };
    let (b, a) = (lines(before), lines(after));
    let mut removed = b.clone();
    let mut added = Vec::new();
    for line in a {
        if let Some(i) = removed.iter().position(|r| *r == line) {
            removed.remove(i);
        } else {
            added.push(line);
        }
    }
    removed.into_iter().zip(added).collect()
}

/// Whether `glob` matches the normalised `path`; see [`Policy::denied_paths`].
fn glob_matches(glob: &str, path: &str) -> bool {
    let glob = glob.to_ascii_lowercase();
    let path = path.to_ascii_lowercase();
    if !glob.contains('/') {
        let name = path.rsplit('/').next().unwrap_or(&path);
        return segment_matches(glob.as_bytes(), name.as_bytes());
    }
    let glob: Vec<&str> = glob.trim_start_matches('/').split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    segments_match(&glob, &path)
}

fn segments_match(glob: &[&str], path: &[&str]) -> bool {
    match glob.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| segments_match(rest, &path[skip..])),
        Some((first, rest)) => path.split_first().is_some_and(|(p, path_rest)| {
            segment_matches(first.as_bytes(), p.as_bytes()) && segments_match(rest, path_rest)
        }),
    }
}

/// `*` and `?` wildcards within one segment.
fn segment_matches(glob: &[u8], name: &[u8]) -> bool {
    match glob.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| segment_matches(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && segment_matches(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && segment_matches(rest, &name[1..]),
    }
}

/// Occurrences of any of `tokens` outside comment lines.
fn count(text: &str, tokens: &[&str]) -> usize {
    code_lines(text)
        .map(|line| {
            tokens
                .iter()
                .map(|tok| line.matches(tok).count())
                .sum::<usize>()
        })
        .sum()
}

/// Code lines that start (after indentation) with one of `tokens`.
fn count_starts(text: &str, tokens: &[&str]) -> usize {
    code_lines(text)
        .filter(|line| tokens.iter().any(|tok| line.trim_start().starts_with(tok)))
        .count()
}

/// Lines that are not comments (`#[...]` attributes are code).
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n').filter(|line| {
        let t = line.trim_start();
        (!t.starts_with('#') || t.starts_with("#[") || t.starts_with("#!["))
            && !t.starts_with("//")
            && !t.starts_with("/*")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, before: &str, after: &str) -> ChangeSet {
        ChangeSet {
            files: vec![FileChange {
                path: path.into(),
                before: Some(before.into()),
                after: after.into(),
            }],
        }
    }

    fn new_file(path: &str, after: &str) -> FileChange {
        FileChange {
            path: path.into(),
            before: None,
            after: after.into(),
        }
    }

    const TEST: &str = "def test_add():\n    assert add(1, 2) == 3\n\ndef test_sub():\n    assert sub(3, 2) == 1\n";

    #[test]
    fn fixing_an_expectation_is_allowed() {
        let after = TEST.replace("== 3", "== 4");
        assert_eq!(check(&change("tests/test_calc.py", TEST, &after)), Ok(()));
    }

    #[test]
    fn removing_an_assertion_is_refused() {
        let after = TEST.replace("    assert add(1, 2) == 3\n", "    add(1, 2)\n");
        let err = check(&change("tests/test_calc.py", TEST, &after)).expect_err("weakens");
        assert!(err.contains("removes assertions"), "{err}");
    }

    #[test]
    fn commenting_out_an_assertion_is_refused() {
        let after = TEST.replace("    assert add", "    # assert add");
        assert!(check(&change("tests/test_calc.py", TEST, &after)).is_err());
    }

    #[test]
    fn skipping_a_test_is_refused() {
        let after = format!("import pytest\n\n@pytest.mark.skip\n{TEST}");
        let err = check(&change("tests/test_calc.py", TEST, &after)).expect_err("skips");
        assert!(err.contains("skips"), "{err}");
    }

    #[test]
    fn deleting_a_test_is_refused() {
        let after = "def test_add():\n    assert add(1, 2) == 3\n    assert sub(3, 2) == 1\n";
        let err = check(&change("tests/test_calc.py", TEST, after)).expect_err("removes");
        assert!(err.contains("removes tests"), "{err}");
    }

    #[test]
    fn trivial_assertions_are_refused() {
        let after = TEST.replace("assert add(1, 2) == 3", "assert True");
        assert!(check(&change("tests/test_calc.py", TEST, &after)).is_err());
    }

    #[test]
    fn source_files_are_not_policed() {
        let before = "def f():\n    assert x\n";
        assert_eq!(
            check(&change("src/calc.py", before, "def f():\n    pass\n")),
            Ok(())
        );
    }

    #[test]
    fn test_files_are_recognised_across_ecosystems() {
        for path in [
            "tests/a.py",
            "pkg/test_a.py",
            "a_test.go",
            "src/a.test.ts",
            "src/test/java/ATest.java",
            "app/src/test/kotlin/CartTest.kt",
            "conftest.py",
            "./tests/a.py",
            "/pkg/test_a.py",
        ] {
            assert!(is_test_file(path), "{path}");
        }
        for path in ["src/calc.py", "src/contest.py", "latest.go"] {
            assert!(!is_test_file(path), "{path}");
        }
    }

    #[test]
    fn paths_are_normalised() {
        assert_eq!(normalise_path("./a/./b/../c.py"), "a/c.py");
        assert_eq!(
            normalise_path("/.github//workflows/ci.yml"),
            ".github/workflows/ci.yml"
        );
        assert_eq!(normalise_path("../../.env"), ".env");
        assert_eq!(normalise_path("src\\lib.rs"), "src/lib.rs");
    }

    #[test]
    fn globs_match_like_gitignore() {
        for (glob, path) in [
            (".github/**", ".github/workflows/ci.yml"),
            ("**/*.lock", "Cargo.lock"),
            ("**/*.lock", "web/yarn.lock"),
            ("Cargo.lock", "crates/a/Cargo.lock"),
            (".env*", "services/api/.env.production"),
            ("**/id_rsa*", "deploy/id_rsa.pub"),
            ("vendor/**", "vendor/github.com/x/y.go"),
            ("**/*.pem", "CERT.PEM"),
        ] {
            assert!(glob_matches(glob, path), "{glob} {path}");
        }
        for (glob, path) in [
            (".github/**", "docs/.github.md"),
            ("vendor/**", "src/vendor.rs"),
            ("**/*.key", "src/keys.rs"),
            (".env*", "src/environment.py"),
        ] {
            assert!(!glob_matches(glob, path), "{glob} {path}");
        }
    }

    #[test]
    fn denied_paths_are_refused_after_normalising() {
        let err = check(&change(
            "./.github/workflows/ci.yml",
            "on: push\n",
            "on: pull_request\n",
        ));
        assert_eq!(
            err,
            Err("refused: the change touches .github/workflows/ci.yml, which a repair may not edit (denied by .github/**)".to_owned())
        );
        let err = check(&change("/go.sum", "a\n", "b\n"));
        assert_eq!(
            err,
            Err("refused: the change touches go.sum, which a repair may not edit (denied by go.sum)".to_owned())
        );
    }

    #[test]
    fn too_many_files_are_refused() {
        let files = (0..11)
            .map(|i| new_file(&format!("src/m{i}.py"), "x = 1\n"))
            .collect();
        assert_eq!(
            check(&ChangeSet { files }),
            Err("refused: the change touches 11 files, more than the 10 allowed; make a smaller fix".to_owned())
        );
        let files = (0..10)
            .map(|i| new_file(&format!("src/m{i}.py"), "x = 1\n"))
            .collect();
        assert_eq!(check(&ChangeSet { files }), Ok(()));
    }

    #[test]
    fn too_many_lines_are_refused() {
        let big = "x = 1\n".repeat(401);
        assert_eq!(
            check(&ChangeSet { files: vec![new_file("src/big.py", &big)] }),
            Err("refused: the change inserts and deletes 401 lines, more than the 400 allowed; make a smaller fix".to_owned())
        );
        let ok = "x = 1\n".repeat(400);
        assert_eq!(
            check(&ChangeSet {
                files: vec![new_file("src/big.py", &ok)]
            }),
            Ok(())
        );
    }

    const RUST: &str = "#[test]\nfn adds() {\n    assert_eq!(add(1, 2), 3);\n}\n\n#[test]\nfn subs() {\n    assert_ne!(sub(3, 2), 0);\n}\n";

    #[test]
    fn rust_weakenings_are_refused() {
        let path = "tests/calc.rs";
        let cases = [
            (
                RUST.replacen("#[test]\n", "#[test]\n#[ignore]\n", 1),
                "refused: the change skips a test in tests/calc.rs",
            ),
            (
                RUST.replacen("#[test]\n", "", 1),
                "refused: the change removes tests from tests/calc.rs (2 before, 1 after)",
            ),
            (
                RUST.replace("    assert_ne!(sub(3, 2), 0);\n", ""),
                "refused: the change removes assertions from tests/calc.rs (2 before, 1 after); fix the code, not the test",
            ),
            (
                RUST.replacen("#[test]\n", "#[test]\n#[should_panic]\n", 1),
                "refused: the change marks an existing test in tests/calc.rs #[should_panic], so it passes by failing",
            ),
            (
                RUST.replace(
                    "    assert_eq!(add(1, 2), 3);\n",
                    "    let _ = std::panic::catch_unwind(|| {\n        assert_eq!(add(1, 2), 3);\n    });\n",
                ),
                "refused: the change catches the failure in tests/calc.rs with catch_unwind, so the test cannot fail; fix the code, not the test",
            ),
        ];
        for (after, reason) in cases {
            assert_eq!(
                check(&change(path, RUST, &after)),
                Err(reason.to_owned()),
                "{after}"
            );
        }
    }

    #[test]
    fn a_new_rust_test_may_expect_a_panic() {
        let after = format!(
            "{RUST}\n#[test]\n#[should_panic]\nfn overflows() {{\n    add(u32::MAX, 1);\n}}\n"
        );
        assert_eq!(check(&change("tests/calc.rs", RUST, &after)), Ok(()));
    }

    #[test]
    fn rust_unit_tests_beside_the_code_are_policed_but_the_code_is_not() {
        let before = format!(
            "pub fn f(x: u8) -> u8 {{\n    assert!(x < 9);\n    x\n}}\n\n#[cfg(test)]\nmod tests {{\n{RUST}}}\n"
        );
        let code_only = before.replace("    assert!(x < 9);\n", "");
        assert_eq!(check(&change("src/lib.rs", &before, &code_only)), Ok(()));
        let ignored = before.replacen("#[test]\n", "#[test]\n#[ignore]\n", 1);
        assert_eq!(
            check(&change("src/lib.rs", &before, &ignored)),
            Err("refused: the change skips a test in src/lib.rs".to_owned())
        );
        let dropped = before[..before.find("#[cfg(test)]").expect("module")].to_owned();
        assert_eq!(
            check(&change("src/lib.rs", &before, &dropped)),
            Err(
                "refused: the change deletes the tests in src/lib.rs; fix the code, not the test"
                    .to_owned()
            )
        );
    }

    const GO: &str = "func TestAdd(t *testing.T) {\n\tif add(1, 2) != 3 {\n\t\tt.Errorf(\"add\")\n\t}\n}\n\nfunc TestSub(t *testing.T) {\n\trequire.Equal(t, 1, sub(3, 2))\n}\n";

    #[test]
    fn go_weakenings_are_refused() {
        let path = "calc/calc_test.go";
        let cases = [
            (
                GO.replace(
                    "func TestAdd(t *testing.T) {\n",
                    "func TestAdd(t *testing.T) {\n\tt.Skip(\"flaky\")\n",
                ),
                "refused: the change skips a test in calc/calc_test.go",
            ),
            (
                GO.replace(
                    "func TestAdd(t *testing.T) {\n",
                    "func TestAdd(t *testing.T) {\n\tt.SkipNow()\n",
                ),
                "refused: the change skips a test in calc/calc_test.go",
            ),
            (
                GO.replace("func TestSub", "func testSub"),
                "refused: the change removes tests from calc/calc_test.go (2 before, 1 after)",
            ),
            (
                GO.replace("\trequire.Equal(t, 1, sub(3, 2))\n", "\t_ = sub(3, 2)\n"),
                "refused: the change removes assertions from calc/calc_test.go (2 before, 1 after); fix the code, not the test",
            ),
            (
                GO.replace(
                    "func TestSub(t *testing.T) {\n",
                    "func TestSub(t *testing.T) {\n\tdefer func() { recover() }()\n",
                ),
                "refused: the change catches the failure in calc/calc_test.go with recover(), so the test cannot fail; fix the code, not the test",
            ),
        ];
        for (after, reason) in cases {
            assert_eq!(
                check(&change(path, GO, &after)),
                Err(reason.to_owned()),
                "{after}"
            );
        }
    }

    const JS: &str = "describe('cart', () => {\n  it('adds', () => {\n    expect(add(1, 2)).toBe(3);\n  });\n  test('subs', () => {\n    assert.equal(sub(3, 2), 1);\n  });\n});\n";

    #[test]
    fn js_weakenings_are_refused() {
        let path = "src/cart.test.ts";
        let cases = [
            (
                JS.replace("it('adds'", "it.skip('adds'"),
                "refused: the change skips a test in src/cart.test.ts",
            ),
            (
                JS.replace("it('adds'", "xit('adds'"),
                "refused: the change skips a test in src/cart.test.ts",
            ),
            (
                JS.replace("describe('cart'", "xdescribe('cart'"),
                "refused: the change skips a test in src/cart.test.ts",
            ),
            (
                JS.replace(
                    "  it('adds', () => {\n    expect(add(1, 2)).toBe(3);\n  });\n",
                    "  test.todo('adds');\n",
                ),
                "refused: the change removes assertions from src/cart.test.ts (2 before, 1 after); fix the code, not the test",
            ),
            (
                JS.replace("test('subs'", "test.only('subs'"),
                "refused: the change adds .only to src/cart.test.ts, which silently skips every other test",
            ),
            (
                JS.replace("    expect(add(1, 2)).toBe(3);\n", ""),
                "refused: the change removes assertions from src/cart.test.ts (2 before, 1 after); fix the code, not the test",
            ),
        ];
        for (after, reason) in cases {
            assert_eq!(
                check(&change(path, JS, &after)),
                Err(reason.to_owned()),
                "{after}"
            );
        }
        let todo = format!("{JS}test.todo('multiplies');\n");
        assert_eq!(
            check(&change(path, JS, &todo)),
            Err("refused: the change skips a test in src/cart.test.ts".to_owned())
        );
    }

    const JAVA: &str = "class CartTest {\n    @Test\n    void adds() {\n        assertEquals(3, add(1, 2));\n    }\n\n    @Test\n    void subs() {\n        assertThat(sub(3, 2)).isEqualTo(1);\n    }\n}\n";

    #[test]
    fn jvm_weakenings_are_refused() {
        for path in ["src/test/java/CartTest.java", "src/test/kotlin/CartTest.kt"] {
            let cases = [
                (
                    JAVA.replacen("    @Test\n", "    @Test\n    @Disabled\n", 1),
                    format!("refused: the change skips a test in {path}"),
                ),
                (
                    JAVA.replacen("    @Test\n", "    @Test\n    @Ignore\n", 1),
                    format!("refused: the change skips a test in {path}"),
                ),
                (
                    JAVA.replacen("    @Test\n", "", 1),
                    format!("refused: the change removes tests from {path} (2 before, 1 after)"),
                ),
                (
                    JAVA.replace(
                        "        assertEquals(3, add(1, 2));\n",
                        "        add(1, 2);\n",
                    ),
                    format!(
                        "refused: the change removes assertions from {path} (2 before, 1 after); fix the code, not the test"
                    ),
                ),
            ];
            for (after, reason) in cases {
                assert_eq!(check(&change(path, JAVA, &after)), Err(reason), "{after}");
            }
        }
    }

    const APPROX: &str = "import pytest\n\ndef test_rate():\n    assert rate() == pytest.approx(0.1, rel=1e-6)\n\ndef test_total():\n    assert total() == 648.0\n";

    #[test]
    fn python_subtler_weakenings_are_refused() {
        let path = "tests/test_money.py";
        let cases = [
            (
                APPROX.replace("rel=1e-6", "rel=0.5"),
                "refused: the change loosens a pytest.approx tolerance (rel=) in tests/test_money.py, so a wrong result can pass",
            ),
            (
                APPROX.replace("rel=1e-6)", "rel=1e-6, abs=10)"),
                "refused: the change loosens a pytest.approx tolerance (abs=) in tests/test_money.py, so a wrong result can pass",
            ),
            (
                APPROX.replace("== 648.0", "== pytest.approx(648.0)"),
                "refused: the change wraps an expected value in tests/test_money.py in pytest.approx, so a wrong result can pass",
            ),
            (
                APPROX.replace(
                    "    assert total() == 648.0\n",
                    "    try:\n        assert total() == 648.0\n    except Exception:\n        pass\n",
                ),
                "refused: the change catches the failure in tests/test_money.py with try/except, so the test cannot fail; fix the code, not the test",
            ),
            (
                APPROX.replace(
                    "    assert total() == 648.0\n",
                    "    try:\n        assert total() == 648.0\n    except:\n        pass\n",
                ),
                "refused: the change catches the failure in tests/test_money.py with try/except, so the test cannot fail; fix the code, not the test",
            ),
            (
                APPROX.replace("def test_total():\n", "def test_total():\n    pytest.skip(\"later\")\n"),
                "refused: the change skips a test in tests/test_money.py",
            ),
            (
                APPROX.replace("def test_total():\n", "@unittest.skip(\"later\")\ndef test_total():\n"),
                "refused: the change skips a test in tests/test_money.py",
            ),
        ];
        for (after, reason) in cases {
            assert_eq!(
                check(&change(path, APPROX, &after)),
                Err(reason.to_owned()),
                "{after}"
            );
        }
        let tighter = APPROX.replace("rel=1e-6", "rel=1e-9");
        assert_eq!(check(&change(path, APPROX, &tighter)), Ok(()));
        let new_test =
            format!("{APPROX}\ndef test_tax():\n    assert tax() == pytest.approx(0.2)\n");
        assert_eq!(check(&change(path, APPROX, &new_test)), Ok(()));
    }

    #[test]
    fn narrowing_pytest_selection_is_refused() {
        let cases = [
            (
                "pytest.ini",
                "[pytest]\npythonpath = .\n",
                "[pytest]\npythonpath = .\naddopts = -k \"not test_total\"\n",
            ),
            (
                "pytest.ini",
                "[pytest]\n",
                "[pytest]\naddopts = --deselect tests/test_a.py::test_b\n",
            ),
            (
                "pyproject.toml",
                "[tool.pytest.ini_options]\naddopts = \"-q\"\n",
                "[tool.pytest.ini_options]\naddopts = \"-q -m 'not slow'\"\n",
            ),
            (
                "tests/conftest.py",
                "import pytest\n",
                "import pytest\n\ncollect_ignore = [\"test_money.py\"]\n",
            ),
        ];
        for (path, before, after) in cases {
            assert_eq!(
                check(&change(path, before, after)),
                Err(format!(
                    "refused: the change narrows which tests run in {path} (-k, --deselect, -m not, --ignore or collect_ignore); fix the code, not the test selection"
                )),
                "{after}"
            );
        }
        // Outside pytest's section, the same words are someone else's business.
        let other = (
            "[tool.ruff]\nselect = [\"E\"]\n",
            "[tool.ruff]\nselect = [\"E\"]\nextend-ignore = [\"-k\"]\n",
        );
        assert_eq!(check(&change("pyproject.toml", other.0, other.1)), Ok(()));
    }

    #[test]
    fn deleting_or_renaming_away_a_test_file_is_refused() {
        assert_eq!(
            check(&change("src/cart.test.js", JS, "")),
            Err("refused: the change deletes test file src/cart.test.js; fix the code, not the test".to_owned())
        );
        let renamed = ChangeSet {
            files: vec![
                FileChange {
                    path: "calc/calc_test.go".into(),
                    before: Some(GO.into()),
                    after: String::new(),
                },
                new_file("calc/calc_check.go", GO),
            ],
        };
        assert_eq!(
            check(&renamed),
            Err("refused: the change renames test file calc/calc_test.go to calc/calc_check.go, where the test runner does not find it; fix the code, not the test".to_owned())
        );
        let moved = ChangeSet {
            files: vec![
                FileChange {
                    path: "tests/test_calc.py".into(),
                    before: Some(TEST.into()),
                    after: String::new(),
                },
                new_file("tests/unit/test_calc.py", TEST),
            ],
        };
        assert_eq!(check(&moved), Ok(()));
    }

    #[test]
    fn test_edits_lists_every_test_change() {
        let files = vec![
            FileChange {
                path: "./tests/test_calc.py".into(),
                before: Some(TEST.into()),
                after: TEST.replace("== 3", "== 4"),
            },
            FileChange {
                path: "calc/calc_test.go".into(),
                before: Some(GO.into()),
                after: String::new(),
            },
            new_file("calc/calc_check.go", GO),
            FileChange {
                path: "src/cart.test.js".into(),
                before: Some(JS.into()),
                after: String::new(),
            },
            new_file("tests/test_new.py", TEST),
            FileChange {
                path: "tests/test_other.py".into(),
                before: Some(TEST.into()),
                after: format!("import os\n{TEST}"),
            },
            FileChange {
                path: "calc/ops.py".into(),
                before: Some("x\n".into()),
                after: "y\n".into(),
            },
        ];
        assert_eq!(
            test_edits(&ChangeSet { files }),
            vec![
                TestEdit {
                    path: "tests/test_calc.py".into(),
                    kind: TestEditKind::ExpectationChanged {
                        before: "assert add(1, 2) == 3".into(),
                        after: "assert add(1, 2) == 4".into(),
                    },
                },
                TestEdit {
                    path: "calc/calc_test.go".into(),
                    kind: TestEditKind::RenamedAway {
                        to: "calc/calc_check.go".into()
                    }
                },
                TestEdit {
                    path: "src/cart.test.js".into(),
                    kind: TestEditKind::Deleted
                },
                TestEdit {
                    path: "tests/test_new.py".into(),
                    kind: TestEditKind::Added
                },
                TestEdit {
                    path: "tests/test_other.py".into(),
                    kind: TestEditKind::Modified
                },
            ]
        );
    }

    #[test]
    fn changes_to_existing_tests_need_consent_but_a_new_test_file_does_not() {
        let after = TEST.replace("== 3", "== 4");
        let mut edit = change("tests/test_calc.py", TEST, &after);
        assert_eq!(
            check(&edit),
            Ok(()),
            "the policy itself leaves consent to the loop"
        );
        edit.files.push(new_file(
            "tests/test_new.py",
            "def test_x():\n    assert 1\n",
        ));
        let needed: Vec<String> = consent_needed(&edit)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            needed,
            ["tests/test_calc.py: `assert add(1, 2) == 3` became `assert add(1, 2) == 4`"]
        );
        let only_new = ChangeSet {
            files: vec![new_file(
                "tests/test_new.py",
                "def test_x():\n    assert 1\n",
            )],
        };
        assert!(consent_needed(&only_new).is_empty());
    }

    #[test]
    fn allowed_paths_confine_the_change() {
        let policy = Policy {
            allowed_paths: vec!["src/**".into()],
            ..Policy::default()
        };
        let inside = change("src/calc.py", "a\n", "b\n");
        assert_eq!(check_with(&inside, &policy), Ok(()));
        let outside = change("scripts/release.py", "a\n", "b\n");
        assert_eq!(
            check_with(&outside, &policy),
            Err("refused: the change touches scripts/release.py, outside the paths a repair may edit (src/**)".to_owned())
        );
    }

    #[test]
    fn a_new_dependency_is_refused_unless_allowed() {
        let edit = change(
            "requirements.txt",
            "requests==2.31\n",
            "requests==2.31\nleft-pad\n",
        );
        assert_eq!(
            check(&edit),
            Err("refused: the change adds the dependency left-pad to requirements.txt; fix the code with what the project already uses (new dependencies need [policy] allow_new_dependencies)".to_owned())
        );
        let allowed = Policy {
            allow_new_dependencies: true,
            ..Policy::default()
        };
        assert_eq!(check_with(&edit, &allowed), Ok(()));
        let bump = change("requirements.txt", "requests==2.31\n", "requests==2.32\n");
        assert_eq!(check(&bump), Ok(()));
    }
}
