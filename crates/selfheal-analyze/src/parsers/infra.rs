//! One-line signatures: infrastructure trouble, time limits, dependency
//! resolution, configuration and Docker build errors.
//!
//! These failures are recognised by a single characteristic line whatever
//! tool printed it, so they live in one table rather than in a parser per
//! tool. Each signature fires at most once per step (a flaky network can
//! print the same reset a thousand times), and neighbouring hits of the same
//! category merge into one span (pip prints two lines per unresolvable
//! requirement).

use std::sync::LazyLock;

use regex::Regex;

use crate::gate::GatedSet;
use selfheal_types::Category;

use super::{Candidate, Line, Parser, one_line};

struct Signature {
    pattern: &'static str,
    category: Category,
    tool: &'static str,
    confidence: i32,
    /// A runner's summary: it says what kind of failure its step holds,
    /// never where (see [`Candidate::verdict`]).
    verdict: bool,
    /// How many lines after the matching one belong to the failure (a test
    /// runner's header, then the test's name and message), and where they
    /// stop.
    follow: u8,
    until: Until,
}

/// Where the lines under a header stop belonging to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Until {
    /// At a blank line.
    #[default]
    Blank,
    /// At a line indented no deeper than the header (blank lines belong).
    Dedent,
    /// Where a box drawn with `│` down its left side closes (Terraform).
    BoxEnd,
}

const fn sig(
    pattern: &'static str,
    category: Category,
    tool: &'static str,
    confidence: i32,
) -> Signature {
    Signature {
        pattern,
        category,
        tool,
        confidence,
        verdict: false,
        follow: 0,
        until: Until::Blank,
    }
}

impl Signature {
    /// The signature with up to `lines` lines under the matching one, to
    /// `until`: a test runner's header for one failure, then the test and
    /// the message (the `follow` and `until` fields).
    const fn follow(self, lines: u8, until: Until) -> Self {
        Self {
            follow: lines,
            until,
            ..self
        }
    }
}

/// A runner's summary line; see [`Signature::verdict`].
const fn verdict(pattern: &'static str, category: Category, tool: &'static str) -> Signature {
    Signature {
        pattern,
        category,
        tool,
        confidence: VERDICT_CONFIDENCE,
        verdict: true,
        follow: 0,
        until: Until::Blank,
    }
}

/// Below what the ranking counts as explaining a step, so the lines
/// before a verdict are still looked for.
const VERDICT_CONFIDENCE: i32 = 20;

use Category::{BuildConfig, Dependency, Infra as Inf, Lint, Timeout};

