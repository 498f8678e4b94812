//! The result of a plan: what each file becomes, shown as diffs and written
//! only when asked.

use std::fmt::Write as _;
use std::path::Path;

use similar::{ChangeTag, TextDiff};

use crate::PatchError;
use crate::safety;

/// Every file a patch changes, in the order the reply first named them.
/// Files an edit left as they were are not in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub files: Vec<FileChange>,
}

/// One file's text before and after the patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Relative to the repository root, with forward slashes.
    pub path: String,
    /// `None` when the patch creates the file.
    pub before: Option<String>,
    pub after: String,
}

/// Line counts of a change set, as `git diff --stat` prints them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffStat {
    pub files: usize,
    pub insertions: usize,
    pub deletions: usize,
}

impl std::fmt::Display for DiffStat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "{} changed, {}(+), {}(-)",
            plural(self.files, "file", "files"),
            plural(self.insertions, "insertion", "insertions"),
            plural(self.deletions, "deletion", "deletions")
        )
    }
}

/// What a rendered diff line is, for colouring.
#[derive(Clone, Copy)]
enum Part {
    Header,
    HunkHeader,
    Delete,
    Insert,
    Context,
}

impl FileChange {
    pub fn is_new(&self) -> bool {
        self.before.is_none()
    }

    /// This file's part of [`ChangeSet::unified_diff`].
    pub fn unified_diff(&self) -> String {
        self.render(false)
    }

    fn render(&self, colour: bool) -> String {
        let before = self.before.as_deref().unwrap_or("");
        let diff = TextDiff::from_lines(before, &self.after);
        let old_name = if self.is_new() {
            "/dev/null".to_owned()
        } else {
            format!("a/{}", self.path)
        };
        let mut out = String::new();
        let mut push = |part: Part, text: &str| {
            let code = match part {
                Part::Header => "\x1b[1m",
                Part::HunkHeader => "\x1b[36m",
                Part::Delete => "\x1b[31m",
                Part::Insert => "\x1b[32m",
                Part::Context => "",
            };
            if colour && !code.is_empty() {
                let _ = writeln!(out, "{code}{text}\x1b[0m");
            } else {
                let _ = writeln!(out, "{text}");
            }
        };
        push(Part::Header, &format!("--- {old_name}"));
        push(Part::Header, &format!("+++ b/{}", self.path));
        let unified = diff.unified_diff();
        for hunk in unified.iter_hunks() {
            push(Part::HunkHeader, &hunk.header().to_string());
            for change in hunk.iter_changes() {
                let (part, mark) = match change.tag() {
                    ChangeTag::Delete => (Part::Delete, '-'),
                    ChangeTag::Insert => (Part::Insert, '+'),
                    ChangeTag::Equal => (Part::Context, ' '),
                };
                let value = change.value();
                let text = value.strip_suffix('\n').unwrap_or(value);
                push(part, &format!("{mark}{text}"));
                if change.missing_newline() {
                    push(Part::Context, "\\ No newline at end of file");
                }
            }
        }
        out
    }

    fn stat(&self) -> (usize, usize) {
        let before = self.before.as_deref().unwrap_or("");
        let diff = TextDiff::from_lines(before, &self.after);
        diff.iter_all_changes()
            .fold((0, 0), |(ins, del), c| match c.tag() {
                ChangeTag::Insert => (ins + 1, del),
                ChangeTag::Delete => (ins, del + 1),
                ChangeTag::Equal => (ins, del),
            })
    }
}

impl ChangeSet {
    /// True when there is nothing to change, also when every edit was a no-op.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn paths(&self) -> Vec<String> {
        self.files.iter().map(|f| f.path.clone()).collect()
    }

    /// A `diff -u` style diff of every file, with `a/` and `b/` headers
    /// (`--- /dev/null` for new files), as `git apply` and `patch -p1` read it.
    pub fn unified_diff(&self) -> String {
        self.files.iter().map(FileChange::unified_diff).collect()
    }

    /// [`ChangeSet::unified_diff`] with ANSI colours. Whether to use it
    /// (`NO_COLOR`, not a terminal) is the caller's decision.
    pub fn colored_diff(&self) -> String {
        self.files.iter().map(|f| f.render(true)).collect()
    }

    pub fn stat(&self) -> DiffStat {
        self.files.iter().fold(
            DiffStat {
                files: self.files.len(),
                ..DiffStat::default()
            },
            |mut acc, f| {
                let (ins, del) = f.stat();
                acc.insertions += ins;
                acc.deletions += del;
                acc
            },
        )
    }

    /// Writes every file under `root`, creating parent directories. Existing
    /// files are overwritten in place, so they keep their permissions.
    /// Paths are checked again against `root`, which need not be the tree the
    /// plan was made from.
    pub fn write_to(&self, root: &Path) -> Result<(), PatchError> {
        for file in &self.files {
            let rel = safety::normalize(&file.path)?;
            let path = safety::resolve(root, &rel)?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| PatchError::Write {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            std::fs::write(&path, &file.after)
                .map_err(|source| PatchError::Write { path, source })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change() -> ChangeSet {
        ChangeSet {
            files: vec![
                FileChange {
                    path: "src/calc.py".into(),
                    before: Some("def add(a, b):\n    return a - b\n".into()),
                    after: "def add(a, b):\n    return a + b\n".into(),
                },
                FileChange {
                    path: "NOTES".into(),
                    before: None,
                    after: "fixed".into(),
                },
            ],
        }
    }

    #[test]
    fn unified_diff_has_git_style_headers() {
        assert_eq!(
            change().unified_diff(),
            "--- a/src/calc.py\n+++ b/src/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n\
             --- /dev/null\n+++ b/NOTES\n@@ -0,0 +1 @@\n+fixed\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn colored_diff_is_the_same_text_with_ansi_codes() {
        let coloured = change().colored_diff();
        assert!(coloured.contains("\x1b[31m-    return a - b\x1b[0m\n"));
        assert!(coloured.contains("\x1b[32m+    return a + b\x1b[0m\n"));
        assert!(coloured.contains("\x1b[36m@@ -1,2 +1,2 @@\x1b[0m\n"));
        let plain: String = coloured
            .replace("\x1b[0m", "")
            .replace("\x1b[1m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[36m", "");
        assert_eq!(plain, change().unified_diff());
    }

    #[test]
    fn stat_counts_lines() {
        let stat = change().stat();
        assert_eq!(
            stat,
            DiffStat {
                files: 2,
                insertions: 2,
                deletions: 1
            }
        );
        assert_eq!(
            stat.to_string(),
            "2 files changed, 2 insertions(+), 1 deletion(-)"
        );
        assert_eq!(change().paths(), vec!["src/calc.py", "NOTES"]);
    }

    #[cfg(unix)]
    #[test]
    fn write_to_creates_directories_and_keeps_modes() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let script = tmp.path().join("run.sh");
        std::fs::write(&script, "echo hi\n").expect("write");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let set = ChangeSet {
            files: vec![
                FileChange {
                    path: "run.sh".into(),
                    before: Some("echo hi\n".into()),
                    after: "echo bye\n".into(),
                },
                FileChange {
                    path: "a/b/new.txt".into(),
                    before: None,
                    after: "new\n".into(),
                },
            ],
        };
        set.write_to(tmp.path()).expect("writes");
        assert_eq!(
            std::fs::read_to_string(&script).expect("read"),
            "echo bye\n"
        );
        let mode = std::fs::metadata(&script)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("a/b/new.txt")).expect("read"),
            "new\n"
        );
    }
}
