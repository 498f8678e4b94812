//! Plain Python tracebacks, chained ones included.
//!
//! A traceback starts at `Traceback (most recent call last):`, lists
//! `File "p", line N, in f` frames outermost first and ends with the
//! exception line at the traceback's own indentation. Chains (`During
//! handling of the above exception...`, `The above exception was the direct
//! cause...`) are one failure: the last exception is the one that escaped,
//! so it names the failure, and its frames give the locations.

use std::sync::LazyLock;

use regex::Regex;
use selfheal_types::Category;

use super::{Candidate, Line, Parser, Snip, is_vendor_path, loc, one_line};

static FRAME: LazyLock<Regex> =
    LazyLock::new(|| super::re(r#"^\s*File "([^"]+)", line (\d+)"#).expect("valid regex"));
static EXCEPTION: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Failure|Iteration|Failed)|[a-z_][\w]*(?:\.[A-Za-z_]\w*)+)(?::|$)",
    )
    .expect("valid regex")
});
static NO_MODULE: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"No module named '([^'.]+)").expect("valid regex"));
static CANNOT_IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    super::re(r"cannot import name '[^']+' from '([^'.]+)[^']*'(?: \(([^)]+)\))?")
        .expect("valid regex")
});

/// `File "path", line N` anywhere at the start of a (trimmed) line.
pub(crate) fn frame(text: &str) -> Option<(String, u32)> {
    if !text.trim_start().starts_with("File \"") {
        return None;
    }
    let c = FRAME.captures(text)?;
    Some((c[1].to_owned(), c[2].parse().ok()?))
}

/// A line that names a Python exception: `ValueError: bad`, `KeyError`,
/// `mypkg.errors.ConfigError: ...`.
pub(crate) fn is_exception_line(text: &str) -> bool {
    !text.starts_with(' ') && EXCEPTION.is_match(text)
}

/// The category an escaped exception implies. Import errors are the
/// project's own fault (compile error) when the missing module is one of the
/// project's packages, and a dependency problem otherwise.
pub(crate) fn category_for(message: &str, frames: &[(String, u32)]) -> Category {
    let class = message.split([':', ' ']).next().unwrap_or("");
    let class = class.rsplit('.').next().unwrap_or(class);
    match class {
        "SyntaxError" | "IndentationError" | "TabError" | "NameError" => Category::CompileError,
        "ModuleNotFoundError" | "ImportError" => import_category(message, frames),
        "AssertionError" => Category::TestFailure,
        "MemoryError" => Category::Infra,
        "VersionConflict" | "ContextualVersionConflict" | "DistributionNotFound" => {
            Category::Dependency
        }
        // pkg_resources names the requirement it could not meet, whatever
        // wraps it (a pytest plugin that needs a newer pytest).
        _ if message.contains("Requirement.parse(") => Category::Dependency,
        _ => Category::TestError,
    }
}

