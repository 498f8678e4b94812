//! What the failing commit changed: its diff against its first parent.
//!
//! Most red runs are regressions, and the commit that CI tested is where a
//! reviewer looks first: a rename that missed a caller, a guard that went
//! missing, a comparison that changed. The repair loop shows this diff to the
//! model next to the failure. Only the object database is read.

use git2::{Delta, DiffFindOptions, DiffOptions, Repository};

use crate::GitError;

/// A file's patch longer than this (bytes) is named without its hunks: a
/// generated or vendored file says nothing a model can use.
const MAX_FILE_PATCH_BYTES: usize = 64 * 1024;

/// One file of a [`CommitChange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The path after the commit, `/`-separated (the old path for a deletion).
    pub path: String,
    /// The path before the commit, when the file was renamed.
    pub renamed_from: Option<String>,
    /// `git diff`'s text for the file: the `diff --git` header, the `---`
    /// and `+++` lines and the hunks (two lines of context). Only the header
    /// for a binary file or a patch over the size limit; [`Self::omitted`]
    /// then says why.
    pub patch: String,
    /// Why the hunks are left out, when they are.
    pub omitted: Option<&'static str>,
    /// Lines added and removed.
    pub added: usize,
    pub removed: usize,
}

/// The diff of a commit against its first parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitChange {
    pub commit: String,
    pub parent: String,
    /// The first line of the commit message.
    pub subject: String,
    /// In the order git lists them (by path).
    pub files: Vec<FileChange>,
}

/// `commit`'s change, or `None` when it has no parent in the repository: a
/// root commit, or a shallow clone that does not have the parent.
pub(crate) fn commit_change(
    repo: &Repository,
    commit: &git2::Commit<'_>,
) -> Result<Option<CommitChange>, GitError> {
    let Ok(parent) = commit.parent(0) else {
        return Ok(None);
    };
    let (Ok(old_tree), Ok(new_tree)) = (parent.tree(), commit.tree()) else {
        return Ok(None);
    };
    let mut opts = DiffOptions::new();
    opts.context_lines(2).id_abbrev(7);
    let mut diff = repo
        .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(&mut opts))
        .map_err(GitError::git("diff the commit against its parent"))?;
    let mut find = DiffFindOptions::new();
    find.renames(true);
    diff.find_similar(Some(&mut find))
        .map_err(GitError::git("find renamed files"))?;

    let mut files = Vec::new();
    for idx in 0..diff.deltas().len() {
        let Some(delta) = diff.get_delta(idx) else {
            continue;
        };
        let path_of = |f: git2::DiffFile<'_>| {
            f.path()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default()
        };
        let new_path = path_of(delta.new_file());
        let old_path = path_of(delta.old_file());
        let path = if delta.status() == Delta::Deleted {
            old_path.clone()
        } else {
            new_path.clone()
        };
        let renamed_from =
            (delta.status() == Delta::Renamed && old_path != new_path).then(|| old_path.clone());
        let printed =
            git2::Patch::from_diff(&diff, idx).map_err(GitError::git("read a file's patch"))?;
        let (mut patch_text, mut added, mut removed, mut omitted) =
            (String::new(), 0, 0, None::<&'static str>);
        if let Some(mut printed) = printed {
            let (_, a, r) = printed
                .line_stats()
                .map_err(GitError::git("count a patch's lines"))?;
            (added, removed) = (a, r);
            let buf = printed
                .to_buf()
                .map_err(GitError::git("print a file's patch"))?;
            patch_text = String::from_utf8_lossy(&buf).into_owned();
        }
        if delta.flags().is_binary() || patch_text.contains("\nBinary files ") {
            omitted = Some("binary");
        } else if patch_text.len() > MAX_FILE_PATCH_BYTES {
            omitted = Some("too large to show");
        }
        if omitted.is_some() {
            patch_text = header_only(&patch_text);
        }
        files.push(FileChange {
            path,
            renamed_from,
            patch: patch_text,
            omitted,
            added,
            removed,
        });
    }
    Ok(Some(CommitChange {
        commit: commit.id().to_string(),
        parent: parent.id().to_string(),
        subject: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default())
            .trim()
            .to_owned(),
        files,
    }))
}

/// The lines before the first hunk (or the binary notice).
fn header_only(patch: &str) -> String {
    let mut out = String::new();
    for line in patch.lines() {
        if line.starts_with("@@") || line.starts_with("Binary files ") {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
