//! Categories from the command a step ran, for failures that their own
//! text does not place.
//!
//! A parser judges a failure by what the tool printed. Some tools print
//! nothing that names them (a lint script that lists files, a link checker
//! that lists URLs), so the fallback finds the lines but cannot say what
//! kind of failure they are. The command the CI ran can: a step that runs
//! `npm run lint:css`, `gometalinter`, `./build.sh verify-swiftlint` or
//! `awesome_bot README.md` failed a check of the code's form, whatever it
//! printed. Only failures that are still `unknown` change, so a specific
//! parser's verdict always wins over the command; the one exception is a
//! compiler warning that `-Werror` made an error, which a lint step ran to
//! find.

use selfheal_types::Category;

use crate::parsers::Candidate;

/// Programs that judge form or style, matched as whole words of the
/// command. Anything with `lint` in a word (eslint, `lint:css`,
/// golangci-lint, `verify-swiftlint`) is matched separately.
const LINTERS: &[&str] = &[
    "rubocop",
    "prettier",
    "standard",
    "black",
    "flake8",
    "ruff",
    "mypy",
    "isort",
    "pycodestyle",
    "pydocstyle",
    "shellcheck",
    "checkstyle",
    "scalastyle",
    "scalafmt",
    "spotlesscheck",
    "clang-format",
    "clang-tidy",
    "gofmt",
    "goimports",
    "staticcheck",
    "rustfmt",
    // `cargo fmt`, `go fmt`, `terraform fmt`, `mix format`, `npm run format`.
    "fmt",
    "format",
    "clippy",
    "pre-commit",
    "detekt",
    "credo",
    // Erlang's static checks: the type analyser, cross references, style.
    "dialyzer",
    "xref",
    "elvis",
    "hlint",
    "vint",
    "codespell",
    "hadolint",
    "editorconfig-checker",
];

/// Link checkers: a URL that does not answer is what they report, so
/// their network errors are findings, not the network failing the job.
const LINK_CHECKERS: &[&str] = &[
    "awesome_bot",
    "htmlproofer",
    "html-proofer",
    "markdown-link-check",
    "lychee",
    "linkchecker",
];

/// What the command of a step says about its failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommandKind {
    Lint,
    LinkCheck,
    Other,
}

/// Words of a command: program names, script names, arguments.
fn words(command: &str) -> impl Iterator<Item = &str> {
    command
        .split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '/' | ':' | ',' | '"' | '\'' | '=' | ';' | '&' | '|' | '(' | ')' | '`'
                )
        })
        .filter(|w| !w.is_empty())
}

pub(crate) fn command_kind(command: &str) -> CommandKind {
    let lower = command.to_ascii_lowercase();
    let mut lint = false;
    for word in words(&lower) {
        // `./build.sh`, `lint.sh`, `check.py`: the name, not the extension.
        let stem = word
            .rsplit_once('.')
            .filter(|(_, ext)| matches!(*ext, "sh" | "py" | "rb" | "js" | "pl" | "exe"))
            .map_or(word, |(stem, _)| stem);
        if LINK_CHECKERS.contains(&stem) {
            return CommandKind::LinkCheck;
        }
        lint |= LINTERS.contains(&stem)
            || stem.contains("lint")
            || stem.starts_with("spotless")
            || stem.starts_with("checkstyle");
    }
    if lint {
        CommandKind::Lint
    } else {
        CommandKind::Other
    }
}

/// A compiler's warning that the build made an error (`[-Werror=unused-variable]`,
/// `[-Werror,-Wunused-variable]`): in a lint step, a finding of the check,
/// not code that does not compile.
fn promoted_warning(message: &str) -> bool {
    message.contains("[-Werror")
}

/// Re-reads one failure's category in the light of its step's command.
pub(crate) fn refine(c: &mut Candidate) {
    let Some(command) = c.command.as_deref() else {
        return;
    };
    match command_kind(command) {
        CommandKind::Lint
            if c.category == Category::Unknown
                || (c.category == Category::CompileError && promoted_warning(&c.message)) =>
        {
            c.category = Category::Lint;
        }
        CommandKind::LinkCheck
            if c.category == Category::Unknown
                || (c.category == Category::Infra && c.tool == "network") =>
        {
            // A link that did not answer this time may answer the next.
            if c.category == Category::Infra {
                c.flaky = Some(true);
            }
            c.category = Category::Lint;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lint_commands_are_told_from_others() {
        for lint in [
            "npm run lint:css",
            "go run build/ci.go lint",
            "./build.sh verify-swiftlint",
            "set -o errexit; source .travis/lint_06_script.sh",
            "bundle exec rubocop",
            "node_modules/.bin/prettier --list-different 'src/**/*.js'",
            "cargo fmt -- --check",
            "make lint",
            "mix format --check-formatted",
            "black --check .",
            "./gradlew spotlessCheck",
            "make dialyzer",
            "rebar3 xref",
        ] {
            assert_eq!(command_kind(lint), CommandKind::Lint, "{lint}");
        }
        for other in [
            "npm test",
            "make",
            "bundle exec rake",
            "mvn test -B",
            "ci/script.sh",
            "go test ./...",
            "python setup.py install",
            "./linker-test.sh",
        ] {
            assert_eq!(command_kind(other), CommandKind::Other, "{other}");
        }
        assert_eq!(
            command_kind("awesome_bot README.md --allow-dupe"),
            CommandKind::LinkCheck
        );
    }

    #[test]
    fn a_promoted_warning_is_lint_only_in_a_lint_step() {
        let finding = |command: &str| {
            let mut c = Candidate::new(
                Category::CompileError,
                "cc",
                "unused variable 'tax' [-Werror=unused-variable]",
            );
            c.command = Some(command.to_owned());
            refine(&mut c);
            c.category
        };
        assert_eq!(finding("make lint"), Category::Lint);
        assert_eq!(finding("make"), Category::CompileError);
        let mut undeclared = Candidate::new(Category::CompileError, "cc", "'x' undeclared");
        undeclared.command = Some("make lint".to_owned());
        refine(&mut undeclared);
        assert_eq!(undeclared.category, Category::CompileError);
    }
}
