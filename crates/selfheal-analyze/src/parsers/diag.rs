//! `file:line:col: message` diagnostics from compilers and linters.
//!
//! gcc/clang, javac and Maven's `[ERROR] X.java:[12,5]`, scalac/sbt, kotlinc,
//! tsc, C#, GHC, Erlang, and the Python linters (ruff, flake8, pylint, mypy)
//! all print one diagnostic per `path:line[:col]:` line, followed by a code
//! excerpt or caret. Neighbouring diagnostics form one failure whose message
//! is the first error: later errors are often consequences of it.
//! Warnings and notes are skipped; a job fails on errors.

use std::sync::LazyLock;

use regex::Regex;
use selfheal_types::{Category, Location};

use super::{Candidate, Line, Parser, Snip, loc, one_line};

/// The source extensions whose diagnostics this parser owns. Go and Rust
/// have their own parsers; Python tracebacks are not diagnostics.
const EXT: &str = r"c|cc|cpp|cxx|h|hh|hpp|hxx|m|mm|java|kt|kts|scala|sc|groovy|cs|fs|swift|hs|lhs|erl|hrl|ex|exs|ml|mli|d|nim|zig|ts|tsx|mts|cts|js|jsx|mjs|cjs|vue|py|pyi|php|rb|rake|gemspec|lua|pl|pm|sh|f90|f|for|cu|dart|vala|cmake|clj|cljs|coffee|elm|purs|v|sv|vhd|vhdl|tex|sty|cls|R|r|jl|pas|pp";

static COLON: LazyLock<Regex> = LazyLock::new(|| {
    super::re(&format!(
        r"^(?P<file>(?:[A-Za-z]:)?[^\s:()\[\]]*\.(?:{EXT})):(?P<line>\d+):(?:(?P<col>\d+):?)?\s+(?:(?P<sev>fatal error|error|warning|note|info|hint|remark)\b:?\s*)?(?P<msg>.*)$"
    ))
    .expect("valid regex")
});
static BRACKET: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r"^(?P<file>\S+\.(?:java|kt|scala|groovy)):\[(?P<line>\d+),(?P<col>\d+)\] (?P<msg>.+)$",
    )
    .expect("valid regex")
});
static PAREN: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^(?P<file>\S+\.(?:tsx?|mts|cts|jsx?|cs|fs|vb))\((?P<line>\d+),(?P<col>\d+)\): (?P<sev>error|warning) (?P<msg>\w+: .+?)(?: \[[^\]]+\])?$")
        .expect("valid regex")
});
static TSC_PRETTY: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^(?P<file>\S+\.(?:tsx?|mts|cts|jsx?)):(?P<line>\d+):(?P<col>\d+) - (?P<sev>error|warning) (?P<msg>TS\d+: .+)$")
        .expect("valid regex")
});
/// A finding located in a document (markdownlint, remark-lint, vale,
/// doc8, or a project's own README checker): no compiler reads these
/// files, so whatever reports a line of one judges its form.
static DOC: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^(?P<file>[^\s:]+\.(?:md|markdown|mdx|rst|adoc)):(?P<line>\d+)(?::(?P<col>\d+))?(?::\s*|\s+)(?P<msg>\S.*)$")
        .expect("valid regex")
});
static SWIFTLINT: LazyLock<Regex> =
    LazyLock::new(|| super::re(r" Violation: .*\([a-z_]+\)$").expect("valid regex"));
