//! The cheap check before the sandbox: does the changed code still parse,
//! and does it use only names the file has?
//!
//! Small models often answer with code that does not parse (a `raise` in an
//! expression, an unclosed bracket), or that uses a name nothing defines
//! (`math.ceil` without `import math`; a parameter renamed but not its uses).
//! Found here, it costs milliseconds instead of a sandbox run, the model is
//! told the exact name and line, and the loop may ask again within the
//! attempt. Python files are read by the machine's own `python3`, one process
//! per text ([`SCRIPT`]: `ast.parse`, then `symtable` for how each name
//! resolves; it runs none of the code); without one, or for other languages,
//! the sandbox judges as before.
//!
//! Only what the change breaks is refused: a file that did not parse before
//! the change (the bug being fixed may be the syntax error) is left to
//! validation, and so is a name that was already undefined before it (a
//! file may have such names on purpose). A name counts as undefined when
//! some scope reads it as a global and the module binds it nowhere (not by
//! an assignment, def, class, import, loop, `with`, `except`, `match` or
//! walrus target, nor under a `global` declaration anywhere), and it is no
//! builtin and no dunder.
//!
//! False refusals are worse than misses, so the script is lenient wherever
//! Python can define a name it does not see: it says nothing about a module
//! that can add globals at run time (`from x import *`, `globals()`,
//! `locals()`, `vars()`, `exec`, `sys.modules[__name__]`, enum's
//! `_convert_` and `global_enum`); a name read in a `try` that catches
//! `NameError` (or `Exception`) counts as defined, and so does, in a package's `__init__.py`,
//! each submodule it imports; annotations Python never evaluates (all of
//! them under `from __future__ import annotations`, a local variable's
//! always) are not read; builtins of newer Pythons than the machine's count;
//! and a scope it cannot match to the symbol table (a newer Python's
//! generics) is not judged. Over the machine's standard library and pip's
//! vendored packages (1,382 files) it finds names in 6, each a real
//! `NameError` on Python 3 where it is reached: Python 2's `long` and
//! `unicode` behind a version test, a missing import, and test modules that
//! mean it.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::{Command, Stdio};

use selfheal_patch::ChangeSet;

/// Exit status of [`SCRIPT`] for a syntax error; any other failure means the
/// check could not run and says nothing about the code.
const SYNTAX_ERROR: i32 = 3;

/// Reads the source on stdin, names it by `argv[1]`; prints the syntax error,
/// or the undefined names with their first lines, or `?`.
const SCRIPT: &str = include_str!("syntax.py");

/// How many undefined names a refusal lists.
const NAMES_SHOWN: usize = 3;

/// How a text parsed.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// It parses; the names some scope reads as globals that the module
    /// does not define, with the first line of each, in line order. `None`
    /// when the module can define names the script cannot see.
    Ok(Option<Vec<(String, u32)>>),
    /// `line N: message`.
    SyntaxError(String),
    /// The script could not be run.
    Unknown,
}

fn parse_python(path: &str, text: &str) -> Parsed {
    let child = Command::new("python3")
        // Isolated: no user site, no PYTHON* variables, no current directory on the path.
        .args(["-I", "-S", "-c", SCRIPT, path])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return Parsed::Unknown;
    };
    if let Some(mut stdin) = child.stdin.take()
        && stdin.write_all(text.as_bytes()).is_err()
    {
        let _ = child.kill();
        let _ = child.wait();
        return Parsed::Unknown;
    }
    let Ok(out) = child.wait_with_output() else {
        return Parsed::Unknown;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    match out.status.code() {
        Some(0) => Parsed::Ok(undefined_names(&stdout)),
        Some(SYNTAX_ERROR) => Parsed::SyntaxError(stdout.trim().to_owned()),
        _ => Parsed::Unknown,
    }
}

/// The script's `NAME LINE` lines; `None` for `?` or anything unexpected.
fn undefined_names(stdout: &str) -> Option<Vec<(String, u32)>> {
    stdout
        .lines()
        .map(|line| {
            let (name, number) = line.split_once(' ')?;
            Some((name.to_owned(), number.parse().ok()?))
        })
        .collect()
}