static SIGNATURES: &[Signature] = &[
    // Time limits and cancellation.
    sig(
        r"has exceeded the maximum execution time of",
        Timeout,
        "github-actions",
        85,
    ),
    sig(r"^The operation was canceled", Inf, "github-actions", 60),
    sig(r"^The job was canceled because", Inf, "github-actions", 60),
    sig(r"^Build was aborted$|^Aborted by \S+$", Inf, "jenkins", 60),
    sig(
        r"No output has been received in the last \d+m",
        Timeout,
        "travis",
        85,
    ),
    sig(
        r"The job exceeded the maximum time limit for jobs",
        Timeout,
        "travis",
        85,
    ),
    sig(
        r"(?i)^Build timed out \(after \d+ minutes\)",
        Timeout,
        "jenkins",
        85,
    ),
    sig(r"(?i)\bjob (?:execution )?timed out\b", Timeout, "ci", 70),
    // GitHub's `timeout-minutes` on a step, GitLab's job timeout, Azure's
    // and CircleCI's limits.
    sig(
        r"^The action has timed out\.?$|execution took longer than .* seconds|ran longer than the maximum time of \d+ minutes|Too long with no output \(exceeded",
        Timeout,
        "ci",
        85,
    ),
    // GNU `timeout` exits 124 when it kills the command.
    sig(
        r"exited with 124\b|exit code 124\b|exit status 124\b",
        Timeout,
        "timeout",
        60,
    ),
    // Lost runners and agents.
    sig(
        r"(?i)the runner has received a shutdown signal",
        Inf,
        "github-actions",
        85,
    ),
    sig(
        r"(?i)lost communication with the server",
        Inf,
        "github-actions",
        85,
    ),
    sig(
        r"(?i)hudson\.remoting\.(?:ChannelClosedException|RequestAbortedException)|Channel\$OrderlyShutdown|agent went offline|Cannot contact .*: java\.",
        Inf,
        "jenkins",
        70,
    ),
    // Memory and disk.
    sig(r"(?i)no space left on device", Inf, "system", 80),
    sig(
        r"(?i)JavaScript heap out of memory|java\.lang\.OutOfMemoryError|Cannot allocate memory|\bout of memory\b|oom-?kill",
        Inf,
        "system",
        70,
    ),
    sig(
        r"^Process completed with exit code 137\.?$|exit (?:code|status) 137\b|signal: killed$|^Killed$",
        Inf,
        "system",
        45,
    ),
    // Network and services.
    sig(
        r"(?i)could not resolve host|temporary failure in name resolution|name or service not known|getaddrinfo (?:ENOTFOUND|EAI_AGAIN)",
        Inf,
        "network",
        55,
    ),
    sig(
        r"(?i)connection reset by peer|\bECONNRESET\b|\bETIMEDOUT\b|connection timed out|TLS handshake timeout|\bECONNREFUSED\b|Connection refused",
        Inf,
        "network",
        40,
    ),
    // Services the job needs: not up, or their port taken by another;
    // downloads that broke off.
    sig(
        r"(?i)\bEADDRINUSE\b|Address already in use|port is already allocated|Can't connect to (?:local )?MySQL server|could not connect to server: |Max retries exceeded with url|ReadTimeoutError|ConnectTimeoutError|curl: \((?:7|28|35|52|56)\) ",
        Inf,
        "network",
        45,
    ),
    sig(
        r"(?i)\b(?:502 Bad Gateway|503 Service Unavailable|504 Gateway Time-?out|500 Internal Server Error)\b",
        Inf,
        "network",
        50,
    ),
    sig(
        r"(?i)API rate limit exceeded|toomanyrequests|429 Too Many Requests",
        Inf,
        "network",
        55,
    ),
    // A download that arrived but is not the file expected: apt's mirror
    // caught mid-sync, a script checking what it fetched. The file upstream
    // changed more often than the network garbled it, so no flaky hint.
    // A failed download leaves a bad file behind too: the network's or
    // TLS's own error, when there is one, is the cause and ranks higher.
    sig(
        r"(?i)Hash Sum mismatch|md5sum did not match|checksums? (?:did not match|mismatch)|computed checksums? did NOT match|checksum verification failed",
        Inf,
        "checksum",
        45,
    ),
    // Maven and Leiningen try every repository: `Could not find artifact
    // x in central` beside `Could not transfer artifact x from/to clojars:
    // <network error>` means one repository could not be asked, and the
    // artifact may well be there.
    sig(
        r"(?i)Could not transfer artifact .* from/to .*(?:timed out|Connection reset|Connection refused|Remote host (?:closed|terminated)|Unknown ?host|status code: 5\d\d|\b50[234]\b|Bad Gateway|Service Unavailable|No route to host|Network is unreachable)",
        Inf,
        "maven",
        82,
    ),
    // The same over TLS that the two ends cannot agree on: a JDK too old
    // for the repository, not a passing hiccup.
    sig(
        r"(?i)Could not transfer artifact .* from/to .*(?:fatal alert|handshake|PKIX path|certificate)",
        Inf,
        "tls",
        82,
    ),
    // Dependency resolution.
    sig(
        r"(?i)Could not find a version that satisfies the requirement|No matching distribution found for|ResolutionImpossible|pip's dependency resolver|because these package versions have conflicting dependencies",
        Dependency,
        "pip",
        80,
    ),
    sig(
        r"(?i)npm (?:ERR!|error) code (?:ERESOLVE|E404|ETARGET|ENOVERSIONS)|npm (?:ERR!|error) (?:404|notarget)|Unable to resolve dependency tree|Couldn't find any versions for|No matching version found for",
        Dependency,
        "npm",
        80,
    ),
    sig(
        r"(?i)failed to select a version for|no matching package named|failed to get `[^`]+` as a dependency|the lock file .* needs to be updated but --locked",
        Dependency,
        "cargo",
        80,
    ),
    sig(
        r"(?i)no certificate subject alternative name matches|SSL certificate problem|certificate verify failed|Unable to establish SSL connection|Received fatal alert: \w+|SSLHandshakeException",
        Inf,
        "tls",
        50,
    ),
    // A dependency or plugin built for a newer Java than the build runs.
    sig(
        r"class file has wrong version \d+\.\d+, should be \d+\.\d+|UnsupportedClassVersionError|has been compiled by a more recent version of the Java Runtime",
        Dependency,
        "jvm",
        85,
    ),
    // A check that the module files are tidy asks for `go mod tidy`.
    sig(
        r"(?i)\b(?:error|fatal|failed)\b.*\bgo mod tidy\b|go\.mod file is not tidy|go\.mod is not (?:up[- ]to[- ]date|tidy)|go\.sum is not (?:up[- ]to[- ]date|tidy)|go\.mod/go\.sum are not up[- ]to[- ]date",
        Dependency,
        "go",
        80,
    ),
    sig(
        // `unknown revision v1.2.3` ends go's line; git's `unknown revision
        // or path not in the working tree` is not about modules.
        r"missing go\.sum entry|cannot find module providing package|go: updates to go\.mod needed|module .* found, but does not contain package|\bunknown revision v?[\w./+-]+$",
        Dependency,
        "go",
        80,
    ),
    sig(
        r"(?i)Could not resolve dependencies for project|Could not find artifact|Failed to collect dependencies|Non-resolvable (?:parent POM|import POM)|Could not transfer artifact|Failed to read artifact descriptor",
        Dependency,
        "maven",
        80,
    ),
    sig(
        r"(?i)Could not resolve all (?:files|dependencies|artifacts) for configuration|Could not find [\w.-]+:[\w.-]+:|Could not resolve [\w.-]+:[\w.-]+:",
        Dependency,
        "gradle",
        80,
    ),
    sig(
        r"(?i)Could not find gem|Could not find [\w-]+-[\d.]+ in any of the sources|Bundler could not find compatible versions|Gem::MissingSpecError",
        Dependency,
        "bundler",
        80,
    ),
    sig(
        r"PackagesNotFoundError|UnsatisfiableError|ResolvePackageNotFound",
        Dependency,
        "conda",
        80,
    ),
    sig(
        r"(?i)Your requirements could not be resolved to an installable set of packages",
        Dependency,
        "composer",
        80,
    ),
    // The problems composer lists under it, for when the summary is far above.
    sig(
        r"^- (?:The requested package \S+ .*(?:could not be found|exists as|rejected by your constraint)|Root composer\.json requires \S+ .*(?:found|no matching|could not be found))",
        Dependency,
        "composer",
        78,
    ),
    sig(
        r"(?i)^E: Unable to locate package|^E: Package '.*' has no installation candidate|^E: Failed to fetch",
        Dependency,
        "apt",
        70,
    ),
    sig(
        r"(?i)Could not resolve dependencies|dependency resolution failed|version solving failed|Unable to satisfy the following requirements|unsatisfiable constraints|Because .* depends on .* version solving failed",
        Dependency,
        "deps",
        70,
    ),
    sig(
        r"(?i)poetry\.lock is not consistent|lock file is not up to date|npm ci can only install packages when your package\.json and package-lock\.json|frozen-lockfile|needs to be updated, but --frozen",
        Dependency,
        "lockfile",
        80,
    ),
    // Formatters in check mode and linters: each tool's own summary line,
    // so the category holds whichever project or CI system ran the tool.
    sig(
        r"^would reformat |^Oh no! .* files? would be reformatted|^\[warn\] Code style issues (?:found|were found)|^Code style issues found in|The following files had format violations|^Diff in .* at line \d+|mix format failed due to --check-formatted|is not gofmted|is not goimported|\[-Wclang-format-violations\]|code should be clang-formatted",
        Lint,
        "formatter",
        75,
    ),
    sig(
        r"(?i)There (?:is|are) \d+ errors? reported by Checkstyle|You have \d+ Checkstyle violations?|\bPMD Failure\b|You have \d+ PMD violations?|Total bugs: \d+|BugInstance size is \d+|Done linting! Found [1-9]\d* violations?|\d+ files? inspected, [1-9]\d* offenses? detected|Binary compatibility check failed",
        Lint,
        "linter",
        75,
    ),
    // standard (eslint with a fixed configuration) announces itself before its findings.
    sig(
        r"^(?:semi)?standard: Use JavaScript (?:Semi-)?Standard Style",
        Lint,
        "standard",
        70,
    ),
    sig(r"HTML-Proofer found \d+ failures?", Lint, "htmlproofer", 65),
    // Maven names the plugin whose goal failed; the lint plugins' goals
    // fail only on findings.
    sig(
        r"(?i)Failed to execute goal [\w.-]+:(?:maven-)?(?:checkstyle|pmd|spotbugs|findbugs|spotless|animal-sniffer|revapi|japicmp|forbiddenapis|apache-rat|rat|license|fmt|formatter|sortpom|impsort|editorconfig|scalastyle|scalafmt|ktlint|detekt)[\w-]*:",
        Lint,
        "maven",
        60,
    ),
    verdict(
        r"(?i)Failed to execute goal [\w.-]+:maven-(?:surefire|failsafe)-plugin:.*There (?:are|were) test failures",
        Category::TestFailure,
        "maven",
    ),
    // Gradle's failed task names the kind of work it did. Below the
    // `What went wrong` section, which says why when it is there.
    verdict(
        r"^> Task (?::[\w.-]+)*:(?:checkstyle|spotless|ktlint|detekt|pmd|spotbugs|lint|ktfmt|scalafmt|scalastyle|eslint|prettier)\w* FAILED$",
        Lint,
        "gradle",
    ),
    verdict(
        r"^> Task (?::[\w.-]+)*:compile\w* FAILED$",
        Category::CompileError,
        "gradle",
    ),
    verdict(
        r"^> Task (?::[\w.-]+)*:(?:test|\w*Test) FAILED$",
        Category::TestFailure,
        "gradle",
    ),
    // PHP's run-tests: `FAIL <title> [path/test.phpt]` after the test's diff.
    sig(
        r"^FAIL .+ \[[^\]]+\.phpt\]$",
        Category::TestFailure,
        "phpt",
        80,
    ),
    // Test runners' own verdicts, for runners without a parser here.
    verdict(
        r"^FAILED TEST SUMMARY$|\*\* TEST FAILED \*\*|^Error: testthat unit tests failed|^\s*\[ OK: \d+ \| SKIPPED: \d+ \| WARNINGS: \d+ \| FAILED: [1-9]",
        Category::TestFailure,
        "tests",
    ),
    // libyaml's syntax errors, as Ruby's Psych reports them with the
    // file: a project file that does not parse.
    sig(
        r"^\(\S+\): (?:found character that cannot start any token|did not find expected .*|mapping values are not allowed in this context|could not find expected ':'|found unexpected end of stream|found undefined tag handle) while (?:scanning|parsing)",
        Category::CompileError,
        "yaml",
        60,
    ),
    // node cannot parse a script it loads (a syntax the runtime is too old for).
    sig(r"^SyntaxError: ", Category::CompileError, "node", 55),
    // Elixir's compiler, also on test files and doctests.
    sig(
        r"^\*\* \(CompileError\) |^== Compilation error in file ",
        Category::CompileError,
        "elixir",
        70,
    ),
    // A check that generated files (a bundle, man pages, code) were rebuilt
    // and committed: what it asks for says so.
    sig(
        r"(?i)\bplease (?:\w+ )*(?:and )?commit (?:all |the )*(?:changes|results?|files?|generated)\b|\bRun 'make (?:docs|generate)' to |\bRun make (?:docs|generate) to |\bgenerated (?:files?|code|sources?) (?:is|are) (?:out of date|not up[- ]to[- ]date|stale)\b",
        Lint,
        "generated",
        60,
    ),
    // MiMa (sbt's binary-compatibility checker) lists each problem with
    // the filter that would silence it.
    sig(
        r"filter with: ProblemFilters\.exclude\[\w+\]",
        Lint,
        "mima",
        74,
    ),
    // pre-commit prints one `hook name.....Failed` line per failing hook.
    sig(r"^[\w][\w .:/()+-]*?\.{4,}Failed$", Lint, "pre-commit", 75),
    // npm names the failing script: `npm ERR! pkg@1.0.0 lint:css: `stylelint ...``.
    sig(
        r"^npm ERR! \S+@\S+ (?:lint|eslint|stylelint|format|prettier)[\w:-]*: ",
        Lint,
        "npm",
        65,
    ),
    // git refusing the job's own checkout: the workflow's setup, not the
    // network (a container's user does not own the workspace; a shallow
    // clone has no tags to describe).
    sig(
        r"fatal: unsafe repository|fatal: detected dubious ownership in repository|fatal: No tags can describe|fatal: No names found, cannot describe anything",
        BuildConfig,
        "git",
        70,
    ),
    // git transport failures: the remote or the network, not the code.
    sig(
        r"(?i)fatal: unable to access '.*': |Error cloning remote repo|fatal: Could not read from remote repository|fatal: the remote end hung up unexpectedly",
        Inf,
        "git",
        70,
    ),
    // A branch deleted before its build cloned it: gone for good.
    sig(
        r"(?i)fatal: Remote branch .* not found in upstream origin",
        Inf,
        "git-ref",
        70,
    ),
    // Docker registries that fail mid-pull.
    sig(
        r"(?i)failed to copy: httpReadSeeker|could not fetch content descriptor|TLS handshake timeout|net/http: request canceled while waiting for connection",
        Inf,
        "docker",
        75,
    ),
    // Travis runs each `.travis.yml` command through its functions file: a
    // missing or non-executable script is the configuration's fault.
    sig(
        r"^/home/travis/\.travis/functions: line \d+: .*: (?:No such file or directory|Permission denied)$|^No Rakefile found|error while loading shared libraries: |^\[[\d:]+\] Task never defined: ",
        BuildConfig,
        "shell",
        60,
    ),
    // TAP (Perl's prove, git's test suite): the per-script verdict.
    sig(
        r"Dubious, test returned \d+|^Failed \d+/\d+ subtests|^not ok \d+ - ",
        Category::TestFailure,
        "tap",
        55,
    ),
    // Erlang: Common Test's error notice for a failed case, between two
    // rules of `- - -`: `Mod:Func failed on line N`, then `Reason: …`. The
    // module is where the case last ran, often a helper, not the suite.
    sig(
        r"^[a-z][\w@]*:(?:[a-z][\w@]*|'[^']+') failed on line \d+$|^\w+_SUITE:(?:\w+|'[^']+') failed$",
        Category::TestFailure,
        "common_test",
        72,
    )
    .follow(6, Until::Blank),
    // A case it could not call, or a suite it could not read.
    sig(
        r"^\w+_SUITE:(?:\w+|'[^']+') could not be executed$|^Error in suite detected: ",
        Category::TestError,
        "common_test",
        70,
    )
    .follow(6, Until::Blank),
    // test_server's line for each failed case, and the run's summary.
    sig(
        r"^(?:Testing \S+: )?\*\*\* FAILED (?:test case \d+(?: of \d+)?|\{[\w@]+,[\w@']+\}) \*\*\*$",
        Category::TestFailure,
        "common_test",
        68,
    ),
    verdict(
        r"TEST COMPLETE, \d+ ok, [1-9]\d* failed",
        Category::TestFailure,
        "common_test",
    ),
    // EUnit: `mod:12 name...*failed*`, then the exception and the test's
    // output up to a blank line; a test that hung or whose process died.
    sig(
        r"(?:\.\.\.|^\s*)\*failed\*$",
        Category::TestFailure,
        "eunit",
        72,
    )
    .follow(12, Until::Blank),
    sig(
        r"(?:\.\.\.|^\s*)\*(?:timed out|unexpected termination of test process|could not start test process)\*$",
        Category::TestError,
        "eunit",
        70,
    )
    .follow(6, Until::Blank),
    verdict(
        r"^\s*Failed: [1-9]\d*\.\s+Skipped: \d+\.\s+Passed: \d+\.",
        Category::TestFailure,
        "eunit",
    ),
    // Xref: a call to a function that no module exports.
    sig(r"calls undefined function \S+", Lint, "xref", 65),
    // The Erlang VM going down.
    sig(
        r"System process <[\d.]+> terminated|Kernel pid terminated|Crash dump is being written to",
        Category::TestError,
        "erlang",
        50,
    ),
    // Sanitizers and xUnit-style per-test verdicts.
    sig(
        r"==\d+==ERROR: (?:Address|Memory|Thread|UndefinedBehavior|Leak)Sanitizer|^SUMMARY: (?:Address|Thread|UndefinedBehavior)Sanitizer|runtime error: .* (?:overflow|out of bounds|misaligned)",
        Category::TestError,
        "sanitizer",
        75,
    ),
    // xcpretty's summary of XCTest failures: `  testX, ((a) equal to (b)) failed: ...`.
    sig(
        r"^\s*test\w*, .*\bfailed\b",
        Category::TestFailure,
        "xcpretty",
        70,
    ),
    // googletest, and busted's gtest-style output: one line per failed test.
    sig(r"^\[  FAILED  \] ", Category::TestFailure, "gtest", 72),
    sig(
        r"^\s*[\w.]+(?:\(.*\))? \[FAIL\]$",
        Category::TestFailure,
        "xunit",
        70,
    ),
    // busted (Lua): `Failure → spec/x_spec.lua @ 5`, the test's name and
    // message below.
    // The arrow is matched as any one character: the literal gate knows
    // only ASCII text. Its literal (`.lua @ `) must be rare: a common one
    // (`error `) sends every line holding it to the parsers. (The same
    // holds for every pattern here: see `everyday_lines_hold_no_literal`.)
    sig(
        r"^Failure . \S+\.lua @ \d+$",
        Category::TestFailure,
        "busted",
        72,
    )
    .follow(8, Until::Blank),
    sig(
        r"^Error . \S+\.lua @ \d+$",
        Category::TestError,
        "busted",
        72,
    )
    .follow(8, Until::Blank),
    // CTest's line for a test that failed, and its summary.
    sig(
        r"^\s*\d+/\d+ Test +#\d+: \S+ \.*\s*(?:\*\*\*Failed|\*\*\*Exception|\*\*\*Timeout|\*\*\*Not Run)\b",
        Category::TestFailure,
        "ctest",
        72,
    )
    .follow(8, Until::Blank),
    verdict(
        r"^The following tests FAILED:$",
        Category::TestFailure,
        "ctest",
    ),
    // `dotnet test` (VSTest) and the NUnit console: one line per failed test.
    sig(
        r"^\s*Failed [\w.+`<>,\[\]-]+(?:\(.*\))? \[(?:\d+ m?s|< 1 ms|[\d.]+ (?:m?s|sec))\]$|^\d+\) Failed : [\w.+]+",
        Category::TestFailure,
        "dotnet-test",
        72,
    )
    .follow(10, Until::Blank),
    verdict(
        r"^Failed!\s+- Failed:\s+[1-9]",
        Category::TestFailure,
        "dotnet-test",
    ),
    // Common Test's console verdict for one case.
    sig(
        r"^%%% \w+_SUITE ==> \w+: FAILED$",
        Category::TestFailure,
        "common_test",
        72,
    )
    .follow(6, Until::Blank),
    // TeX stops at the first error of a document's source.
    // Under it, `l.12 \includegrahpics`: where in the source, and what follows.
    sig(
        r"^! (?:Undefined control sequence\.|LaTeX Error: |Package \w+ Error: |Missing \S+ inserted\.|Emergency stop\.|Paragraph ended before|Extra alignment tab|Misplaced alignment tab|Too many }'s)",
        Category::CompileError,
        "latex",
        65,
    )
    .follow(2, Until::Blank),
    // PHP's own fatal errors, outside any test runner's report.
    sig(
        r"^(?:PHP )?Parse error: +syntax error",
        Category::CompileError,
        "php",
        65,
    ),
    // With its stack trace.
    sig(
        r"^(?:PHP )?Fatal error: +Uncaught ",
        Category::TestError,
        "php",
        65,
    )
    .follow(8, Until::Blank),
    // Playwright: `  1) [chromium] › tests/x.spec.ts:3:5 › title ───`, the
    // error and the code under it, indented (arrows as any character: the
    // literal gate knows only ASCII).
    sig(
        r"^\s*\d+\) \[[\w -]+\] . \S+(?:\.spec\.ts:|\.test\.ts:|\.spec\.js:|\.test\.js:|\.spec\.tsx:|\.test\.tsx:|\.spec\.jsx:|\.test\.jsx:|\.spec\.mjs:|\.test\.mjs:)\d+:\d+ . ",
        Category::TestFailure,
        "playwright",
        72,
    )
    .follow(24, Until::Dedent),
    // ShellCheck: `In x.sh line 7:`, the line, and its findings under carets.
    sig(r"^In \S+ line \d+:$", Lint, "shellcheck", 70).follow(12, Until::Blank),
    // Terraform's (and OpenTofu's) boxed diagnostics: `│ Error: Summary`,
    // then where and why inside the box.
    sig(r"^[│|] Error: \S", Category::CompileError, "terraform", 70).follow(16, Until::BoxEnd),
    // Configuration and workflow.
    sig(
        r"^Input required and not supplied: \S+",
        BuildConfig,
        "github-actions",
        80,
    ),
    sig(
        r"(?i)Unable to resolve action|Invalid workflow file|Unrecognized named-value|Unable to locate executable file",
        BuildConfig,
        "github-actions",
        80,
    ),
    sig(
        r"(?i): command not found$|: not found$|is not recognized as an internal or external command",
        BuildConfig,
        "shell",
        55,
    ),
    sig(
        r"(?i)(?:secret|token|credential|api key)s? (?:is |are )?(?:not set|missing|required|empty)|Bad credentials|authentication required|401 Unauthorized|403 Forbidden",
        BuildConfig,
        "ci",
        50,
    ),
    // Docker build.
    sig(
        r"(?i)^(?:#\d+ )?ERROR: failed to solve:|failed to compute cache key|executor failed running|The command '.*' returned a non-zero code: \d+|^ERROR: failed to build",
        BuildConfig,
        "docker",
        70,
    ),
    sig(
        r"(?i)pull access denied|manifest unknown|manifest for .* not found|repository does not exist or may require 'docker login'",
        BuildConfig,
        "docker",
        70,
    ),
];