fn import_category(message: &str, frames: &[(String, u32)]) -> Category {
    let project_has = |module: &str| {
        frames.iter().any(|(f, _)| {
            !is_vendor_path(f)
                && (f.contains(&format!("/{module}/"))
                    || f.starts_with(&format!("{module}/"))
                    || f.ends_with(&format!("/{module}.py"))
                    || f == &format!("{module}.py"))
        })
    };
    if let Some(c) = NO_MODULE.captures(message) {
        return if project_has(&c[1]) {
            Category::CompileError
        } else {
            Category::Dependency
        };
    }
    if let Some(c) = CANNOT_IMPORT.captures(message) {
        let vendor = c.get(2).is_some_and(|p| is_vendor_path(p.as_str()));
        return if vendor && !project_has(&c[1]) {
            Category::Dependency
        } else {
            Category::CompileError
        };
    }
    Category::CompileError
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Idle,
    Frames,
    /// After an exception line: a chain marker may follow.
    After {
        waited: u8,
        chained: bool,
    },
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Traceback {
    state: State,
    indent: usize,
    start: u64,
    end: u64,
    frames: Vec<(String, u32)>,
    exception: Option<String>,
    snip: Snip,
}

const HEAD: &str = "Traceback (most recent call last):";

impl Parser for Traceback {
    fn active(&self) -> bool {
        self.state != State::Idle
    }

    fn feed(&mut self, line: &Line<'_>, out: &mut Vec<Candidate>) {
        let text = line.text;
        let trimmed = text.trim_start();
        if trimmed.ends_with(HEAD) {
            let chained = matches!(self.state, State::After { chained: true, .. });
            if !chained {
                self.emit(out);
                self.start = line.no;
                self.snip = Snip::new(6, 24);
            }
            self.state = State::Frames;
            self.indent = text.len() - trimmed.len();
            self.frames.clear();
            self.exception = None;
            self.end = line.no;
            self.snip.push(line.no, text);
            return;
        }
        match self.state {
            State::Idle => {
                // `python x.py` with a syntax error prints the frame and caret
                // with no `Traceback` header.
                if let Some(f) = frame(text)
                    && !text.contains(", in ")
                {
                    self.start = line.no;
                    self.end = line.no;
                    self.snip = Snip::new(6, 24);
                    self.snip.push(line.no, text);
                    self.indent = 0;
                    self.frames.clear();
                    self.frames.push(f);
                    self.exception = None;
                    self.state = State::Frames;
                }
            }
            State::Frames => {
                let indent = text.len() - trimmed.len();
                if trimmed.is_empty() {
                    return;
                }
                if let Some(f) = frame(text) {
                    if self.frames.len() >= 500 {
                        self.frames.remove(0);
                    }
                    self.frames.push(f);
                    self.snip.push(line.no, text);
                    self.end = line.no;
                } else if indent > self.indent {
                    // Source lines and SyntaxError carets.
                    self.snip.push(line.no, text);
                    self.end = line.no;
                } else if is_exception_line(trimmed) {
                    self.exception = Some(trimmed.to_owned());
                    self.snip.push(line.no, text);
                    self.end = line.no;
                    self.state = State::After {
                        waited: 0,
                        chained: false,
                    };
                } else {
                    // Not a traceback after all (or one cut by interleaved output).
                    self.emit(out);
                }
            }
            State::After { waited, chained } => {
                if trimmed.starts_with("During handling of the above exception")
                    || trimmed.starts_with("The above exception was the direct cause")
                {
                    self.snip.push(line.no, text);
                    self.state = State::After {
                        waited: 0,
                        chained: true,
                    };
                } else if waited >= 2 {
                    self.emit(out);
                } else {
                    self.state = State::After {
                        waited: waited + u8::from(!trimmed.is_empty()),
                        chained,
                    };
                }
            }
        }
    }

    fn flush(&mut self, out: &mut Vec<Candidate>) {
        self.emit(out);
    }
}

impl Traceback {
    fn emit(&mut self, out: &mut Vec<Candidate>) {
        let state = std::mem::take(&mut self.state);
        let Some(exception) = self.exception.take() else {
            self.frames.clear();
            return;
        };
        if state == State::Idle {
            return;
        }
        let category = category_for(&exception, &self.frames);
        let mut c = Candidate::new(category, "python", one_line(&exception, 300))
            .span(self.start, self.end)
            .confidence(65)
            .snippet(self.snip.take());
        for (f, l) in self.frames.iter().rev() {
            if is_vendor_path(f) {
                continue;
            }
            let location = loc(f, Some(*l), None);
            if !c.locations.contains(&location) {
                c.locations.push(location);
            }
            if c.locations.len() == 8 {
                break;
            }
        }
        self.frames.clear();
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_lines_are_told_from_prose() {
        assert!(is_exception_line("ValueError: bad value"));
        assert!(is_exception_line("KeyboardInterrupt"));
        assert!(is_exception_line("requests.exceptions.HTTPError: 500"));
        assert!(!is_exception_line("Error messages follow"));
        assert!(!is_exception_line("  ValueError: indented"));
    }

    #[test]
    fn unmet_requirements_are_dependency_problems() {
        assert_eq!(
            category_for(
                "pluggy.PluginValidationError: Plugin 'pytest_cov' could not be loaded: (pytest 3.5.0 (/env/lib/python3.4/site-packages), Requirement.parse('pytest>=3.6'))!",
                &[]
            ),
            Category::Dependency
        );
        assert_eq!(
            category_for(
                "pkg_resources.ContextualVersionConflict: (six 1.10.0 (/env/lib/python3.6/site-packages), Requirement.parse('six>=1.12'), {'astroid'})",
                &[]
            ),
            Category::Dependency
        );
    }

    #[test]
    fn missing_modules_split_into_project_and_dependency() {
        let frames = vec![("src/mypkg/core.py".to_owned(), 3)];
        assert_eq!(
            category_for("ModuleNotFoundError: No module named 'mypkg.util'", &frames),
            Category::CompileError
        );
        assert_eq!(
            category_for("ModuleNotFoundError: No module named 'requests'", &frames),
            Category::Dependency
        );
    }
}
