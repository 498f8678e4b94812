//! Which toolchain a project needs, and the commands that run its tests.
//!
//! Detection looks only at the files in the project directory, never runs
//! anything, and is ordered from the strongest signal to the weakest: a build
//! manifest (`Cargo.toml`, `go.mod`, `pom.xml`, `build.gradle*`) names the
//! toolchain outright; a `package.json` counts only with a real `test`
//! script, since many repositories keep one just for tooling; Python markers
//! come last because helper scripts in `tests/*.py` turn up everywhere.
//!
//! Test ids come from CI logs, which a pull request author controls.
//! [`format_test_ids`] turns them into the arguments a runner takes; they
//! travel as positional parameters of the step (see
//! [`ValidationPlan::failing_then_full`](crate::ValidationPlan::failing_then_full)),
//! never as script text. An id is kept only when it has the shape the runner
//! expects, so none can pass for an option (`--exec=...`) or widen a pattern
//! (`.*`, `,`, `!`); what goes into a regular expression is escaped.

use std::path::{Component, Path};
use std::time::Duration;

use crate::DEFAULT_IMAGE;
use crate::plan::{ValidationPlan, shell_quote};

/// A project's build and test toolchain, as far as selfheal can tell from its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ecosystem {
    Python,
    Rust,
    Go,
    Node,
    Maven,
    Gradle,
}

/// Image for Rust projects (`scripts/build-sandbox-image.sh rust`): Debian 13,
/// whose cargo reads version-4 lockfiles.
pub const RUST_IMAGE: &str = "selfheal-sandbox-rust:trixie";
/// Image for Go projects (`scripts/build-sandbox-image.sh go`).
pub const GO_IMAGE: &str = "selfheal-sandbox-go:bookworm";
/// Image for Node projects (`scripts/build-sandbox-image.sh node`).
pub const NODE_IMAGE: &str = "selfheal-sandbox-node:bookworm";
/// Image for Maven and Gradle projects (`scripts/build-sandbox-image.sh java`):
/// JDK 17 and Maven 3.8 reading Debian's packaged plugins and junit4 offline.
/// Gradle is not in it.
pub const JAVA_IMAGE: &str = "selfheal-sandbox-java:bookworm";

impl Ecosystem {
    /// The selfheal sandbox image built for this ecosystem.
    pub fn default_image(self) -> &'static str {
        match self {
            Self::Python => DEFAULT_IMAGE,
            Self::Rust => RUST_IMAGE,
            Self::Go => GO_IMAGE,
            Self::Node => NODE_IMAGE,
            Self::Maven | Self::Gradle => JAVA_IMAGE,
        }
    }
}

/// How to run a project's tests, and in which image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCommands {
    pub ecosystem: Ecosystem,
    /// The default selfheal sandbox image for the ecosystem.
    pub image: String,
    /// Shell command that runs the whole suite.
    pub full: String,
    /// Shell command with `{tests}` where the output of [`format_test_ids`]
    /// goes, or `""` when the runner cannot select tests by the ids selfheal has.
    pub failing: String,
}

impl TestCommands {
    /// The default plan for these commands: the tests CI saw fail (ids as the
    /// analyser reports them), then the whole suite, each within `timeout`.
    ///
    /// The failing-tests step is left out when the runner cannot select tests
    /// ([`failing`](Self::failing) is `""`) or no id has a shape it takes
    /// (see [`format_test_ids`]); the full suite alone then decides.
    pub fn plan(&self, failing_ids: &[String], timeout: Duration) -> ValidationPlan {
        let args = if self.failing.is_empty() {
            Vec::new()
        } else {
            format_test_ids(self.ecosystem, failing_ids)
        };
        ValidationPlan::failing_then_full(&args, &self.failing, &self.full, timeout)
    }
}

/// pytest as `selfheal-config` runs it by default; kept equal to its
/// `DEFAULT_TEST_COMMAND` (this crate does not depend on the config crate).
const PYTEST_FULL: &str = "python -m pytest -q -p no:cacheprovider";
const PYTEST_FAILING: &str = "python -m pytest -q -p no:cacheprovider {tests}";

