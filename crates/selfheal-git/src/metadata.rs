//! A minimal `.git` for one commit, for the validation sandbox.
//!
//! Builds that ask git for a version (`setuptools_scm`, `git describe` in a
//! `build.rs`, Go's VCS stamping) fail in a bare copy of the tree. The
//! sandbox gets instead a repository that knows exactly one commit: its
//! commit, tree and blob objects in one pack, a `shallow` file naming it (so
//! git does not look for its parents), `HEAD` detached at it, the tags that
//! point at it, and an index built from its tree (so the copy reads as
//! clean). Nothing else of the user's repository goes in: no other history,
//! no branches, no remotes, no config, no hooks.

use std::path::Path;

use git2::{ObjectType, Oid, Repository, RepositoryInitOptions};

use crate::GitError;

pub(crate) fn write(src: &Repository, commit: Oid, dest: &Path) -> Result<(), GitError> {
    if dest.exists() {
        return Err(GitError::Io {
            action: "write git metadata to",
            path: dest.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "the directory already exists",
            ),
        });
    }
    let written = write_new(src, commit, dest);
    if written.is_err() {
        // Half a repository would mislead whatever reads it; nothing else is there.
        let _ = std::fs::remove_dir_all(dest);
    }
    written
}

fn write_new(src: &Repository, commit: Oid, dest: &Path) -> Result<(), GitError> {
    let mut opts = RepositoryInitOptions::new();
    // Bare: `dest` is the git directory itself. No templates: no sample hooks.
    opts.bare(true)
        .no_reinit(true)
        .mkdir(true)
        .external_template(false);
    let target_repo =
        Repository::init_opts(dest, &opts).map_err(GitError::git("create a repository"))?;
    // It sits in the tree as `.git`, so git must see the tree as its work tree.
    target_repo
        .config()
        .and_then(|mut c| c.set_bool("core.bare", false))
        .map_err(GitError::git("configure the new repository"))?;

    let mut pack = src.packbuilder().map_err(GitError::git("start a pack"))?;
    // The commit, its tree and every blob; submodule commits are skipped.
    pack.insert_commit(commit)
        .map_err(GitError::git("pack the commit"))?;
    let tags = tags_at(src, commit)?;
    for (_, chain) in &tags {
        for &tag_object in chain {
            pack.insert_object(tag_object, None)
                .map_err(GitError::git("pack a tag"))?;
        }
    }
    let pack_dir = dest.join("objects").join("pack");
    pack.write(&pack_dir, 0)
        .map_err(GitError::git("write the pack"))?;

    for (name, chain) in &tags {
        let target = chain.first().copied().unwrap_or(commit);
        target_repo
            .reference(name, target, false, "selfheal: tag at the commit")
            .map_err(GitError::git("copy a tag"))?;
    }
    target_repo
        .set_head_detached(commit)
        .map_err(GitError::git("point HEAD at the commit"))?;
    let shallow = dest.join("shallow");
    std::fs::write(&shallow, format!("{commit}\n")).map_err(GitError::io("write", shallow))?;

    let tree = target_repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(GitError::git("read the commit's tree"))?;
    let mut index = target_repo
        .index()
        .map_err(GitError::git("open the index"))?;
    index
        .read_tree(&tree)
        .map_err(GitError::git("build the index"))?;
    index.write().map_err(GitError::git("write the index"))?;
    Ok(())
}

/// Tags whose target peels to `commit`: each ref name with the chain of
/// annotated tag objects in front of the commit (empty for a lightweight tag).
fn tags_at(repo: &Repository, commit: Oid) -> Result<Vec<(String, Vec<Oid>)>, GitError> {
    let mut found = Vec::new();
    let refs = repo
        .references_glob("refs/tags/*")
        .map_err(GitError::git("list tags"))?;
    for reference in refs {
        // An unreadable ref is not worth failing the validation over.
        let Ok(reference) = reference else { continue };
        let (Ok(name), Some(mut target)) = (reference.name(), reference.target()) else {
            continue;
        };
        let mut chain = Vec::new();
        // Bounded: a tag of a tag of ... is legal but never deep in practice.
        for _ in 0..16 {
            match repo.find_object(target, None) {
                Ok(obj) if obj.kind() == Some(ObjectType::Tag) => {
                    let Some(tag) = obj.as_tag() else { break };
                    chain.push(target);
                    target = tag.target_id();
                }
                _ => break,
            }
        }
        if target == commit {
            found.push((name.to_owned(), chain));
        }
    }
    found.sort();
    Ok(found)
}
