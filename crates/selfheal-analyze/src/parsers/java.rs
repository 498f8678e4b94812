//! JVM builds and tests: Maven surefire, Gradle, `JUnit`, `ScalaTest`, and
//! uncaught Java exceptions.
//!
//! A failing test is announced on one line (surefire's
//! `testX(com.a.FooTest)  Time elapsed: ... <<< FAILURE!`, Gradle's
//! `com.a.FooTest > testX FAILED`, `ScalaTest`'s `- does x *** FAILED ***`)
//! and explained by the exception and `at` frames below it. The first frame
//! outside the JDK, `JUnit` and the build tool is where the test failed.
//! Gradle's `* What went wrong:` section names a failed task; it is kept,
//! less confidently, for builds whose real error nobody recognised.

use std::sync::LazyLock;

use regex::Regex;
use selfheal_types::{Category, Location};

use super::{Anchor, Candidate, Line, Parser, Snip, loc, one_line};

static SUREFIRE_OLD: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^(?:\[ERROR\] )?(\w+)\(([\w.$]*)\)\s+Time elapsed:.*<<< (FAILURE|ERROR)!")
        .expect("valid regex")
});
static SUREFIRE_NEW: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^(?:\[ERROR\] )?([\w$]+(?:\.[\w$]+)+)\.([\w$]+(?:\[.*\])?|\[\d+\].*)\s+Time elapsed:.*<<< (FAILURE|ERROR)!")
        .expect("valid regex")
});
static SUREFIRE_BARE: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^(?:\[ERROR\] )?([\w$]+(?:\[.*\])?)\s+Time elapsed:.*<<< (FAILURE|ERROR)!")
        .expect("valid regex")
});
static GRADLE: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^([\w$]+(?:\.[\w$]+)*) > (.+?) FAILED$").expect("valid regex"));
static SCALATEST: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^(?:\[info\] )?\s*- (.+?) \*\*\* FAILED \*\*\*").expect("valid regex")
});
static UNCAUGHT: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r#"^Exception in thread "[^"]*" ([\w.$]+(?:Exception|Error)\b.*)$"#)
        .expect("valid regex")
});
static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^\s*at ([\w.$<>]+)\((\w+\.(?:java|kt|scala|groovy)):(\d+)\)").expect("valid regex")
});
static SCALA_LOC: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"\((\w+\.scala):(\d+)\)").expect("valid regex"));

/// Frames that belong to the JVM, test frameworks and build tools.
const VENDOR: &[&str] = &[
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "kotlin.",
    "scala.",
    "org.junit.",
    "junit.",
    "org.gradle.",
    "org.apache.maven.",
    "org.testng.",
    "org.scalatest.",
    "worker.org.gradle.",
    "org.hamcrest.",
    "org.assertj.",
    "org.mockito.",
    "groovy.",
    "org.codehaus.groovy.",
];

/// Start line, last line, and the numbered lines of the section.
type WentWrong = (u64, u64, Vec<(u64, String)>);

#[derive(Debug)]
struct Block {
    tool: &'static str,
    test: Option<String>,
    start: u64,
    end: u64,
    message: Option<String>,
    error: bool,
    locations: Vec<Location>,
    snip: Snip,
    scala: bool,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Java {
    block: Option<Block>,
    went_wrong: Option<WentWrong>,
}

impl Parser for Java {
    fn active(&self) -> bool {
        self.block.is_some() || self.went_wrong.is_some()
    }

    fn feed(&mut self, line: &Line<'_>, out: &mut Vec<Candidate>) {
        let text = line.text;
        if self.feed_went_wrong(line.no, text, out) {
            return;
        }
        if let Some(start) = Self::start(line, text) {
            self.end(out);
            self.block = Some(start);
            return;
        }
        if text == "* What went wrong:" {
            self.end(out);
            self.went_wrong = Some((line.no, line.no, Vec::new()));
            return;
        }
        let Some(b) = self.block.as_mut() else {
            return;
        };
        let body = text
            .strip_prefix("[info] ")
            .or_else(|| text.strip_prefix("[error] "))
            .unwrap_or(text);
        let indented = body.starts_with(char::is_whitespace);
        let frame = FRAME.captures(body);
        let continues = if b.scala {
            indented && !body.trim().is_empty()
        } else if b.message.is_none() {
            !body.trim().is_empty()
        } else {
            frame.is_some()
                || body.trim_start().starts_with("Caused by:")
                || body.trim_start().starts_with("... ")
                || (indented && !body.trim().is_empty() && line.no <= b.end + 1)
        };
        if !continues {
            self.end(out);
            return;
        }
        b.end = line.no;
        b.snip.push(line.no, text);
        if b.message.is_none() {
            b.message = Some(body.trim().to_owned());
            return;
        }
        if let Some(c) = frame {
            let class = &c[1];
            if !VENDOR.iter().any(|v| class.starts_with(v)) && b.locations.len() < 6 {
                let l = loc(&c[2], c[3].parse().ok(), None);
                if !b.locations.contains(&l) {
                    b.locations.push(l);
                }
            }
        } else if b.scala
            && let Some(c) = SCALA_LOC.captures(body)
            && b.locations.is_empty()
        {
            b.locations.push(loc(&c[1], c[2].parse().ok(), None));
        }
    }

