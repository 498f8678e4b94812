use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong between a model's reply and a changed tree.
///
/// Retryable (the model caused it; tell it the error's message on the next
/// attempt): [`PatchError::NoEdits`], [`PatchError::Malformed`],
/// [`PatchError::UnsafePath`], [`PatchError::Apply`]. Not retryable (the
/// machine caused it): [`PatchError::Read`], [`PatchError::Write`].
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// Nothing in the reply could be read as an edit.
    #[error("no usable edit in the reply: {reason}")]
    NoEdits { reason: String },
    /// The reply clearly meant to give edits, but one of them is incomplete.
    #[error("malformed edit in the reply: {reason}")]
    Malformed { reason: String },
    /// An edit names a path outside the repository, or inside `.git`.
    #[error("refusing to edit {path}: {reason}")]
    UnsafePath { path: String, reason: String },
    /// One or more edits did not apply; nothing was changed.
    #[error("{}", Failures(failures))]
    Apply { failures: Vec<EditFailure> },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}\nhint: check that the directory is writable", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl PatchError {
    /// Whether the error comes from the model's reply (so another attempt,
    /// told the reason, may do better) rather than from the machine.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, PatchError::Read { .. } | PatchError::Write { .. })
    }
}

/// Why one edit of a reply did not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditFailure {
    /// The path as the reply wrote it.
    pub file: String,
    /// One line, written for the model as much as for the user.
    pub reason: String,
}

impl fmt::Display for EditFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.reason)
    }
}

struct Failures<'a>(&'a [EditFailure]);

impl fmt::Display for Failures<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [one] => write!(f, "edit did not apply: {one}"),
            many => {
                write!(f, "{} edits did not apply: ", many.len())?;
                for (i, failure) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{failure}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_errors_read_as_one_line_naming_each_file() {
        let one = PatchError::Apply {
            failures: vec![EditFailure {
                file: "src/x.py".into(),
                reason: "old text not found (closest match at line 12)".into(),
            }],
        };
        assert_eq!(
            one.to_string(),
            "edit did not apply: src/x.py: old text not found (closest match at line 12)"
        );
        let two = PatchError::Apply {
            failures: vec![
                EditFailure {
                    file: "a.py".into(),
                    reason: "file does not exist".into(),
                },
                EditFailure {
                    file: "b.py".into(),
                    reason: "old text is blank".into(),
                },
            ],
        };
        assert_eq!(
            two.to_string(),
            "2 edits did not apply: a.py: file does not exist; b.py: old text is blank"
        );
        assert!(two.is_retryable());
    }
}