/// yamllint's parsable format: `x.yml:1:81: [error] line too long (line-length)`.
static YAMLLINT: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^(?P<file>\S+\.ya?ml):(?P<line>\d+):(?P<col>\d+): \[(?P<sev>error|warning)\] (?P<msg>.+)$")
        .expect("valid regex")
});
/// actionlint: a workflow file's location and a `[rule]` at the end.
static ACTIONLINT: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^(?P<file>\S*\.github/workflows/\S+\.ya?ml):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+ \[[\w-]+\])$")
        .expect("valid regex")
});
/// hadolint: `Dockerfile:3 DL3008 warning: Pin versions in apt get install.`
static HADOLINT: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^(?P<file>\S*Dockerfile[\w.-]*):(?P<line>\d+) (?P<msg>(?:DL|SC)\d{4} (?:error|warning|info|style): .+)$")
        .expect("valid regex")
});
/// Dialyzer's findings share erlc's `file.erl:12: message` shape; what
/// they say is what only a type analysis says (`has no local return`,
/// `breaks the contract`, `can never match`).
static DIALYZER: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"has no local return$|breaks the contract |will never return since |can never match |can never succeed$|will never be called$|^Invalid type specification for function |is a subtype of the success typing|^Call to missing or unexported function |but this value is unmatched$|has overlapping domains")
        .expect("valid regex")
});
/// `RuboCop`'s offense after the location: a severity letter (refactor,
/// convention, warning, error, fatal) and the cop's `Department/Name`.
static RUBOCOP: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^[RCWEF]: (?:\[Correct(?:able|ed)\] )?[A-Z][A-Za-z]+/[A-Za-z0-9]+: ")
        .expect("valid regex")
});
static PY_CODE: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^(?:\[\*\] )?[A-Z]{1,3}\d{2,4}\b").expect("valid regex"));
static MYPY_CODE: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"\[[a-z][a-z-]+\]$").expect("valid regex"));