    fn flush(&mut self, out: &mut Vec<Candidate>) {
        self.end(out);
        self.end_went_wrong(out);
    }
}

impl Java {
    fn start(line: &Line<'_>, text: &str) -> Option<Block> {
        let no = line.no;
        let new =
            |tool, test: Option<String>, error: bool, scala: bool, message: Option<String>| {
                let mut snip = Snip::new(20, 6);
                snip.push(no, text);
                Block {
                    tool,
                    test,
                    start: no,
                    end: no,
                    message,
                    error,
                    locations: Vec::new(),
                    snip,
                    scala,
                }
            };
        let surefire = line.has(text, Anchor::TimeElapsed);
        if let Some(c) = surefire.then(|| SUREFIRE_OLD.captures(text)).flatten() {
            // JUnit 5 on surefire 2 leaves the parentheses empty; the class
            // is on the `Tests run: ... - in com.a.FooTest` line above.
            let class = if c[2].is_empty() {
                line.prev
                    .rsplit_once(" - in ")
                    .map_or("", |(_, class)| class.trim())
            } else {
                &c[2]
            };
            return Some(new(
                "maven",
                Some(format!("{class}#{}", &c[1])),
                &c[3] == "ERROR",
                false,
                None,
            ));
        }
        if let Some(c) = surefire.then(|| SUREFIRE_NEW.captures(text)).flatten() {
            return Some(new(
                "maven",
                Some(format!("{}#{}", &c[1], &c[2])),
                &c[3] == "ERROR",
                false,
                None,
            ));
        }
        // Surefire 3 may print the method alone; the class is on the
        // `Tests run: ... - in com.a.FooTest` line above.
        if let Some(c) = surefire.then(|| SUREFIRE_BARE.captures(text)).flatten()
            && let Some((_, class)) = line.prev.rsplit_once(" - in ")
        {
            return Some(new(
                "maven",
                Some(format!("{}#{}", class.trim(), &c[1])),
                &c[2] == "ERROR",
                false,
                None,
            ));
        }
        if let Some(c) = text
            .ends_with(" FAILED")
            .then(|| GRADLE.captures(text))
            .flatten()
        {
            return Some(new(
                "gradle",
                Some(format!("{}#{}", &c[1], &c[2])),
                false,
                false,
                None,
            ));
        }
        if let Some(c) = line
            .has(text, Anchor::ScalaFailed)
            .then(|| SCALATEST.captures(text))
            .flatten()
        {
            return Some(new("scalatest", Some(c[1].to_owned()), false, true, None));
        }
        if let Some(c) = text
            .starts_with("Exception in thread")
            .then(|| UNCAUGHT.captures(text))
            .flatten()
        {
            return Some(new("java", None, true, false, Some(c[1].to_owned())));
        }
        None
    }

    fn end(&mut self, out: &mut Vec<Candidate>) {
        let Some(mut b) = self.block.take() else {
            return;
        };
        let message = b.message.unwrap_or_else(|| "test failed".to_owned());
        let assertion = message.contains("AssertionError")
            || message.contains("AssertionFailedError")
            || message.contains("ComparisonFailure")
            || message.contains("expected")
            || b.scala;
        let category = if assertion && !b.error {
            Category::TestFailure
        } else if b.test.is_some() || b.tool == "java" {
            Category::TestError
        } else {
            Category::TestFailure
        };
        let mut c = Candidate::new(category, b.tool, one_line(&message, 300))
            .span(b.start, b.end)
            .confidence(if b.test.is_some() { 85 } else { 60 })
            .snippet(b.snip.take());
        c.test = b.test;
        c.locations = b.locations;
        out.push(c);
    }

    /// Gradle's `* What went wrong:` ... `* Try:` section.
    fn feed_went_wrong(&mut self, no: u64, text: &str, out: &mut Vec<Candidate>) -> bool {
        let Some(w) = self.went_wrong.as_mut() else {
            return false;
        };
        if text.starts_with("* Try:") || text.starts_with("* Exception is:") || no > w.0 + 30 {
            self.end_went_wrong(out);
            return true;
        }
        if !text.trim().is_empty() && w.2.len() < 12 {
            w.1 = no;
            w.2.push((no, text.to_owned()));
        }
        true
    }

