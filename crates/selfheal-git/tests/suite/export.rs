use std::process::Stdio;

use selfheal_git::{GitError, Repo};

use super::{Node, Result, git, git_cmd, sample_repo, snapshot};

/// `git archive HEAD | tar -x` is the reference for what a commit's files are.
fn archive(root: &std::path::Path, commit: &str, into: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(into)?;
    let mut archive = git_cmd(root, &["archive", "--format=tar", commit])
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = archive
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout from git archive"))?;
    let tar = std::process::Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(into)
        .stdin(stdout)
        .status()?;
    if !(archive.wait()?.success() && tar.success()) {
        anyhow::bail!("git archive | tar failed");
    }
    Ok(())
}

#[test]
fn export_matches_git_archive() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    let repo = Repo::discover(&root)?;
    let head = repo.head_commit()?;
    let worktree = repo.export_tree("HEAD", None)?;
    assert_eq!(worktree.commit(), head);

    let reference = tmp.path().join("archive");
    archive(&root, &head, &reference)?;
    let ours = snapshot(worktree.path(), false)?;
    assert_eq!(ours, snapshot(&reference, false)?);

    // Spot checks, so a broken `snapshot` cannot make both sides agree on nothing.
    assert_eq!(
        ours.get("run.sh"),
        Some(&Node::File {
            content: b"#!/bin/sh\necho hi\n".to_vec(),
            executable: true
        })
    );
    assert_eq!(
        ours.get("calc-link.py"),
        Some(&Node::Link("src/calc.py".into()))
    );
    assert_eq!(ours.get("vendor/lib"), Some(&Node::Dir));
    assert_eq!(worktree.skipped_submodules(), ["vendor/lib".to_owned()]);
    assert!(!worktree.path().join(".git").exists());
    Ok(())
}

#[test]
fn export_goes_under_the_given_parent_and_is_removed_on_drop() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    let parent = tmp.path().join("work");
    std::fs::create_dir(&parent)?;
    let repo = Repo::discover(&root)?;
    let worktree = repo.export_tree("main", Some(&parent))?;
    let path = worktree.path().to_path_buf();
    assert!(path.starts_with(&parent));
    assert!(path.join("src/calc.py").is_file());
    drop(worktree);
    assert!(!path.exists());

    let kept = repo.export_tree("main", Some(&parent))?.keep();
    assert!(kept.join("README.md").is_file());
    Ok(())
}

/// Writes a commit whose tree has an entry git refuses to check out, with
/// plumbing that skips git's own checks.
fn commit_with_entry(root: &std::path::Path, name: &str) -> Result<String> {
    let blob = git(root, &["rev-parse", "HEAD:README.md"])?;
    let mut raw = format!("100644 {name}\0").into_bytes();
    for i in (0..40).step_by(2) {
        raw.push(u8::from_str_radix(&blob.trim()[i..i + 2], 16)?);
    }
    let file = root.join("../raw-tree");
    std::fs::write(&file, raw)?;
    let file = file.to_string_lossy().into_owned();
    let tree = git(
        root,
        &["hash-object", "-t", "tree", "-w", "--literally", &file],
    )?;
    Ok(git(root, &["commit-tree", tree.trim(), "-m", "evil"])?
        .trim()
        .to_owned())
}

#[test]
fn export_refuses_trees_that_would_escape_or_plant_a_git_dir() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    let repo = Repo::discover(&root)?;
    for name in [".git", ".GIT", ".."] {
        let commit = commit_with_entry(&root, name)?;
        let err = repo
            .export_tree(&commit, Some(tmp.path()))
            .expect_err("unsafe entry must be refused");
        assert!(
            matches!(&err, GitError::UnsafeTreeEntry { path, .. } if path == name),
            "{name}: {err:?}"
        );
    }
    // Nothing half-written is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())?
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("selfheal-worktree-")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    Ok(())
}
