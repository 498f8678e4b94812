/// One change a model asked for, before it is checked against the tree.
///
/// Creating a file is a [`Edit::Replace`] with an empty `old`: the JSON form,
/// SEARCH/REPLACE blocks with an empty SEARCH and `--- /dev/null` diffs all
/// land there, so "create, but only if it is not already there" is decided in
/// one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Replace the one place in `file` that matches `old` with `new`.
    Replace {
        file: String,
        old: String,
        new: String,
    },
    /// Apply unified-diff hunks, located by their content rather than their line numbers.
    Diff { file: String, hunks: Vec<Hunk> },
    /// Replace the whole file (or create it).
    WholeFile { file: String, content: String },
}

impl Edit {
    /// The path as the reply wrote it (not yet checked or normalised).
    pub fn file(&self) -> &str {
        match self {
            Edit::Replace { file, .. } | Edit::Diff { file, .. } | Edit::WholeFile { file, .. } => {
                file
            }
        }
    }
}

/// One `@@` hunk of a unified diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// The old-file line number from the `@@ -N,M` header, when there was one.
    /// Only a hint: it breaks ties between places the hunk matches equally.
    pub old_start: Option<usize>,
    pub lines: Vec<HunkLine>,
}

impl Hunk {
    /// The lines the hunk expects to find: context and removed lines, in order.
    pub(crate) fn old_lines(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                HunkLine::Context(t) | HunkLine::Remove(t) => Some(t.as_str()),
                HunkLine::Add(_) => None,
            })
            .collect()
    }

    /// The lines the hunk adds, in order.
    pub(crate) fn added_lines(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                HunkLine::Add(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// One line of a hunk, without its ` `/`-`/`+` marker and without a line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HunkLine {
    Context(String),
    Remove(String),
    Add(String),
}
