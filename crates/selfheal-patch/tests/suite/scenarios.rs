//! Scenario folders pin the whole path from a reply to a changed tree.
//!
//! Each `tests/fixtures/scenarios/NNN_name/` holds `input/` (the tree before),
//! `reply.txt` (the model's reply, verbatim) and either `expected/` (the tree
//! after) or `expected_error.txt` (the error's one-line message; the tree must
//! then be left exactly as it was). An optional `expected.diff` pins
//! [`ChangeSet::unified_diff`]. The tree is copied into a temporary
//! directory as `repo/`, beside an `outside/` directory that symlinks in the
//! input may point at, and which must never change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use selfheal_patch::{ChangeSet, PatchError, parse_reply, plan};

#[derive(Debug, PartialEq, Eq)]
enum Entry {
    File(String),
    Link(PathBuf),
}

fn tree(root: &Path) -> BTreeMap<String, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("dir entry").path();
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            let meta = path.symlink_metadata().expect("metadata");
            if meta.file_type().is_symlink() {
                out.insert(rel, Entry::Link(std::fs::read_link(&path).expect("link")));
            } else if meta.is_dir() {
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                out.insert(
                    rel,
                    Entry::File(String::from_utf8_lossy(&bytes).into_owned()),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("dir entry").path();
        let target = to.join(path.file_name().expect("name"));
        let meta = path.symlink_metadata().expect("metadata");
        if meta.file_type().is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(std::fs::read_link(&path).expect("link"), &target)
                .expect("symlink");
        } else if meta.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

fn apply(root: &Path, reply: &str) -> Result<ChangeSet, PatchError> {
    let edits = parse_reply(reply)?;
    let change = plan(root, &edits)?;
    change.write_to(root)?;
    Ok(change)
}

/// Runs one scenario; `Err` says how it went wrong.
fn run(dir: &Path) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = tmp.path().join("repo");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).map_err(|e| e.to_string())?;
    std::fs::write(outside.join("secret.txt"), "keep me\n").map_err(|e| e.to_string())?;
    copy_tree(&dir.join("input"), &root);
    let before = tree(&root);
    let outside_before = tree(&outside);
    let reply = std::fs::read_to_string(dir.join("reply.txt")).map_err(|e| e.to_string())?;

    let result = apply(&root, &reply);
    if tree(&outside) != outside_before {
        return Err("a file outside the repository changed".to_owned());
    }
    let expected_error = dir.join("expected_error.txt");
    if expected_error.exists() {
        let want = std::fs::read_to_string(&expected_error).map_err(|e| e.to_string())?;
        return match result {
            Ok(change) => Err(format!(
                "expected an error, got a change:\n{}",
                change.unified_diff()
            )),
            Err(err) if err.to_string() != want.trim_end() => Err(format!(
                "wrong error\n  want: {}\n  got:  {err}",
                want.trim_end()
            )),
            Err(_) if tree(&root) != before => Err("a failed patch changed the tree".to_owned()),
            Err(_) => Ok(()),
        };
    }
    let change = result.map_err(|e| format!("unexpected error: {e}"))?;
    let want = tree(&dir.join("expected"));
    let got = tree(&root);
    if got != want {
        return Err(format!(
            "trees differ\n  want: {want:?}\n  got:  {got:?}\ndiff:\n{}",
            change.unified_diff()
        ));
    }
    let expected_diff = dir.join("expected.diff");
    if expected_diff.exists() {
        let want = std::fs::read_to_string(&expected_diff).map_err(|e| e.to_string())?;
        if change.unified_diff() != want {
            return Err(format!(
                "diffs differ\n--- want\n{want}\n--- got\n{}",
                change.unified_diff()
            ));
        }
    }
    Ok(())
}

#[test]
fn every_scenario_folder_gives_its_expected_tree_or_error() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenarios");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&base)
        .expect("scenarios folder")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 25, "only {} scenarios found", dirs.len());
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| {
            let name = dir
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            run(dir).err().map(|why| format!("{name}: {why}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}