/// The test commands for the project in the repo-relative directory `workdir`
/// of `tree` (`""` is the root), or `None` when nothing there says how its tests run.
///
/// With a non-empty `workdir` the commands `cd` there first, since the
/// sandbox starts every step at the root of the copied tree.
/// A `workdir` that would leave the tree (absolute, or with `..`) finds nothing.
pub fn detect_tests(tree: &Path, workdir: &str) -> Option<TestCommands> {
    let inside = Path::new(workdir)
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside {
        return None;
    }
    let dir = tree.join(workdir);
    let file = |name: &str| dir.join(name).is_file();
    let (ecosystem, full, failing) = if file("Cargo.toml") {
        (
            Ecosystem::Rust,
            "cargo test".to_owned(),
            "cargo test -- --exact {tests}".to_owned(),
        )
    } else if file("go.mod") {
        (
            Ecosystem::Go,
            "go test ./...".to_owned(),
            "go test -run {tests} ./...".to_owned(),
        )
    } else if file("pom.xml") {
        (
            Ecosystem::Maven,
            "mvn -B -q test".to_owned(),
            // In a multi-module build most modules have none of the named tests;
            // without this flag surefire fails each of them.
            "mvn -B -q test -Dsurefire.failIfNoSpecifiedTests=false -Dtest={tests}".to_owned(),
        )
    } else if file("build.gradle") || file("build.gradle.kts") {
        let gradle = if file("gradlew") {
            "./gradlew"
        } else {
            "gradle"
        };
        (
            Ecosystem::Gradle,
            format!("{gradle} test"),
            format!("{gradle} test {{tests}}"),
        )
    } else if let Some(script) = npm_test_script(&dir) {
        let failing = match js_runner(&script) {
            Some(JsRunner::Jest) => "npx jest -t {tests}",
            Some(JsRunner::Vitest) => "npx vitest run -t {tests}",
            None => "",
        };
        (Ecosystem::Node, "npm test".to_owned(), failing.to_owned())
    } else if is_python(&dir) {
        (
            Ecosystem::Python,
            PYTEST_FULL.to_owned(),
            PYTEST_FAILING.to_owned(),
        )
    } else {
        return None;
    };
    let workdir = workdir.trim_matches('/');
    let in_dir = |command: String| {
        if workdir.is_empty() || workdir == "." || command.is_empty() {
            command
        } else {
            format!("cd {} && {command}", shell_quote(workdir))
        }
    };
    Some(TestCommands {
        ecosystem,
        image: ecosystem.default_image().to_owned(),
        full: in_dir(full),
        failing: in_dir(failing),
    })
}

fn is_python(dir: &Path) -> bool {
    [
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "pytest.ini",
        "conftest.py",
    ]
    .iter()
    .any(|name| dir.join(name).is_file())
        || std::fs::read_dir(dir.join("tests")).is_ok_and(|entries| {
            entries.filter_map(Result::ok).any(|e| {
                Path::new(&e.file_name())
                    .extension()
                    .and_then(|x| x.to_str())
                    == Some("py")
            })
        })
}

/// Turns test ids as the analyser reports them into the arguments the
/// ecosystem's failing-tests command (`{tests}`) takes, one argv entry each.
///
/// Ids of the wrong shape are dropped rather than guessed at; an empty result
/// means the failing-tests step cannot run, and the full suite alone decides.
/// Duplicates are dropped, first occurrence kept.
///
/// - Python: pytest node ids (`tests/test_a.py::test_x[p]`) as they are.
/// - Rust: plain test paths (`tests::adds`), for `cargo test -- --exact`.
/// - Go: one `-run` pattern, `^(TestA|TestB)$`, from `pkg.TestA`, `TestB` or
///   `pkg.TestC/subtest` (a subtest reruns its top-level test: go splits
///   `-run` at slashes, so subtest names cannot share one alternation).
/// - Node: one jest/vitest `-t` pattern matching the tests' full names
///   (`file::Suite › test` from jest, `file > Suite > test` from vitest).
/// - Maven: one `-Dtest=` value, `pkg.ATest#m,pkg.BTest`.
/// - Gradle: `--tests`, `pkg.ATest.m`, ... pairs.
///
/// A Java method that is not a plain identifier (a display name, a
/// parameterised case) reruns its whole class.
pub fn format_test_ids(ecosystem: Ecosystem, ids: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let ids = ids.iter().map(|id| id.trim()).filter(|id| seen.insert(*id));
    match ecosystem {
        // Anything pytest would read as an option (`-p plugin`) is not a node id.
        Ecosystem::Python => ids
            .filter(|id| !id.is_empty() && !id.starts_with('-'))
            .map(str::to_owned)
            .collect(),
        Ecosystem::Rust => ids
            .filter(|id| id.split("::").all(is_identifier))
            .map(str::to_owned)
            .collect(),
        Ecosystem::Go => {
            let names = dedup(ids.filter_map(go_test_name).map(regex_escape));
            if names.is_empty() {
                Vec::new()
            } else {
                vec![format!("^({})$", names.join("|"))]
            }
        }
        Ecosystem::Node => {
            let names = dedup(ids.filter_map(js_full_name).map(|n| regex_escape(&n)));
            if names.is_empty() {
                Vec::new()
            } else {
                // Unanchored: jest and vitest match the pattern anywhere in the
                // full name, whose exact spacing selfheal only sees second-hand.
                vec![format!("(?:{})", names.join("|"))]
            }
        }
        Ecosystem::Maven => {
            let tests = dedup(ids.filter_map(|id| java_test(id, "#")));
            if tests.is_empty() {
                Vec::new()
            } else {
                vec![tests.join(",")]
            }
        }
        Ecosystem::Gradle => dedup(ids.filter_map(|id| java_test(id, ".")))
            .into_iter()
            .flat_map(|t| ["--tests".to_owned(), t])
            .collect(),
    }
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.filter(|i| seen.insert(i.clone())).collect()
}

