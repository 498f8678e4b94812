//! What attempts changed in the scratch tree, so a change can be undone and
//! the fix commit names exactly the files that differ from the failing commit.

use std::collections::BTreeMap;

use selfheal_git::Worktree;
use selfheal_patch::ChangeSet;

/// Tracks which files attempts have changed and what they held before, so
/// an attempt that made no progress can be undone and the final commit names
/// exactly the files that differ from the failing commit.
#[derive(Default)]
pub(crate) struct BaseContents {
    /// Every file any attempt touched, as it was at the failing commit (`None`: absent).
    base: BTreeMap<String, Option<Vec<u8>>>,
    /// Files touched by the attempt under validation, as they were before it.
    before_attempt: BTreeMap<String, Option<Vec<u8>>>,
}

impl BaseContents {
    pub(crate) fn apply(
        &mut self,
        worktree: &Worktree,
        change: &ChangeSet,
    ) -> Result<(), selfheal_patch::PatchError> {
        for path in change.paths() {
            let current = std::fs::read(worktree.path().join(&path)).ok();
            self.base
                .entry(path.clone())
                .or_insert_with(|| current.clone());
            self.before_attempt.entry(path).or_insert(current);
        }
        change.write_to(worktree.path())
    }

    /// The attempt made progress: its change stays for the next one.
    pub(crate) fn keep_attempt(&mut self) {
        self.before_attempt.clear();
    }

    /// The change the attempt under validation wrote, as it stands in the
    /// tree (text files only): what an answer may build on after the change
    /// is undone.
    pub(crate) fn attempt_change(&self, worktree: &Worktree) -> ChangeSet {
        let text = |bytes: &Option<Vec<u8>>| {
            bytes
                .as_ref()
                .map(|b| std::str::from_utf8(b).map(str::to_owned))
                .transpose()
        };
        let files = self
            .before_attempt
            .iter()
            .filter_map(|(path, original)| {
                let before = text(original).ok()?;
                let now = std::fs::read(worktree.path().join(path)).ok();
                let after = text(&now).ok()??;
                (before.as_ref() != Some(&after)).then(|| selfheal_patch::FileChange {
                    path: path.clone(),
                    before,
                    after,
                })
            })
            .collect();
        ChangeSet { files }
    }

    /// Puts the files the last attempt touched back as they were before it.
    pub(crate) fn revert_attempt(&mut self, worktree: &Worktree) -> std::io::Result<()> {
        for (path, original) in std::mem::take(&mut self.before_attempt) {
            let full = worktree.path().join(&path);
            match original {
                Some(bytes) => std::fs::write(&full, bytes)?,
                None => match std::fs::remove_file(&full) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                },
            }
        }
        Ok(())
    }

    /// Files that now differ from the failing commit.
    pub(crate) fn changed_paths(&self, worktree: &Worktree) -> Vec<String> {
        self.base
            .iter()
            .filter(|(path, original)| std::fs::read(worktree.path().join(path)).ok() != **original)
            .map(|(path, _)| path.clone())
            .collect()
    }
}