static SET: LazyLock<GatedSet> =
    LazyLock::new(|| super::re_set(SIGNATURES.iter().map(|s| s.pattern)).expect("valid regexes"));

static INPUT_NAME: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^Input required and not supplied: (\S+)").expect("valid regex"));

/// The signature a plain [`regex::RegexSet`] would pick: what [`SET`]
/// must agree with.
#[cfg(test)]
pub(crate) fn first_match_plain(text: &str) -> Option<usize> {
    static PLAIN: LazyLock<regex::RegexSet> = LazyLock::new(|| {
        regex::RegexSet::new(
            SIGNATURES
                .iter()
                .map(|s| super::ascii_word_boundaries(s.pattern)),
        )
        .expect("valid regexes")
    });
    PLAIN.matches(text).into_iter().next()
}

/// [`GatedSet::first_match_among`] for the signatures.
#[cfg(test)]
pub(crate) fn first_match_among(text: &str, found: u128) -> Option<usize> {
    SET.first_match_among(text, found)
}

/// How far a line is indented.
fn indent(text: &str) -> usize {
    text.len() - text.trim_start().len()
}

/// A line that is not part of the failure being followed, though no blank
/// line came first: the CI's own markers, and the next test of `ctest`.
fn ends_follow(text: &str) -> bool {
    text.starts_with("The command \"")
        || text.starts_with("##[")
        || text.starts_with("travis_")
        || text.starts_with("Done. Your build")
        || CTEST_NEXT.is_match(text)
}