#[derive(Debug)]
struct Group {
    category: Category,
    tool: &'static str,
    start: u64,
    end: u64,
    message: String,
    locations: Vec<Location>,
    count: usize,
    /// Lines taken since the last diagnostic line.
    continuation: u8,
    snip: Snip,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Diag {
    group: Option<Group>,
}

struct Hit {
    category: Category,
    tool: &'static str,
    location: Location,
    message: String,
}

/// The groups of clang-tidy's checks, the first word of each check's name.
const TIDY_GROUPS: &[&str] = &[
    "abseil",
    "altera",
    "android",
    "boost",
    "bugprone",
    "cert",
    "clang-analyzer",
    "concurrency",
    "cppcoreguidelines",
    "darwin",
    "fuchsia",
    "google",
    "hicpp",
    "linuxkernel",
    "llvm",
    "llvmlibc",
    "misc",
    "modernize",
    "mpi",
    "objc",
    "openmp",
    "performance",
    "portability",
    "readability",
    "zircon",
];

/// Whether a finding ends with the clang-tidy check that made it
/// (`[bugprone-use-after-move]`, `[modernize-use-auto,-warnings-as-errors]`):
/// a lint finding, even when the run promotes it to an error. A compiler's
/// own flag (`[-Werror=unused-variable]`) is not a check.
fn names_tidy_check(msg: &str) -> bool {
    let Some(inner) = msg
        .strip_suffix(']')
        .and_then(|m| m.rsplit_once('['))
        .map(|(_, inner)| inner)
    else {
        return false;
    };
    let check = inner.split(',').next().unwrap_or_default();
    TIDY_GROUPS.iter().any(|g| {
        check
            .strip_prefix(g)
            .is_some_and(|rest| rest.starts_with('-') && rest.len() > 1)
    })
}

/// Strips the prefixes build tools put before a compiler's line.
fn unprefix(text: &str) -> (&str, bool) {
    let t = text.trim_start();
    for p in [
        "[error] ",
        "[ERROR] ",
        "[Error] ",
        "error: ",
        "e: ",
        "ERROR: ",
        "[javac] ",
        "[scalac] ",
    ] {
        if let Some(rest) = t.strip_prefix(p) {
            let error_prefix = !p.starts_with("[javac") && !p.starts_with("[scalac");
            return (rest.trim_start(), error_prefix);
        }
    }
    (t, false)
}

/// A cheap test that `body` starts `path.ext:12` or `path.ext(12`; almost
/// every line fails it before any regex runs.
fn starts_with_location(body: &str) -> bool {
    let bytes = body.as_bytes();
    let mut dot = false;
    for (i, &b) in bytes.iter().enumerate().take(400) {
        match b {
            b'.' => dot = true,
            b':' | b'(' => {
                return dot
                    && i > 0
                    && bytes
                        .get(i + 1)
                        .is_some_and(|n| n.is_ascii_digit() || *n == b'[');
            }
            b' ' | b'\t' => return false,
            _ => {}
        }
    }
    false
}

/// Linters of files no compiler reads (YAML workflows, Dockerfiles): each
/// finding fails the check, whatever its level (yamllint's warnings only
/// under `--strict`, so not those).
///
/// Called only on lines that start with a location (see
/// [`location_path`]): a regex per line would cost the busy log dearly.
fn config_lint(body: &str, path: &str) -> Option<Hit> {
    let (tool, c) = if path.contains("Dockerfile") {
        ("hadolint", HADOLINT.captures(body)?)
    } else if !matches!(path.rsplit('.').next(), Some("yml" | "yaml")) {
        return None;
    } else if path.contains(".github/workflows/") {
        ("actionlint", ACTIONLINT.captures(body)?)
    } else {
        let c = YAMLLINT.captures(body)?;
        if &c["sev"] != "error" {
            return None;
        }
        ("yamllint", c)
    };
    Some(Hit {
        category: Category::Lint,
        tool,
        location: loc(
            &c["file"],
            c["line"].parse().ok(),
            c.name("col").and_then(|m| m.as_str().parse().ok()),
        ),
        message: c["msg"].to_owned(),
    })
}

/// The path of a line that starts `path:12`, cheaply: the bytes before
/// the first `:` that a digit follows, if no space comes first.
fn location_path(body: &str) -> Option<&str> {
    let bytes = body.as_bytes();
    let colon = bytes
        .iter()
        .take(400)
        .position(|&b| b == b':' || b == b' ' || b == b'\t')?;
    (colon > 0 && bytes[colon] == b':' && bytes.get(colon + 1).is_some_and(u8::is_ascii_digit))
        .then(|| &body[..colon])
}

fn classify(text: &str) -> Option<Hit> {
    let (body, error_prefix) = unprefix(text);
    if let Some(hit) = location_path(body).and_then(|path| config_lint(body, path)) {
        return Some(hit);
    }
    if !starts_with_location(body) && !starts_with_location(body.get(2..).unwrap_or("")) {
        return None;
    }
    if let Some(c) = BRACKET.captures(body) {
        if !error_prefix {
            return None;
        }
        return Some(Hit {
            category: Category::CompileError,
            tool: "javac",
            location: loc(&c["file"], c["line"].parse().ok(), c["col"].parse().ok()),
            message: c["msg"].to_owned(),
        });
    }
    if let Some(c) = PAREN.captures(body).or_else(|| TSC_PRETTY.captures(body)) {
        if &c["sev"] != "error" {
            return None;
        }
        let file = &c["file"];
        let ext = file.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
        let tool = if matches!(ext.as_str(), "cs" | "fs" | "vb") {
            "dotnet"
        } else {
            "tsc"
        };
        return Some(Hit {
            category: Category::CompileError,
            tool,
            location: loc(file, c["line"].parse().ok(), c["col"].parse().ok()),
            message: c["msg"].to_owned(),
        });
    }
    if let Some(c) = DOC.captures(body) {
        return Some(Hit {
            category: Category::Lint,
            tool: "doc-lint",
            location: loc(
                &c["file"],
                c["line"].parse().ok(),
                c.name("col").and_then(|m| m.as_str().parse().ok()),
            ),
            message: c["msg"].to_owned(),
        });
    }
    let c = COLON.captures(body)?;
    let sev = c.name("sev").map(|m| m.as_str());
    let file = &c["file"];
    let msg = c["msg"].trim();
    let location = loc(
        file,
        c["line"].parse().ok(),
        c.name("col").and_then(|m| m.as_str().parse().ok()),
    );
    let ext = file.rsplit('.').next().unwrap_or("");
    let (category, tool) = kind(text, ext, sev, msg, error_prefix)?;
    Some(Hit {
        category,
        tool,
        location,
        message: msg.to_owned(),
    })
}

/// What a located message is and which tool printed it, from the file's
/// extension, the severity word after the place (`sev`) and the message;
/// `None` for a warning, or prose that names a file.
fn kind(
    text: &str,
    ext: &str,
    sev: Option<&str>,
    msg: &str,
    error_prefix: bool,
) -> Option<(Category, &'static str)> {
    // SwiftLint: `file.swift:3:9: warning: Colon Violation: ... (colon)`.
    // In a lint step that failed, its warnings are the findings.
    if matches!(ext, "swift") && matches!(sev, Some("warning" | "error")) && SWIFTLINT.is_match(msg)
    {
        return Some((Category::Lint, "swiftlint"));
    }
    if matches!(sev, Some("warning" | "note" | "info" | "hint" | "remark")) {
        return None;
    }
    // RuboCop fails on any offense, whatever its severity letter.
    if matches!(ext, "rb" | "rake" | "gemspec") && RUBOCOP.is_match(msg) {
        return Some((Category::Lint, "rubocop"));
    }
    if matches!(ext, "py" | "pyi") {
        // Python linters: a rule code (ruff, flake8, pylint) or mypy's
        // `error: ... [code]`. Anything else is prose that names a file.
        let tool = if sev == Some("error") && (MYPY_CODE.is_match(msg) || text.contains(": error:"))
        {
            "mypy"
        } else if PY_CODE.is_match(msg) {
            if msg.contains("[*]") {
                "ruff"
            } else if msg.len() > 6 && msg.as_bytes().get(5) == Some(&b':') {
                "pylint"
            } else {
                "flake8"
            }
        } else {
            return None;
        };
        return Some((Category::Lint, tool));
    }
    // erlc's shape: no severity word, errors unmarked, warnings `Warning:`.
    // Dialyzer prints its findings in the same shape.
    let erlc_shape = matches!(ext, "erl" | "hrl") && sev.is_none();
    if erlc_shape && DIALYZER.is_match(msg) {
        return Some((Category::Lint, "dialyzer"));
    }
    let erlc_error = erlc_shape && !msg.starts_with("Warning:");
    let is_error = matches!(sev, Some("error" | "fatal error"))
        || error_prefix
        || erlc_error
        || msg.to_ascii_lowercase().contains("error");
    // GHC and others put the message on the lines below `file:1:2: error:`.
    if !is_error || (msg.is_empty() && sev.is_none()) {
        return None;
    }
    // XCTest reports a failed assertion as a compiler-style error on the
    // test's line: `-[Suite testX] : XCTAssertEqual failed: ...`.
    if matches!(ext, "swift" | "m" | "mm") && msg.starts_with("-[") && msg.contains("] : ") {
        return Some((Category::TestFailure, "xctest"));
    }
    // animal-sniffer reports calls outside an API signature in javac's
    // format; javac itself never says `Undefined reference`.
    if matches!(ext, "java" | "kt" | "scala") && msg.starts_with("Undefined reference: ") {
        return Some((Category::Lint, "animal-sniffer"));
    }
    if names_tidy_check(msg) {
        return Some((Category::Lint, "clang-tidy"));
    }
    let tool = match ext {
        "java" | "groovy" => "javac",
        "kt" | "kts" => "kotlinc",
        "scala" | "sc" => "scalac",
        "ts" | "tsx" | "mts" | "cts" => "tsc",
        "hs" | "lhs" => "ghc",
        "erl" | "hrl" => "erlc",
        "ex" | "exs" => "elixir",
        "swift" => "swiftc",
        "cs" => "dotnet",
        "c" | "cc" | "cpp" | "cxx" | "h" | "hh" | "hpp" | "hxx" | "m" | "mm" | "cu" => "cc",
        _ => "compiler",
    };
    Some((Category::CompileError, tool))
}

/// ruff's default (full) format: the rule and message on one line
/// (`F401 [*] 'os' imported but unused`), the location on the next
/// (`--> src/x.py:1:8`).
fn ruff_full(text: &str, prev: &str) -> Option<Hit> {
    if !text.trim_start().starts_with("--> ") {
        return None;
    }
    let c = RUFF_ARROW.captures(text)?;
    let prev = prev.trim();
    if !PY_CODE.is_match(prev) {
        return None;
    }
    Some(Hit {
        category: Category::Lint,
        tool: "ruff",
        location: loc(&c["file"], c["line"].parse().ok(), c["col"].parse().ok()),
        message: prev.to_owned(),
    })
}

static RUFF_ARROW: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"^\s*--> (?P<file>\S+\.pyi?):(?P<line>\d+):(?P<col>\d+)$").expect("valid regex")
});