    fn end_went_wrong(&mut self, out: &mut Vec<Candidate>) {
        let Some((start, end, lines)) = self.went_wrong.take() else {
            return;
        };
        let joined = lines
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let first = lines
            .first()
            .map_or("gradle build failed", |(_, l)| l.as_str());
        // The line under `Execution failed for task` says why.
        let reason = lines
            .iter()
            .skip(1)
            .map(|(_, l)| l)
            .find(|l| l.trim_start().starts_with('>'))
            .map(|l| l.trim_start().trim_start_matches('>').trim());
        let message = match reason {
            Some(r) => format!("{} {r}", first.trim()),
            None => first.trim().to_owned(),
        };
        let task = failed_task(&joined);
        let lint_task = task.is_some_and(is_lint_task);
        let (category, confidence) = if lint_task {
            // A lint task fails on findings, or because it could not run
            // at all (its configuration file is missing or broken).
            let lower = joined.to_ascii_lowercase();
            if lower.contains("violation") || lower.contains("found") || lower.contains("finding") {
                (Category::Lint, 60)
            } else {
                (Category::BuildConfig, 50)
            }
        } else if joined.contains("There were failing tests") {
            (Category::TestFailure, 30)
        } else if joined.contains("Compilation failed")
            || joined.contains("compileJava")
            || joined.contains("compileKotlin")
        {
            (Category::CompileError, 40)
        } else if joined.contains("Could not resolve") || joined.contains("Could not find") {
            (Category::Dependency, 70)
        } else {
            (Category::BuildConfig, 50)
        };
        out.push(
            Candidate::new(category, "gradle", one_line(&message, 300))
                .span(start, end)
                .confidence(confidence)
                .snippet(lines),
        );
    }
}

/// The last part of the task named by `Execution failed for task ':a:b'`.
fn failed_task(section: &str) -> Option<&str> {
    let rest = &section[section.find("Execution failed for task '")? + 27..];
    let name = &rest[..rest.find('\'')?];
    name.rsplit(':').next()
}

/// Gradle tasks of the common lint and format plugins.
fn is_lint_task(task: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "checkstyle",
        "spotless",
        "ktlint",
        "detekt",
        "pmd",
        "spotbugs",
        "lint",
        "ktfmt",
        "scalafmt",
        "scalastyle",
        "eslint",
        "prettier",
    ];
    PREFIXES.iter().any(|p| task.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_headers_of_each_runner_are_recognised() {
        let id = |l: &str| Java::start(&Line::for_test(1, l), l).and_then(|b| b.test);
        assert_eq!(
            id("testAdd(com.acme.CalcTest)  Time elapsed: 0.01 sec  <<< FAILURE!").as_deref(),
            Some("com.acme.CalcTest#testAdd")
        );
        assert_eq!(
            id("[ERROR] com.acme.CalcTest.testAdd  Time elapsed: 0.01 s  <<< ERROR!").as_deref(),
            Some("com.acme.CalcTest#testAdd")
        );
        assert_eq!(
            id("com.acme.CalcTest > testAdd FAILED").as_deref(),
            Some("com.acme.CalcTest#testAdd")
        );
        assert_eq!(id("> Task :test FAILED"), None);
        let junit5 = Line {
            prev: "Tests run: 2, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.088 sec <<< FAILURE! - in org.dirty.flag.DirtyFlagTest",
            ..Line::for_test(2, "testIsDirty()  Time elapsed: 0.058 sec  <<< FAILURE!")
        };
        assert_eq!(
            Java::start(&junit5, junit5.text)
                .and_then(|b| b.test)
                .as_deref(),
            Some("org.dirty.flag.DirtyFlagTest#testIsDirty")
        );
        let bare = Line {
            prev: "[ERROR] Tests run: 8, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 32.995 s <<< FAILURE! - in sorald.miner.WarningMinerTest",
            ..Line::for_test(
                2,
                "[ERROR] extractWarnings_statsOutput  Time elapsed: 0.461 s  <<< FAILURE!",
            )
        };
        assert_eq!(
            Java::start(&bare, bare.text)
                .and_then(|b| b.test)
                .as_deref(),
            Some("sorald.miner.WarningMinerTest#extractWarnings_statsOutput")
        );
        assert_eq!(
            id("[info] - adds numbers *** FAILED ***").as_deref(),
            Some("adds numbers")
        );
    }
}