/// An ASCII identifier as Rust, Go and Java spell them (`$` aside, see [`java_test`]).
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The top-level test function of a go id: `TestX` in `TestX`,
/// `github.com/a/b.TestX`, `gopkg.in/yaml.v3.TestX/sub/case.1`.
///
/// Package paths contain dots and slashes and subtest names anything, so the
/// name is the first `Test`/`Example`/`Benchmark`/`Fuzz` identifier that
/// starts the id or follows a dot, and ends the id or a slash.
fn go_test_name(id: &str) -> Option<&str> {
    const PREFIXES: [&str; 4] = ["Test", "Example", "Benchmark", "Fuzz"];
    let starts = std::iter::once(0).chain(id.match_indices('.').map(|(i, _)| i + 1));
    starts.filter(|&i| i < id.len()).find_map(|start| {
        let rest = &id[start..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..end];
        let ends_well = end == rest.len() || rest[end..].starts_with('/');
        (ends_well && PREFIXES.iter().any(|p| name.starts_with(p)) && is_identifier(name))
            .then_some(name)
    })
}

/// A js test's full name as jest and vitest match `-t` against it: its
/// describe blocks and title joined by spaces, without the file.
fn js_full_name(id: &str) -> Option<String> {
    let parts: Vec<&str> = if let Some((_file, name)) = id.split_once("::") {
        name.split(" › ").collect()
    } else if id.contains(" > ") {
        id.split(" > ").skip(1).collect()
    } else {
        vec![id]
    };
    let name = parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

/// Escapes what is special in a regular expression for go (RE2) and
/// JavaScript alike; both accept `\` before any ASCII punctuation used here.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\^$.|?*+()[]{}/-".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `Class#method` (surefire's and Gradle's ids in the analyser) as
/// `Class{sep}method`, or the class alone when the method is no plain
/// identifier; `None` when the class is not a (qualified) class name.
///
/// surefire and Gradle both read `*`, `,`, `!`, `%regex[...]` and spaces in
/// their filters, so nothing else gets through.
fn java_test(id: &str, sep: &str) -> Option<String> {
    let (class, method) = id.split_once('#').unwrap_or((id, ""));
    let java_ident = |s: &str| is_identifier(&s.replace('$', "_"));
    if !class.split('.').all(java_ident) {
        return None;
    }
    // JUnit 5 `testX()`, parameterised `testX(String)[1]`, surefire `testX[1]`.
    let method = method.split(['(', '[']).next().unwrap_or_default().trim();
    Some(if java_ident(method) {
        format!("{class}{sep}{method}")
    } else {
        class.to_owned()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsRunner {
    Jest,
    Vitest,
}

/// The runner a `test` script calls directly, if it is one that selects tests by name.
fn js_runner(script: &str) -> Option<JsRunner> {
    script
        .split(|c: char| c.is_whitespace() || c == ';' || c == '&' || c == '|')
        .map(|word| word.rsplit('/').next().unwrap_or(word))
        .find_map(|word| match word {
            "jest" => Some(JsRunner::Jest),
            "vitest" => Some(JsRunner::Vitest),
            _ => None,
        })
}

/// The `scripts.test` of `dir/package.json`, unless it is missing or npm's
/// placeholder (`echo "Error: no test specified" && exit 1`).
fn npm_test_script(dir: &Path) -> Option<String> {
    let manifest = std::fs::read_to_string(dir.join("package.json")).ok()?;
    let Json::Object(top) = JsonReader::new(&manifest).document()? else {
        return None;
    };
    let Json::Object(scripts) = field(&top, "scripts")? else {
        return None;
    };
    let Json::String(test) = field(scripts, "test")? else {
        return None;
    };
    (!test.trim().is_empty() && !test.contains("no test specified")).then(|| test.clone())
}

/// The last value of `key`, as JSON parsers conventionally take duplicates.
fn field<'a>(object: &'a [(String, Json)], key: &str) -> Option<&'a Json> {
    object.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Just enough JSON for `package.json`: objects and strings are kept, every
/// other value is checked for shape and dropped. (This crate has no JSON
/// dependency; `serde_json` would replace it.)
#[derive(Debug, PartialEq)]
enum Json {
    Object(Vec<(String, Json)>),
    String(String),
    Other,
}

struct JsonReader<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    depth: usize,
}

impl<'a> JsonReader<'a> {
    /// Nesting beyond this is refused rather than recursed into.
    const MAX_DEPTH: usize = 128;

    fn new(text: &'a str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Self {
            chars: text.chars().peekable(),
            depth: 0,
        }
    }

    /// One value and nothing after it.
    fn document(mut self) -> Option<Json> {
        let value = self.value()?;
        self.skip_ws();
        self.chars.next().is_none().then_some(value)
    }

    fn skip_ws(&mut self) {
        while self.chars.next_if(char::is_ascii_whitespace).is_some() {}
    }

    fn eat(&mut self, want: char) -> Option<()> {
        self.skip_ws();
        (self.chars.next()? == want).then_some(())
    }

    fn value(&mut self) -> Option<Json> {
        self.skip_ws();
        match *self.chars.peek()? {
            '{' => self.nested(Self::object),
            '[' => self.nested(Self::array),
            '"' => self.string().map(Json::String),
            _ => self.scalar(),
        }
    }

    fn nested(&mut self, read: fn(&mut Self) -> Option<Json>) -> Option<Json> {
        self.depth += 1;
        if self.depth > Self::MAX_DEPTH {
            return None;
        }
        let value = read(self);
        self.depth -= 1;
        value
    }

    fn object(&mut self) -> Option<Json> {
        self.eat('{')?;
        let mut fields = Vec::new();
        self.skip_ws();
        if self.chars.next_if_eq(&'}').is_some() {
            return Some(Json::Object(fields));
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            self.eat(':')?;
            fields.push((key, self.value()?));
            self.skip_ws();
            match self.chars.next()? {
                ',' => {}
                '}' => return Some(Json::Object(fields)),
                _ => return None,
            }
        }
    }

    fn array(&mut self) -> Option<Json> {
        self.eat('[')?;
        self.skip_ws();
        if self.chars.next_if_eq(&']').is_some() {
            return Some(Json::Other);
        }
        loop {
            self.value()?;
            self.skip_ws();
            match self.chars.next()? {
                ',' => {}
                ']' => return Some(Json::Other),
                _ => return None,
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        if self.chars.next()? != '"' {
            return None;
        }
        let mut out = String::new();
        loop {
            match self.chars.next()? {
                '"' => return Some(out),
                '\\' => out.push(match self.chars.next()? {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    // Surrogate pairs are not joined: a script name does not need them.
                    'u' => char::from_u32(self.hex4()?).unwrap_or('\u{fffd}'),
                    _ => return None,
                }),
                c if u32::from(c) < 0x20 => return None,
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        (0..4).try_fold(0, |acc, _| {
            Some(acc * 16 + self.chars.next()?.to_digit(16)?)
        })
    }

    /// A number, `true`, `false` or `null`, checked loosely: its characters only.
    fn scalar(&mut self) -> Option<Json> {
        let mut word = String::new();
        while let Some(c) = self
            .chars
            .next_if(|c| c.is_ascii_alphanumeric() || "+-.".contains(*c))
        {
            word.push(c);
        }
        let number = word.starts_with(|c: char| c == '-' || c.is_ascii_digit())
            && word.parse::<f64>().is_ok();
        (number || matches!(word.as_str(), "true" | "false" | "null")).then_some(Json::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (rel, body) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, body).expect("write");
        }
        dir
    }

    fn detect(files: &[(&str, &str)]) -> Option<TestCommands> {
        detect_tests(project(files).path(), "")
    }

    fn commands(ecosystem: Ecosystem, image: &str, full: &str, failing: &str) -> TestCommands {
        TestCommands {
            ecosystem,
            image: image.to_owned(),
            full: full.to_owned(),
            failing: failing.to_owned(),
        }
    }

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|&s| s.to_owned()).collect()
    }

    #[test]
    fn python_markers_give_todays_pytest_defaults() {
        let want = Some(commands(
            Ecosystem::Python,
            "selfheal-sandbox-python:bookworm",
            "python -m pytest -q -p no:cacheprovider",
            "python -m pytest -q -p no:cacheprovider {tests}",
        ));
        for marker in [
            "pyproject.toml",
            "setup.py",
            "pytest.ini",
            "tests/test_a.py",
        ] {
            assert_eq!(detect(&[(marker, "")]), want, "{marker}");
        }
        assert_eq!(detect(&[("tests/data.txt", ""), ("README.md", "")]), None);
    }

    #[test]
    fn each_manifest_names_its_toolchain() {
        assert_eq!(
            detect(&[("Cargo.toml", "[package]\nname = \"x\"\n")]),
            Some(commands(
                Ecosystem::Rust,
                "selfheal-sandbox-rust:trixie",
                "cargo test",
                "cargo test -- --exact {tests}",
            ))
        );
        assert_eq!(
            detect(&[("go.mod", "module example.com/x\n")]),
            Some(commands(
                Ecosystem::Go,
                "selfheal-sandbox-go:bookworm",
                "go test ./...",
                "go test -run {tests} ./...",
            ))
        );
        assert_eq!(
            detect(&[("pom.xml", "<project/>")]),
            Some(commands(
                Ecosystem::Maven,
                JAVA_IMAGE,
                "mvn -B -q test",
                "mvn -B -q test -Dsurefire.failIfNoSpecifiedTests=false -Dtest={tests}",
            ))
        );
        assert_eq!(
            detect(&[("build.gradle.kts", "")]),
            Some(commands(
                Ecosystem::Gradle,
                JAVA_IMAGE,
                "gradle test",
                "gradle test {tests}",
            ))
        );
        assert_eq!(
            detect(&[("build.gradle", ""), ("gradlew", "#!/bin/sh\n")]),
            Some(commands(
                Ecosystem::Gradle,
                JAVA_IMAGE,
                "./gradlew test",
                "./gradlew test {tests}",
            ))
        );
    }

    #[test]
    fn a_build_manifest_outranks_python_helpers_and_tooling_package_json() {
        let tree = [
            ("Cargo.toml", ""),
            ("tests/helper.py", ""),
            ("package.json", r#"{"scripts": {"test": "jest"}}"#),
        ];
        assert_eq!(detect(&tree).map(|c| c.ecosystem), Some(Ecosystem::Rust));
        let tree = [
            ("pyproject.toml", ""),
            ("package.json", r#"{"devDependencies": {"prettier": "3"}}"#),
        ];
        assert_eq!(detect(&tree).map(|c| c.ecosystem), Some(Ecosystem::Python));
    }

    #[test]
    fn node_needs_a_real_test_script_and_selects_tests_only_with_jest_or_vitest() {
        let node = |script: &str| {
            detect(&[(
                "package.json",
                &format!(
                    r#"{{"name": "x", "version": "1.0.0", "scripts": {{"lint": "eslint .", "test": {script}}}}}"#
                ),
            )])
        };
        assert_eq!(
            node(r#""node --test""#),
            Some(commands(Ecosystem::Node, NODE_IMAGE, "npm test", ""))
        );
        assert_eq!(
            node(r#""NODE_ENV=test jest --ci""#),
            Some(commands(
                Ecosystem::Node,
                NODE_IMAGE,
                "npm test",
                "npx jest -t {tests}"
            ))
        );
        assert_eq!(
            node(r#""tsc && ./node_modules/.bin/vitest""#).map(|c| c.failing),
            Some("npx vitest run -t {tests}".to_owned())
        );
        assert_eq!(
            node(r#""echo \"Error: no test specified\" && exit 1""#),
            None
        );
        assert_eq!(node("42"), None);
        assert_eq!(
            detect(&[("package.json", r#"{"scripts": {"build": "tsc"}}"#)]),
            None
        );
        assert_eq!(
            detect(&[("package.json", r#"{"scripts": {"test": "#)]),
            None
        );
    }

    #[test]
    fn a_workdir_is_looked_in_and_changed_to() {
        let tree = project(&[("services/api v2/go.mod", "module x\n"), ("setup.py", "")]);
        assert_eq!(
            detect_tests(tree.path(), "services/api v2/"),
            Some(commands(
                Ecosystem::Go,
                GO_IMAGE,
                "cd 'services/api v2' && go test ./...",
                "cd 'services/api v2' && go test -run {tests} ./...",
            ))
        );
        assert_eq!(
            detect_tests(tree.path(), "").map(|c| c.ecosystem),
            Some(Ecosystem::Python)
        );
        for outside in ["..", "/", "services/../..", "/etc"] {
            assert_eq!(
                detect_tests(&tree.path().join("services/api v2"), outside),
                None
            );
        }
        let node = project(&[("web/package.json", r#"{"scripts":{"test":"node --test"}}"#)]);
        assert_eq!(
            detect_tests(node.path(), "web").map(|c| (c.full, c.failing)),
            Some(("cd web && npm test".to_owned(), String::new()))
        );
    }

    #[test]
    fn the_plan_formats_ids_and_leaves_out_a_step_the_runner_cannot_take() {
        use crate::{FAILING_STEP, FULL_STEP, TestStep};
        let minute = Duration::from_secs(60);
        let go = commands(
            Ecosystem::Go,
            GO_IMAGE,
            "go test ./...",
            "go test -run {tests} ./...",
        );
        assert_eq!(
            go.plan(&ids(&["example.com/x.TestA", "TestA|.*"]), minute)
                .steps,
            vec![
                TestStep::new(FAILING_STEP, r#"go test -run "$@" ./..."#)
                    .with_args(ids(&["^(TestA)$"]))
                    .with_timeout(minute),
                TestStep::new(FULL_STEP, "go test ./...").with_timeout(minute),
            ]
        );
        let only_full = vec![TestStep::new(FULL_STEP, "go test ./...").with_timeout(minute)];
        assert_eq!(go.plan(&ids(&[".*"]), minute).steps, only_full);
        let node = commands(Ecosystem::Node, NODE_IMAGE, "npm test", "");
        assert_eq!(
            node.plan(&ids(&["a.test.js::adds"]), minute).steps,
            vec![TestStep::new(FULL_STEP, "npm test").with_timeout(minute)]
        );
    }

    #[test]
    fn python_ids_pass_through_unless_they_look_like_options() {
        assert_eq!(
            format_test_ids(
                Ecosystem::Python,
                &ids(&[
                    "tests/test_a.py::test_x[a b]",
                    "-p evil",
                    "--rootdir=/",
                    "tests/test_a.py::TestC::test_y",
                    "tests/test_a.py::test_x[a b]",
                    "",
                ])
            ),
            ids(&[
                "tests/test_a.py::test_x[a b]",
                "tests/test_a.py::TestC::test_y"
            ])
        );
    }

    #[test]
    fn rust_ids_must_be_plain_test_paths() {
        assert_eq!(
            format_test_ids(
                Ecosystem::Rust,
                &ids(&[
                    "tests::adds",
                    "it_works",
                    "suite::docker::r#async",
                    "--ignored",
                    "<unnamed>",
                    "a::b c",
                    "a::",
                    "tests::adds",
                ])
            ),
            ids(&["tests::adds", "it_works"])
        );
    }

    #[test]
    fn go_ids_become_one_anchored_run_pattern_of_top_level_tests() {
        assert_eq!(
            format_test_ids(
                Ecosystem::Go,
                &ids(&[
                    "github.com/acme/calc.TestAdd",
                    "TestSub",
                    "gopkg.in/yaml.v3.TestDecode/case.1/nested",
                    "example.com/Testing/x.TestAdd",
                    "ExampleHello",
                    "github.com/acme/calc.TestAdd",
                ])
            ),
            ids(&["^(TestAdd|TestSub|TestDecode|ExampleHello)$"])
        );
    }

    #[test]
    fn hostile_go_ids_never_widen_the_pattern() {
        let hostile = ids(&[
            ".*",
            "TestA|.*",
            "TestA)|(.*",
            "pkg.TestA$(rm -rf ~)",
            "-run=.*",
            "pkg.helper",
            "Test\u{0}X",
        ]);
        assert_eq!(
            format_test_ids(Ecosystem::Go, &hostile),
            Vec::<String>::new()
        );
        assert_eq!(
            format_test_ids(Ecosystem::Go, &ids(&["TestA|.*", "TestB"])),
            ids(&["^(TestB)$"])
        );
    }

    #[test]
    fn js_ids_become_one_escaped_full_name_pattern() {
        assert_eq!(
            format_test_ids(
                Ecosystem::Node,
                &ids(&[
                    "src/sum.test.js::sum › adds 1 + 2 (fast)",
                    "src/a.test.ts > parser > reads [a]",
                    "plain name",
                ])
            ),
            ids(&[r"(?:sum adds 1 \+ 2 \(fast\)|parser reads \[a\]|plain name)"])
        );
        let hostile = format_test_ids(Ecosystem::Node, &ids(&["x::.*|$(id)", "-t"]));
        assert_eq!(hostile, ids(&[r"(?:\.\*\|\$\(id\)|\-t)"]));
        assert!(hostile[0].starts_with('('), "never read as an option");
    }

    #[test]
    fn maven_ids_become_one_test_value_and_gradle_ids_tests_pairs() {
        let java = ids(&[
            "com.acme.CalcTest#adds",
            "com.acme.CalcTest#params[1]",
            "CalcTest#testX()",
            "com.acme.Outer$InnerTest#works",
            "com.acme.DisplayTest#adds two numbers",
            "com.acme.CalcTest#adds",
        ]);
        assert_eq!(
            format_test_ids(Ecosystem::Maven, &java),
            ids(&[
                "com.acme.CalcTest#adds,com.acme.CalcTest#params,CalcTest#testX,com.acme.Outer$InnerTest#works,com.acme.DisplayTest"
            ])
        );
        assert_eq!(
            format_test_ids(Ecosystem::Gradle, &java[..3]),
            ids(&[
                "--tests",
                "com.acme.CalcTest.adds",
                "--tests",
                "com.acme.CalcTest.params",
                "--tests",
                "CalcTest.testX",
            ])
        );
    }

    #[test]
    fn hostile_java_ids_cannot_add_filters() {
        let hostile = ids(&[
            "*",
            "com.a.ATest,!com.a.BTest",
            "%regex[.*]",
            "-Dmaven.test.skip=true",
            "com.a.ATest#m,*",
            "com.a.A Test#m",
        ]);
        assert_eq!(
            format_test_ids(Ecosystem::Maven, &hostile),
            ids(&["com.a.ATest"])
        );
        assert_eq!(
            format_test_ids(Ecosystem::Gradle, &hostile),
            ids(&["--tests", "com.a.ATest"])
        );
        assert_eq!(format_test_ids(Ecosystem::Maven, &[]), Vec::<String>::new());
    }

    #[test]
    fn the_json_reader_keeps_strings_and_objects_and_refuses_malformed_text() {
        let text = "\u{feff}{\"a\": [1, -2.5e3, true, null, {\"b\": \"\\u0041\\n\"}], \"s\": {\"t\": \"x\\\"y\"}, \"s\": {\"t\": \"last\"}}";
        let Some(Json::Object(top)) = JsonReader::new(text).document() else {
            panic!("parsed");
        };
        assert_eq!(field(&top, "a"), Some(&Json::Other));
        assert_eq!(
            field(&top, "s"),
            Some(&Json::Object(vec![(
                "t".into(),
                Json::String("last".into())
            )]))
        );
        for bad in [
            "{",
            "{\"a\" 1}",
            "{\"a\": tru}",
            "{} x",
            "[1,]",
            "\"\u{1}\"",
        ] {
            assert_eq!(JsonReader::new(bad).document(), None, "{bad:?}");
        }
        let deep = "[".repeat(10_000);
        assert_eq!(JsonReader::new(&deep).document(), None);
    }
}