/// `Err(reason)` when the change turns a Python file that parsed into one
/// that does not, or makes it use names it does not define; the reason names
/// the file and the lines.
pub(crate) fn check(change: &ChangeSet) -> Result<(), String> {
    for file in &change.files {
        let python = std::path::Path::new(&file.path)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("py"));
        if !python {
            continue;
        }
        match parse_python(&file.path, &file.after) {
            Parsed::SyntaxError(error) => {
                let parsed_before = file
                    .before
                    .as_deref()
                    .is_none_or(|before| matches!(parse_python(&file.path, before), Parsed::Ok(_)));
                if parsed_before {
                    return Err(format!(
                        "refused before validation: the change leaves {} unparseable ({error}); answer with code that parses",
                        file.path
                    ));
                }
            }
            Parsed::Ok(Some(after)) if !after.is_empty() => {
                // The text before is read only when the one after has
                // undefined names, so a sound change costs one process.
                let before: BTreeSet<String> = match file.before.as_deref() {
                    None => BTreeSet::new(),
                    Some(before) => match parse_python(&file.path, before) {
                        Parsed::Ok(Some(names)) => names.into_iter().map(|(n, _)| n).collect(),
                        // Unparseable, or out of the script's sight: no
                        // telling which names are new.
                        _ => continue,
                    },
                };
                let new: Vec<(String, u32)> = after
                    .into_iter()
                    .filter(|(name, _)| !before.contains(name))
                    .collect();
                if !new.is_empty() {
                    return Err(undefined_reason(&file.path, &new));
                }
            }
            Parsed::Ok(_) | Parsed::Unknown => {}
        }
    }
    Ok(())
}