impl Parser for Diag {
    fn active(&self) -> bool {
        self.group.is_some()
    }

    fn feed(&mut self, line: &Line<'_>, out: &mut Vec<Candidate>) {
        let text = line.text;
        let hit = classify(text).or_else(|| ruff_full(text, line.prev));
        match (self.group.as_mut(), hit) {
            (Some(g), Some(h)) if same_run(g, &h) && line.no <= g.end + 6 => {
                g.end = line.no;
                g.count += 1;
                g.continuation = 0;
                g.snip.push(line.no, text);
                if !g.locations.contains(&h.location) && g.locations.len() < 8 {
                    g.locations.push(h.location);
                }
            }
            (_, Some(h)) => {
                self.end(out);
                let mut snip = Snip::new(24, 6);
                snip.push(line.no, text);
                self.group = Some(Group {
                    category: h.category,
                    tool: h.tool,
                    start: line.no,
                    end: line.no,
                    message: h.message,
                    locations: vec![h.location],
                    count: 1,
                    continuation: 0,
                    snip,
                });
            }
            (Some(g), None) => {
                if line.no > g.end + 6 {
                    self.end(out);
                } else if !text.trim().is_empty() && line.no == g.end + 1 && g.continuation < 6 {
                    // Code excerpts, carets and notes under the diagnostic.
                    if g.message.is_empty() {
                        text.trim().clone_into(&mut g.message);
                    }
                    g.continuation += 1;
                    g.end = line.no;
                    g.snip.push(line.no, text);
                }
            }
            (None, None) => {}
        }
    }