static CTEST_NEXT: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^(?:Start +\d+: |\d+/\d+ Test +#\d+: )").expect("valid regex"));

/// Whether a line starts with its tool's warning marker. Not prettier's
/// `[warn]`: `prettier --check` reports its findings that way.
fn is_warning(text: &str) -> bool {
    const MARKERS: &[&str] = &[
        "WARNING:",
        "Warning:",
        "warning:",
        "WARN ",
        "[WARNING]",
        "[WARN]",
        "npm WARN ",
        "W: ",
    ];
    MARKERS.iter().any(|m| text.starts_with(m))
}

/// Each signature's literals, with the signature's index: the engine
/// looks for them in the same scan as its keywords.
pub(crate) fn literals() -> impl Iterator<Item = (usize, &'static [u8])> {
    SET.literals()
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Infra {
    fired: Vec<usize>,
    pending: Option<Candidate>,
    /// Lines still to add to `pending` (see [`Signature::follow`]).
    following: u8,
    until: Until,
    /// The header's indentation, for [`Until::Dedent`].
    indent: usize,
    /// Inside a warning that Julia's logging boxes (`┌ Warning: …`, then
    /// `│ ` lines): the lines the box holds are that warning's.
    warning_box: bool,
}

impl Parser for Infra {
    fn active(&self) -> bool {
        self.following > 0
    }

    /// A signature's literal is reason enough to look: `No Rakefile found`
    /// or `Task never defined` carry no failure word. Only this parser
    /// sees such lines, so a common literal costs one set lookup.
    fn wants(&self, facts: super::Facts) -> bool {
        facts.infra != 0
    }

    fn feed(&mut self, line: &Line<'_>, out: &mut Vec<Candidate>) {
        let text = line.text.trim_start();
        // What a tool itself calls a warning did not stop it: wget's
        // `WARNING: no certificate subject alternative name matches` under
        // `--no-check-certificate`, Maven's `[WARNING] Could not transfer`
        // from a mirror before another one answers.
        if !text.starts_with('│') {
            self.warning_box = ["┌ Warning:", "┌ Info:", "┌ Debug:"]
                .iter()
                .any(|m| text.starts_with(m));
        }
        let found = if self.warning_box || is_warning(text) {
            None
        } else {
            SET.first_match_among(text, line.facts.infra)
        };
        if self.following > 0 && found.is_none() {
            self.following -= 1;
            let ends = match self.until {
                Until::Blank => text.is_empty(),
                Until::Dedent => !text.is_empty() && indent(line.text) <= self.indent,
                Until::BoxEnd => !text.starts_with('│') && !text.starts_with('|'),
            };
            if ends || ends_follow(text) {
                self.following = 0;
            } else if !text.is_empty()
                && let Some(p) = self.pending.as_mut()
            {
                p.span.end = line.no;
                p.snippet.push((line.no, line.text.to_owned()));
            }
            return;
        }
        self.following = 0;
        let Some(idx) = found else {
            return;
        };
        let s = &SIGNATURES[idx];
        if let Some(p) = self.pending.as_mut()
            && p.category == s.category
            && p.verdict == s.verdict
            && line.no <= p.span.end + 2
        {
            p.span.end = line.no;
            p.snippet.push((line.no, text.to_owned()));
            p.confidence = p.confidence.max(s.confidence);
            return;
        }
        if self.fired.contains(&idx) {
            return;
        }
        self.fired.push(idx);
        if let Some(p) = self.pending.take() {
            out.push(p);
        }
        let mut message = one_line(text, 300);
        if let Some(c) = INPUT_NAME.captures(text) {
            message = format!("required input `{}` was not supplied", &c[1]);
        }
        let mut c = Candidate::new(s.category, s.tool, message)
            .span(line.no, line.no)
            .confidence(s.confidence)
            .snippet(vec![(line.no, text.to_owned())]);
        c.verdict = s.verdict;
        self.following = s.follow;
        self.until = s.until;
        self.indent = indent(line.text);
        // Networks, registries and runners recover; full disks, memory
        // limits, TLS mismatches and deleted branches do not.
        if s.category == Inf && !matches!(s.tool, "system" | "tls" | "git-ref" | "checksum") {
            c.flaky = Some(true);
        }
        self.pending = Some(c);
    }

    fn flush(&mut self, out: &mut Vec<Candidate>) {
        if let Some(p) = self.pending.take() {
            out.push(p);
        }
        self.fired.clear();
        self.following = 0;
        self.warning_box = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signature's literal sends each line that holds it to this parser:
    /// one found in passing output (`error ` in a test's title, ` test `
    /// in a runner's progress) costs a tenth of the analyser's time on a
    /// busy log.
    #[test]
    fn everyday_lines_hold_no_literal() {
        for line in [
            "tests/test_cart.py::test_add_item PASSED                                  [ 12%]",
            "  \u{2713} renders the error banner when the request fails (12 ms)",
            "   Compiling serde_json v1.0.120",
            "Collecting requests>=2.31 (from shop==0.1.0)",
            "npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.",
            "[INFO] Building jar: /home/runner/work/app/app/target/app-1.0.jar",
            "Requirement already satisfied: idna<4,>=2.5 in /opt/py/site-packages",
            "ok  \tgithub.com/acme/app/internal/store\t0.412s",
            "Running 6 tests using 2 workers",
            "1/3 Test #1: test_add .........................   Passed    0.01 sec",
            "PASS src/cart.spec.ts (5.2 s)",
        ] {
            let lower = line.to_ascii_lowercase();
            for (i, literal) in literals() {
                assert!(
                    !lower
                        .as_bytes()
                        .windows(literal.len())
                        .any(|w| w == literal),
                    "{line:?} holds {:?}, the literal of {}",
                    String::from_utf8_lossy(literal),
                    SIGNATURES[i].pattern
                );
            }
        }
    }

    /// A pattern without a literal the gate can use runs on every line
    /// the parsers see: on a busy log, two such patterns cost 10%.
    #[test]
    fn every_signature_has_a_literal_to_gate_it() {
        assert_eq!(SET.ungated(), 0);
    }

    #[test]
    fn every_signature_compiles_and_one_matches_each_kind() {
        assert_eq!(SET.len(), SIGNATURES.len());
        for (line, category) in [
            ("##[error]No space left on device", Inf),
            (
                "ERROR: No matching distribution found for foo==9",
                Dependency,
            ),
            (
                "The job running on runner GitHub Actions 2 has exceeded the maximum execution time of 360 minutes.",
                Timeout,
            ),
            ("Input required and not supplied: token", BuildConfig),
            (
                "go: example.com/m@v1.2.0: reading example.com/m/go.mod at revision v1.2.0: unknown revision v1.2.0",
                Dependency,
            ),
            (
                "Could not transfer artifact a:b:jar:1.0 from/to central (https://repo1.maven.org/maven2): Connection reset",
                Inf,
            ),
            (
                "Could not find artifact a:b:jar:1.0 in central (https://repo1.maven.org/maven2)",
                Dependency,
            ),
            ("npm error code ERESOLVE", Dependency),
            (
                "E: Failed to fetch http://deb.debian.org/x.deb  Hash Sum mismatch",
                Inf,
            ),
        ] {
            let idx = SET.first_match(line).expect(line);
            assert_eq!(SIGNATURES[idx].category, category, "{line}");
        }
        assert!(is_warning(
            "WARNING: no certificate subject alternative name matches"
        ));
        assert!(is_warning(
            "[WARNING] Could not transfer artifact a:b:pom:1.0 from/to m (https://m.example): Connection reset"
        ));
        assert!(!is_warning(
            "ERROR: no certificate subject alternative name matches"
        ));
        // git's own `unknown revision` is not about modules.
        assert_eq!(
            SET.first_match(
                "fatal: ambiguous argument 'src': unknown revision or path not in the working tree."
            ),
            None
        );
    }

    /// Common Test and `EUnit` print each failure in a fixed shape (OTP's
    /// `ct_framework` and `eunit_tty`); each shape has its tool and kind.
    #[test]
    fn erlang_runners_lines_are_known() {
        use Category::{TestError as E, TestFailure as F};
        let tool = |line: &str| {
            SET.first_match(line).map(|i| {
                (
                    SIGNATURES[i].tool,
                    SIGNATURES[i].category,
                    SIGNATURES[i].verdict,
                )
            })
        };
        for (line, expected) in [
            (
                "mod_mam_SUITE:query_all failed on line 212",
                ("common_test", F, false),
            ),
            ("suite:recv failed on line 593", ("common_test", F, false)),
            (
                "ejb_SUITE:'-run/2-fun-0-' failed on line 7",
                ("common_test", F, false),
            ),
            (
                "shop_SUITE:init_per_suite failed",
                ("common_test", F, false),
            ),
            (
                "shop_SUITE:missing_case could not be executed",
                ("common_test", E, false),
            ),
            (
                "Error in suite detected: {error,bad_groups}",
                ("common_test", E, false),
            ),
            (
                "Testing a.b.shop_SUITE: *** FAILED test case 4 of 6 ***",
                ("common_test", F, false),
            ),
            (
                "*** FAILED {shop_SUITE,init_per_suite} ***",
                ("common_test", F, false),
            ),
            (
                "Testing a.b: TEST COMPLETE, 5 ok, 1 failed of 6 test cases",
                ("common_test", F, true),
            ),
            ("shop_tests:14: total_test...*failed*", ("eunit", F, false)),
            (
                "  shop_tests: slow_test (waits)...*timed out*",
                ("eunit", E, false),
            ),
            (
                "*unexpected termination of test process*",
                ("eunit", E, false),
            ),
            ("  Failed: 1.  Skipped: 0.  Passed: 7.", ("eunit", F, true)),
        ] {
            assert_eq!(tool(line), Some(expected), "{line}");
        }
        // A passing run's summary, a task runner's `deploy:prod failed`, a
        // line that only mentions a case.
        for line in [
            "Testing a.b: TEST COMPLETE, 6 ok, 0 failed of 6 test cases",
            "  Failed: 0.  Skipped: 0.  Passed: 7.",
            "deploy:prod failed",
            "the *failed* marker is printed by eunit",
        ] {
            assert_eq!(tool(line), None, "{line}");
        }
    }
}