/// One line for the model: the first few names with their lines, and what
/// to do about them.
fn undefined_reason(path: &str, names: &[(String, u32)]) -> String {
    if let [(name, line)] = names {
        return format!(
            "refused before validation: the change uses `{name}` in {path} (line {line}), which is not defined or imported there; import it or use a name the file has"
        );
    }
    let mut shown: Vec<String> = names
        .iter()
        .take(NAMES_SHOWN)
        .map(|(name, line)| format!("`{name}` (line {line})"))
        .collect();
    if names.len() > NAMES_SHOWN {
        shown.push(format!("{} more", names.len() - NAMES_SHOWN));
    }
    let last = shown.pop().unwrap_or_default();
    format!(
        "refused before validation: the change uses {} and {last} in {path}, which are not defined or imported there; import them or use names the file has",
        shown.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use selfheal_patch::FileChange;

    use super::*;

    fn change(path: &str, before: Option<&str>, after: &str) -> ChangeSet {
        ChangeSet {
            files: vec![FileChange {
                path: path.to_owned(),
                before: before.map(str::to_owned),
                after: after.to_owned(),
            }],
        }
    }

    fn python_present() {
        assert_eq!(
            parse_python("x.py", "x = 1\n"),
            Parsed::Ok(Some(Vec::new())),
            "these tests need python3 on the PATH (apt-get install python3)"
        );
    }

    #[test]
    fn a_change_that_breaks_parsing_is_refused_with_the_line() {
        python_present();
        let broken = change(
            "src/version.py",
            Some("def f(p):\n    return p[2]\n"),
            "def f(p):\n    return p[2] if p else raise ValueError()\n",
        );
        let reason = check(&broken).expect_err("refused");
        assert!(
            reason.contains("src/version.py") && reason.contains("line 2: invalid syntax"),
            "{reason}"
        );
        // A new file that does not parse is refused too.
        assert!(check(&change("new.py", None, "def (:\n")).is_err());
    }

    #[test]
    fn code_that_parses_and_files_that_did_not_parse_before_pass() {
        python_present();
        assert_eq!(check(&change("a.py", Some("x = 1\n"), "x = 2\n")), Ok(()));
        // The bug being fixed may be the syntax error; validation judges.
        assert_eq!(
            check(&change("a.py", Some("if x\n    y()\n"), "if x\n    z()\n")),
            Ok(())
        );
        // Other languages are the sandbox's business.
        assert_eq!(
            check(&change("a.rs", Some("fn a() {}\n"), "fn (\n")),
            Ok(())
        );
        // Nothing runs: a file that would print or exit only parses.
        assert_eq!(
            check(&change(
                "a.py",
                Some("x = 1\n"),
                "import sys\nsys.exit(3)\nprint('ran')\n"
            )),
            Ok(())
        );
    }

    /// What the script finds undefined in `text`, as a new file.
    fn undefined(text: &str) -> Option<Vec<(String, u32)>> {
        match parse_python("m.py", text) {
            Parsed::Ok(names) => names,
            other => panic!("{other:?}"),
        }
    }

    fn names(found: &[(&str, u32)]) -> Vec<(String, u32)> {
        found.iter().map(|(n, l)| ((*n).to_owned(), *l)).collect()
    }

    /// `pages.py` of the off-by-one sample, shortened.
    const PAGES: &str = "\
from typing import Sequence


def page_count(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))
";

    #[test]
    fn a_change_that_uses_a_module_it_does_not_import_is_refused() {
        python_present();
        let ceil = PAGES.replace(
            "max(1, -(-total // per_page))",
            "max(1, math.ceil(total / per_page))",
        );
        assert_eq!(
            check(&change("src/pager/pages.py", Some(PAGES), &ceil)),
            Err("refused before validation: the change uses `math` in src/pager/pages.py (line 5), which is not defined or imported there; import it or use a name the file has".to_owned())
        );
        let imported = format!("import math\n{ceil}");
        assert_eq!(
            check(&change("src/pager/pages.py", Some(PAGES), &imported)),
            Ok(())
        );
    }

    #[test]
    fn a_parameter_renamed_without_its_uses_is_refused_with_each_old_use() {
        python_present();
        // fixture-not-found: the fixture's name changes, its body still
        // reads the old one; a test elsewhere with a parameter of that name
        // is not what the reason points at.
        let before = "\
import pytest


def test_reads(env_file, tmp_path):
    assert env_file.read_text() != tmp_path


@pytest.fixture
def env_file(tmp_path):
    path = tmp_path / '.env'
    path.write_text('A=1')
    return path
";
        let after = before.replace("def env_file(tmp_path)", "def env_file(tmpdir)");
        let reason =
            check(&change("tests/conftest.py", Some(before), &after)).expect_err("refused");
        assert_eq!(
            reason,
            "refused before validation: the change uses `tmp_path` in tests/conftest.py (line 10), which is not defined or imported there; import it or use a name the file has"
        );
        // More than three: the first three by line, and a count.
        let many = "def f(p):\n    return a + b\n\n\ndef g():\n    return c + d\n";
        assert_eq!(
            check(&change("m.py", Some("def f(p):\n    return p\n"), many)),
            Err("refused before validation: the change uses `a` (line 2), `b` (line 2), `c` (line 6) and 1 more in m.py, which are not defined or imported there; import them or use names the file has".to_owned())
        );
    }

    #[test]
    fn names_undefined_before_the_change_are_not_counted() {
        python_present();
        // The bug being fixed may be the undefined name; another may stay.
        let before = "def add(a, b):\n    return a + bb - undefined_elsewhere\n";
        let after = "def add(a, b):\n    return a + b - undefined_elsewhere\n";
        assert_eq!(check(&change("calc/ops.py", Some(before), after)), Ok(()));
        // A new file counts every name.
        assert!(check(&change("calc/new.py", None, after)).is_err());
    }

    #[test]
    fn modules_that_can_define_names_out_of_sight_are_not_judged() {
        python_present();
        for text in [
            "from os.path import *\nx = join('a')\n",
            "globals()['x'] = 1\nprint(x)\n",
            "exec('x = 1')\nprint(x)\n",
            "import sys\nsetattr(sys.modules[__name__], 'x', 1)\nprint(x)\n",
            "import enum\n@enum.global_enum\nclass C(enum.IntFlag):\n    A = 1\nprint(A)\n",
        ] {
            assert_eq!(undefined(text), None, "{text}");
            assert_eq!(
                check(&change("m.py", Some("y = 1\n"), text)),
                Ok(()),
                "{text}"
            );
        }
    }

    #[test]
    fn names_python_defines_in_other_ways_are_not_refused() {
        python_present();
        let cases = [
            // Defined later in the module; a global assigned in a function.
            "def f():\n    return later + counted\n\n\ndef g():\n    global counted\n    counted = 1\n\n\nlater = 2\n",
            // Class bodies: their own names, and an enclosing function's.
            "class K:\n    a = 1\n    b = a + 1\n\n    def m(self):\n        return self.a + K.b\n",
            "def outer(x):\n    class K:\n        y = x\n    return K\n",
            // Comprehensions, lambdas and the walrus.
            "s = [i * j for i in range(3) for j in range(i)]\nd = {k: v for k, v in {}.items()}\ng = sum(n for n in s)\nf = lambda q, *r: q + len(r)\nif (w := len(s)):\n    print(w)\nt = [(last := i) for i in s]\nprint(last)\n",
            // Imports that may fail, and the `try`/`except NameError` idiom.
            "try:\n    import simplejson as json\nexcept ImportError:\n    json = None\ntry:\n    unicode\nexcept NameError:\n    unicode = str\ntry:\n    profile\nexcept NameError:\n    pass\nprofile()\ntry:\n    get_ipython()\nexcept Exception:\n    pass\n",
            // `del`, loop, with and except targets, match captures.
            "for a, (b, c) in []:\n    pass\nwith open('f') as (fh):\n    pass\ntry:\n    pass\nexcept OSError as err:\n    print(err)\nx = 1\ndel x\nprint(a, b, c, fh)\nmatch a:\n    case [m, *rest]:\n        print(m, rest)\n    case {'k': v, **others}:\n        print(v, others)\n",
            // Annotations that are never evaluated.
            "from __future__ import annotations\n\n\ndef f(x: Missing) -> AlsoMissing:\n    y: Local = x\n    return y\n",
            "def f(x):\n    y: NotEvaluated = x\n    return y\n",
            // `__all__` and module dunders; builtins, the site module's too.
            "__all__ = ['f']\n\n\ndef f():\n    return (__file__, __name__, __doc__, __spec__, __builtins__, len, ExceptionGroup, exit)\n",
            // symtable takes a table named `top` for the module's.
            "nested_function_top = 1\n\n\ndef top(self, which):\n    return self.x(which)\n",
        ];
        for text in cases {
            assert_eq!(undefined(text), Some(Vec::new()), "{text}");
        }
        // A package's __init__ gets each submodule it imports.
        let init = "from .pages import page_count\n\nVERSION = pages.VERSION\n";
        assert_eq!(
            check(&change("src/pager/__init__.py", Some(""), init)),
            Ok(())
        );
        assert!(check(&change("src/pager/other.py", Some(""), init)).is_err());
    }

    #[test]
    fn names_that_no_scope_defines_are_found_in_every_kind_of_scope() {
        python_present();
        let text = "\
class K:
    a = 1
    b = in_class

    def m(self):
        return a


f = lambda q: q + in_lambda
s = [i for i in range(3) if i > in_comprehension]


def g(x: NotImported = default) -> int:
    return f'{in_fstring}'
";
        assert_eq!(
            undefined(text),
            Some(names(&[
                ("in_class", 3),
                ("a", 6),
                ("in_lambda", 9),
                ("in_comprehension", 10),
                ("NotImported", 13),
                ("default", 13),
                ("in_fstring", 14),
            ]))
        );
    }

    #[test]
    fn a_correct_change_passes() {
        python_present();
        let after = PAGES.replace(
            "def page_count",
            "def page_bounds(page: int, per_page: int) -> tuple[int, int]:\n    first = (page - 1) * per_page\n    return first, first + per_page - 1\n\n\ndef page_count",
        );
        assert_eq!(
            check(&change("src/pager/pages.py", Some(PAGES), &after)),
            Ok(())
        );
    }
}
