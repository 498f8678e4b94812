use selfheal_git::{GitError, Repo, fix_branch_name, with_signoff};

use super::{
    FIXED, Result, author, busy_user, git, make_fix, sample_repo, snapshot, user_state, write,
};

#[test]
fn commit_fix_leaves_the_users_checkout_byte_identical() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = busy_user(tmp.path())?;
    let before = user_state(&root)?;
    let repo = Repo::discover(&root)?;
    let branch = fix_branch_name("selfheal", "42", "abcdef01");
    make_fix(&repo, &branch, "Fix add")?;
    assert_eq!(user_state(&root)?, before);
    assert!(repo.branch_exists(&branch)?);
    // Still on `feature`, with the same work in progress.
    assert!(before.status.contains("# branch.head feature"));
    assert!(before.status.contains("staged_new.py"));
    assert!(before.status.contains("notes/untracked.txt"));
    Ok(())
}

#[test]
fn the_fix_commit_has_the_changes_the_parent_and_the_author() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = busy_user(tmp.path())?;
    // The repository's own identity must not leak into the fix.
    git(&root, &["config", "user.name", "Someone Else"])?;
    git(&root, &["config", "user.email", "else@example.com"])?;
    let repo = Repo::discover(&root)?;
    let (base, sha) = make_fix(&repo, "selfheal/7-aa", "Fix add\n\nIt subtracted.\n\n\n")?;

    assert_eq!(git(&root, &["rev-parse", "selfheal/7-aa"])?.trim(), sha);
    assert_eq!(git(&root, &["rev-parse", &format!("{sha}^")])?.trim(), base);
    assert_eq!(
        git(
            &root,
            &["log", "-1", "--format=%an <%ae>|%cn <%ce>|%B", &sha]
        )?,
        "selfheal bot <selfheal@example.com>|selfheal bot <selfheal@example.com>|Fix add\n\nIt subtracted.\n\n"
    );
    assert_eq!(git(&root, &["show", &format!("{sha}:src/calc.py")])?, FIXED);
    assert_eq!(
        git(&root, &["diff", "--name-status", &base, &sha])?,
        "D\tdocs/only.txt\nA\tmore-link.py\nA\tscripts/ci.sh\nM\tsrc/calc.py\nA\ttests/test_more.py\n"
    );
    let tree = git(
        &root,
        &["ls-tree", "-r", "--format=%(objectmode) %(path)", &sha],
    )?;
    for line in [
        "100755 scripts/ci.sh",
        "120000 more-link.py",
        "100755 run.sh",
        "160000 vendor/lib",
        "100644 src/calc.py",
    ] {
        assert!(
            tree.lines().any(|l| l == line),
            "{line} missing from\n{tree}"
        );
    }
    // Deleting the only file of `docs` removes the directory too.
    assert!(!tree.contains("docs/"));
    git(&root, &["fsck", "--no-dangling", "--no-progress"])?;
    Ok(())
}

#[test]
fn an_existing_branch_is_not_overwritten() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = busy_user(tmp.path())?;
    let repo = Repo::discover(&root)?;
    let (_, first) = make_fix(&repo, "selfheal/1-ab", "Fix add")?;
    for branch in ["selfheal/1-ab", "main", "feature"] {
        let before = git(&root, &["rev-parse", branch])?;
        let err = make_fix(&repo, branch, "Again").expect_err("branch exists");
        let err = err.downcast::<GitError>()?;
        assert!(
            matches!(&err, GitError::BranchExists { branch: b } if b == branch),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("hint: delete it with `git branch -D"),
            "{err}"
        );
        assert_eq!(git(&root, &["rev-parse", branch])?, before);
    }
    assert_eq!(git(&root, &["rev-parse", "selfheal/1-ab"])?.trim(), first);
    Ok(())
}

#[test]
fn the_unborn_branch_head_points_at_counts_as_existing() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    git(&root, &["checkout", "-q", "--orphan", "selfheal/9-ff"])?;
    let repo = Repo::discover(&root)?;
    assert!(!repo.branch_exists("selfheal/9-ff")?);
    let err = make_fix(&repo, "selfheal/9-ff", "Fix").expect_err("would move the user's HEAD");
    assert!(matches!(
        err.downcast::<GitError>()?,
        GitError::BranchExists { .. }
    ));
    Ok(())
}