    fn flush(&mut self, out: &mut Vec<Candidate>) {
        self.end(out);
    }
}

/// ruff and flake8 share rule codes; only ruff marks fixable ones, so
/// a run of Python lint lines is one tool's output whatever each line shows.
fn same_run(g: &Group, h: &Hit) -> bool {
    g.tool == h.tool
        || (g.category == Category::Lint
            && h.category == Category::Lint
            && g.tool != "mypy"
            && h.tool != "mypy")
}

impl Diag {
    fn end(&mut self, out: &mut Vec<Candidate>) {
        let Some(mut g) = self.group.take() else {
            return;
        };
        let mut message = if g.message.is_empty() {
            "error".to_owned()
        } else {
            one_line(&g.message, 300)
        };
        if g.count > 1 {
            message = format!("{message} (and {} more)", g.count - 1);
        }
        // SwiftLint's and RuboCop's findings come before their counts
        // (`Done linting! Found N violations`, `N files inspected, M
        // offenses detected`), which say only how many.
        let confidence = match (g.category, g.tool) {
            (_, "swiftlint" | "rubocop") => 76,
            (Category::Lint, _) => 60,
            _ => 70,
        };
        let mut c = Candidate::new(g.category, g.tool, message)
            .span(g.start, g.end)
            .confidence(confidence)
            .snippet(g.snip.take());
        c.locations = g.locations;
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(line: &str) -> Option<(&'static str, Category)> {
        classify(line).map(|h| (h.tool, h.category))
    }

    #[test]
    fn clang_tidy_findings_are_lint() {
        assert_eq!(
            tool(
                "src/cart.cpp:27:10: error: 'total' used after it was moved [bugprone-use-after-move,-warnings-as-errors]"
            ),
            Some(("clang-tidy", Category::Lint))
        );
        assert_eq!(
            tool("src/a.c:12:9: error: unused variable 'tax' [-Werror=unused-variable]"),
            Some(("cc", Category::CompileError))
        );
        assert_eq!(
            tool("src/a.cpp:3:1: error: no member named 'x' in 'std::vector<int>' [misc]"),
            Some(("cc", Category::CompileError))
        );
    }

    #[test]
    fn each_format_is_recognised() {
        assert_eq!(
            tool("src/a.c:12:5: error: 'x' undeclared"),
            Some(("cc", Category::CompileError))
        );
        assert_eq!(tool("src/a.c:12:5: warning: unused"), None);
        assert_eq!(
            tool("[ERROR] /w/src/main/java/A.java:[12,5] cannot find symbol"),
            Some(("javac", Category::CompileError))
        );
        assert_eq!(
            tool("[error] /w/src/A.scala:10:8: object X is not a member of package y"),
            Some(("scalac", Category::CompileError))
        );
        assert_eq!(
            tool("src/a.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'."),
            Some(("tsc", Category::CompileError))
        );
        assert_eq!(
            tool("src/x.py:3:8: F401 [*] `os` imported but unused"),
            Some(("ruff", Category::Lint))
        );
        assert_eq!(
            tool("src/x.py:3:1: E302 expected 2 blank lines"),
            Some(("flake8", Category::Lint))
        );
        assert_eq!(
            tool("src/x.py:3: error: Incompatible return value type  [return-value]"),
            Some(("mypy", Category::Lint))
        );
        assert_eq!(
            tool("src/x.py:1:0: C0114: Missing module docstring"),
            Some(("pylint", Category::Lint))
        );
        assert_eq!(tool("see docs/a.py:3: for details"), None);
        // erlc leaves errors unmarked and marks warnings.
        assert_eq!(
            tool("src/rabbit_vhost.erl:344: variable 'Description' is unbound"),
            Some(("erlc", Category::CompileError))
        );
        assert_eq!(
            tool("src/rabbit_vhost.erl:12: Warning: variable 'X' is unused"),
            None
        );
        // Dialyzer's findings, in erlc's shape, with and without a column.
        assert_eq!(
            tool("shop_cart.erl:41: Function total/1 has no local return"),
            Some(("dialyzer", Category::Lint))
        );
        assert_eq!(
            tool("src/shop_cart.erl:57:5: The pattern 'ok' can never match the type {'error',_}"),
            Some(("dialyzer", Category::Lint))
        );
        assert_eq!(
            tool("README.md:2186:Line longer than 80 characters."),
            Some(("doc-lint", Category::Lint))
        );
        assert_eq!(
            tool("docs/index.md:12:81 MD013/line-length Line length [Expected: 80; Actual: 95]"),
            Some(("doc-lint", Category::Lint))
        );
        assert_eq!(
            tool(
                "[ERROR] /w/src/main/java/a/Hex.java:348: Undefined reference: java.nio.ByteBuffer java.nio.ByteBuffer.flip()"
            ),
            Some(("animal-sniffer", Category::Lint))
        );
        assert_eq!(
            tool(
                "/Users/ci/shop/ShopTests/CartTests.swift:21: error: -[ShopTests.CartTests testTotal] : XCTAssertEqual failed: (\"3\") is not equal to (\"4\")"
            ),
            Some(("xctest", Category::TestFailure))
        );
        assert_eq!(
            tool(
                "/Users/ci/shop/Shop/Cart.swift:88:42: warning: Colon Violation: Colons should be next to the identifier when specifying a type. (colon)"
            ),
            Some(("swiftlint", Category::Lint))
        );
        assert_eq!(
            tool("/Users/ci/shop/Shop/Cart.swift:8:4: warning: variable 'x' was never used"),
            None
        );
        assert_eq!(
            tool(
                "db/migrate/20190731_rename.rb:1:1: C: Style/FrozenStringLiteralComment: Missing magic comment # frozen_string_literal: true."
            ),
            Some(("rubocop", Category::Lint))
        );
        assert_eq!(
            tool(
                "app/models/cart.rb:12:5: W: [Correctable] Lint/UselessAssignment: Useless assignment to variable - x."
            ),
            Some(("rubocop", Category::Lint))
        );
        assert_eq!(tool("app/models/cart.rb:12:5: C: see the notes"), None);
        assert_eq!(
            tool("foo/widget.yml:1:81: [error] line too long (122 > 80 characters) (line-length)"),
            Some(("yamllint", Category::Lint))
        );
        assert_eq!(
            tool("foo/widget.yml:1:1: [warning] missing document start \"---\" (document-start)"),
            None
        );
        assert_eq!(
            tool(
                ".github/workflows/ci.yml:21:24: property \"node\" is not defined in object type {os: string} [expression]"
            ),
            Some(("actionlint", Category::Lint))
        );
        assert_eq!(
            tool("Dockerfile:3 DL3008 warning: Pin versions in apt get install."),
            Some(("hadolint", Category::Lint))
        );
        assert_eq!(
            tool("docker/Dockerfile.ci:7 DL3025 warning: Use arguments JSON notation for CMD"),
            Some(("hadolint", Category::Lint))
        );
        // GHC puts the message under the location.
        assert_eq!(
            tool("src/Parser.hs:60:64: error:"),
            Some(("ghc", Category::CompileError))
        );
    }

    #[test]
    fn a_message_below_the_location_becomes_the_message() {
        let mut d = Diag::default();
        let mut out = Vec::new();
        for (no, text) in [
            (1, "src/Parser.hs:60:64: error:"),
            (2, "    Not in scope: type variable 'a'"),
        ] {
            d.feed(&Line::for_test(no, text), &mut out);
        }
        d.flush(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].message, "Not in scope: type variable 'a'");
        assert_eq!((out[0].span.start, out[0].span.end), (1, 2));
    }
}
