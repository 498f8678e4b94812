//! The cheap check before the sandbox: does the changed code still parse?
//!
//! Small models often answer with code that does not parse (a `raise` in an
//! expression, an unclosed bracket). Found here, it costs milliseconds
//! instead of a sandbox run, the model is told the exact line, and the loop
//! may ask again within the attempt. Python files are parsed by the
//! machine's own `python3` (`ast.parse` reads the text and runs none of it);
//! without one, or for other languages, the sandbox judges as before.
//!
//! Only a change that breaks parsing is refused: a file that did not parse
//! before the change (the bug being fixed may be the syntax error) is left
//! to validation.

use std::io::Write as _;
use std::process::{Command, Stdio};

use selfheal_patch::ChangeSet;

/// Exit status of [`PARSE`] for a syntax error; any other failure means the
/// check could not run and says nothing about the code.
const SYNTAX_ERROR: i32 = 3;

/// Reads the source on stdin, names it by `argv[1]`, prints the error.
const PARSE: &str = "\
import ast, sys
src = sys.stdin.buffer.read()
try:
    ast.parse(src, sys.argv[1])
except SyntaxError as e:
    print(f'line {e.lineno}: {e.msg}')
    sys.exit(3)
";

/// How a text parsed.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Ok,
    /// `line N: message`.
    SyntaxError(String),
    /// The parser could not be run.
    Unknown,
}

fn parse_python(path: &str, text: &str) -> Parsed {
    let child = Command::new("python3")
        // Isolated: no user site, no PYTHON* variables, no current directory on the path.
        .args(["-I", "-S", "-c", PARSE, path])
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
    match out.status.code() {
        Some(0) => Parsed::Ok,
        Some(SYNTAX_ERROR) => {
            Parsed::SyntaxError(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
        _ => Parsed::Unknown,
    }
}

/// `Err(reason)` when the change turns a Python file that parsed into one
/// that does not; the reason names the file and the line.
pub(crate) fn check(change: &ChangeSet) -> Result<(), String> {
    for file in &change.files {
        let python = std::path::Path::new(&file.path)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("py"));
        if !python {
            continue;
        }
        let Parsed::SyntaxError(error) = parse_python(&file.path, &file.after) else {
            continue;
        };
        let parsed_before = file
            .before
            .as_deref()
            .is_none_or(|before| parse_python(&file.path, before) == Parsed::Ok);
        if parsed_before {
            return Err(format!(
                "refused before validation: the change leaves {} unparseable ({error}); answer with code that parses",
                file.path
            ));
        }
    }
    Ok(())
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
            Parsed::Ok,
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
}
