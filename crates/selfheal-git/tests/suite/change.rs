use std::fmt::Write as _;

use selfheal_git::Repo;

use super::{Result, git, sample_repo, write};

#[test]
fn the_change_lists_each_file_with_its_hunks_as_git_prints_them() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    write(&root, "src/calc.py", "def add(a, b):\n    return a + b\n")?;
    git(&root, &["mv", "src/deep/er/mod.py", "src/moved.py"])?;
    git(&root, &["rm", "-q", "docs/only.txt"])?;
    std::fs::write(root.join("blob.bin"), [0u8, 1, 2, 3, 0, 9])?;
    git(&root, &["add", "src/calc.py", "blob.bin"])?;
    git(
        &root,
        &[
            "commit",
            "-q",
            "-m",
            "Fix add\n\nThe body is not the subject.",
        ],
    )?;
    let head = git(&root, &["rev-parse", "HEAD"])?.trim().to_owned();
    let parent = git(&root, &["rev-parse", "HEAD~1"])?.trim().to_owned();

    let repo = Repo::discover(&root)?;
    let change = repo
        .commit_change("HEAD")?
        .expect("the commit has a parent");
    assert_eq!(change.commit, head);
    assert_eq!(change.parent, parent);
    assert_eq!(change.subject, "Fix add");
    let paths: Vec<&str> = change.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        ["blob.bin", "docs/only.txt", "src/calc.py", "src/moved.py"]
    );

    let calc = &change.files[2];
    assert_eq!((calc.added, calc.removed), (1, 1));
    assert!(
        calc.patch
            .starts_with("diff --git a/src/calc.py b/src/calc.py\n"),
        "{}",
        calc.patch
    );
    assert!(
        calc.patch
            .contains("-    return a - b\n+    return a + b\n"),
        "{}",
        calc.patch
    );
    assert_eq!(calc.omitted, None);
    // The same hunks as the git CLI prints with two lines of context.
    let cli = git(
        &root,
        &["diff", "-U2", "HEAD~1", "HEAD", "--", "src/calc.py"],
    )?;
    let hunks = |p: &str| p[p.find("@@").unwrap_or(0)..].to_owned();
    assert_eq!(hunks(&calc.patch), hunks(&cli));

    let moved = &change.files[3];
    assert_eq!(moved.renamed_from.as_deref(), Some("src/deep/er/mod.py"));
    assert_eq!(change.files[1].removed, 1, "the deletion counts its line");

    let blob = &change.files[0];
    assert_eq!(blob.omitted, Some("binary"));
    assert!(!blob.patch.contains('\0'));
    Ok(())
}

#[test]
fn a_root_commit_has_no_change_to_show() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    let repo = Repo::discover(&root)?;
    assert_eq!(repo.commit_change("HEAD")?, None);
    Ok(())
}

#[test]
fn a_huge_generated_file_is_named_without_its_hunks() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = sample_repo(tmp.path())?;
    let big = (0..20_000).fold(String::new(), |mut text, i| {
        let _ = writeln!(text, "line {i}");
        text
    });
    write(&root, "generated.txt", &big)?;
    git(&root, &["add", "generated.txt"])?;
    git(&root, &["commit", "-q", "-m", "generate"])?;
    let change = Repo::discover(&root)?
        .commit_change("HEAD")?
        .expect("has a parent");
    let file = &change.files[0];
    assert_eq!(file.omitted, Some("too large to show"));
    assert_eq!(file.added, 20_000);
    assert!(file.patch.len() < 200, "{}", file.patch);
    Ok(())
}