#[test]
fn bad_inputs_are_refused_without_side_effects() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    let repo = Repo::discover(&root)?;
    let base = repo.head_commit()?;
    let worktree = repo.export_tree(&base, None)?;
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside)?;
    write(&outside, "secret", "do not commit\n")?;
    std::os::unix::fs::symlink(&outside, worktree.path().join("escape"))?;
    let refs_before = git(&root, &["for-each-ref"])?;

    let commit = |files: &[&str], branch: &str| {
        let files: Vec<String> = files.iter().map(|f| (*f).to_owned()).collect();
        repo.commit_fix(&worktree, &base, &files, branch, "Fix", &author())
    };
    for path in [
        "../x",
        "/etc/passwd",
        ".git/config",
        "src/.GIT/x",
        "a//b",
        "",
        "src\\calc.py",
    ] {
        assert!(
            matches!(
                commit(&[path], "selfheal/x"),
                Err(GitError::InvalidPath { .. })
            ),
            "{path}"
        );
    }
    // Through a symlinked directory, below a submodule, a directory itself.
    for path in ["escape/secret", "vendor/lib/file.c", "src"] {
        assert!(
            matches!(
                commit(&[path], "selfheal/x"),
                Err(GitError::InvalidPath { .. })
            ),
            "{path}"
        );
    }
    assert!(matches!(
        commit(&["no/such/file.py"], "selfheal/x"),
        Err(GitError::MissingFile { .. })
    ));
    assert!(matches!(
        commit(&["src/calc.py"], "selfheal/x"),
        Err(GitError::EmptyFix { .. })
    ));
    for branch in ["bad..name", "", "-", "x.lock", "a b"] {
        assert!(
            matches!(
                commit(&["src/calc.py"], branch),
                Err(GitError::InvalidBranchName { .. })
            ),
            "{branch:?}"
        );
    }
    let worktree_file = worktree.path().join("src/calc.py");
    std::fs::write(&worktree_file, "changed\n")?;
    let odd = selfheal_git::Signature {
        name: "<bot>".into(),
        email: "bot@example.com".into(),
    };
    assert!(matches!(
        repo.commit_fix(
            &worktree,
            &base,
            &["src/calc.py".to_owned()],
            "selfheal/x",
            "Fix",
            &odd
        ),
        Err(GitError::InvalidSignature { .. })
    ));
    assert!(matches!(
        repo.branch_exists("bad..name"),
        Err(GitError::InvalidBranchName { .. })
    ));
    assert_eq!(git(&root, &["for-each-ref"])?, refs_before);
    Ok(())
}

#[test]
fn a_signed_off_message_carries_one_trailer_git_can_parse() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    let repo = Repo::discover(&root)?;
    let message = with_signoff(
        &with_signoff("Fix add\n\nIt subtracted.", &author()),
        &author(),
    );
    let (_, sha) = make_fix(&repo, "selfheal/5-cc", &message)?;
    assert_eq!(
        git(
            &root,
            &[
                "log",
                "-1",
                "--format=%(trailers:key=Signed-off-by,valueonly)",
                &sha
            ]
        )?,
        "selfheal bot <selfheal@example.com>\n\n"
    );
    Ok(())
}

#[test]
fn the_fix_branch_can_be_pushed_to_a_bare_remote_and_cloned() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = busy_user(tmp.path())?;
    let repo = Repo::discover(&root)?;
    let branch = fix_branch_name("selfheal", "1234", "deadbeef");
    let (_, sha) = make_fix(&repo, &branch, "Fix add")?;

    git(tmp.path(), &["init", "-q", "--bare", "remote.git"])?;
    let remote = tmp.path().join("remote.git");
    let remote_str = remote.to_string_lossy().into_owned();
    git(&root, &["push", "-q", &remote_str, &branch])?;
    assert_eq!(
        git(&remote, &["rev-parse", &format!("refs/heads/{branch}")])?.trim(),
        sha
    );
    git(
        tmp.path(),
        &["clone", "-q", "--branch", &branch, &remote_str, "clone"],
    )?;
    let clone = tmp.path().join("clone");
    assert_eq!(std::fs::read_to_string(clone.join("src/calc.py"))?, FIXED);
    assert!(!clone.join("docs/only.txt").exists());
    Ok(())
}

#[test]
fn a_linked_worktree_and_a_detached_head_are_left_alone_too() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = busy_user(tmp.path())?;
    let linked = tmp.path().join("linked");
    let linked_str = linked.to_string_lossy().into_owned();
    git(
        &root,
        &["worktree", "add", "-q", "--detach", &linked_str, "main"],
    )?;
    write(
        &linked,
        "src/calc.py",
        "# work in progress in the linked tree\n",
    )?;

    let main_before = user_state(&root)?;
    let linked_head = std::fs::read(tmp.path().join("project/.git/worktrees/linked/HEAD"))?;
    let linked_files = snapshot(&linked, true)?;
    let linked_status = git(&linked, &["status", "--porcelain=v2", "--branch"])?;

    let repo = Repo::discover(&linked.join("src"))?;
    assert_eq!(repo.root().canonicalize()?, linked.canonicalize()?);
    let (_, sha) = make_fix(&repo, "selfheal/linked-1", "Fix add")?;

    // The branch lives in the shared repository, visible from both trees.
    assert_eq!(git(&root, &["rev-parse", "selfheal/linked-1"])?.trim(), sha);
    assert_eq!(user_state(&root)?, main_before);
    assert_eq!(
        std::fs::read(tmp.path().join("project/.git/worktrees/linked/HEAD"))?,
        linked_head
    );
    assert_eq!(snapshot(&linked, true)?, linked_files);
    assert_eq!(
        git(&linked, &["status", "--porcelain=v2", "--branch"])?,
        linked_status
    );
    assert!(linked_status.contains("# branch.head (detached)"));
    Ok(())
}
