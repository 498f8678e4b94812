//! `OfflineCache::store_zip_file`: GitHub's run-logs zip into the cache, safely.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use selfheal_monitor::{ArchiveLimits, MonitorError, OfflineCache};
use selfheal_types::{CommitAuthor, JobInfo, PullRequestRef, RunInfo};
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

/// Every file under `root`, relative, with its content; folders end in `/`.
fn tree(root: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> Result<()> {
        for item in std::fs::read_dir(dir)? {
            let path = item?.path();
            let relative = path
                .strip_prefix(root)?
                .to_string_lossy()
                .replace('\\', "/");
            let meta = std::fs::symlink_metadata(&path)?;
            if meta.is_dir() {
                out.insert(format!("{relative}/"), Vec::new());
                walk(root, &path, out)?;
            } else {
                out.insert(relative, std::fs::read(&path)?);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out)?;
    Ok(out)
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

/// A zip of `files` (a name ending in `/` is a folder entry).
fn make_zip(path: &Path, files: &[(&str, &[u8])]) -> Result<()> {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path)?);
    for (name, content) in files {
        if let Some(dir) = name.strip_suffix('/') {
            zip.add_directory(dir, deflated())?;
        } else {
            zip.start_file(*name, deflated())?;
            zip.write_all(content)?;
        }
    }
    zip.finish()?;
    Ok(())
}

/// A run as the GitHub provider fills it in.
fn full_run(id: &str) -> RunInfo {
    RunInfo {
        id: id.into(),
        head_sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
        head_branch: Some("feature/x".into()),
        workflow: Some("CI".into()),
        repository: Some("octo/cat".into()),
        created_at: Some("2026-11-25T22:13:42Z".into()),
        html_url: Some(format!("https://github.com/octo/cat/actions/runs/{id}")),
        event: Some("pull_request".into()),
        conclusion: Some("failure".into()),
        head_repository: Some("fork/cat".into()),
        head_author: Some(CommitAuthor {
            name: Some("Ada".into()),
            email: Some("ada@example.com".into()),
        }),
        workflow_path: Some(".github/workflows/ci.yml".into()),
        run_attempt: Some(2),
        jobs: vec![
            JobInfo {
                id: "11".into(),
                name: "build".into(),
                conclusion: Some("failure".into()),
                html_url: Some("https://github.com/octo/cat/actions/runs/1/job/11".into()),
                failed_steps: vec!["Run tests".into()],
            },
            JobInfo {
                id: "12".into(),
                name: "lint".into(),
                conclusion: Some("success".into()),
                ..JobInfo::default()
            },
        ],
        pull_requests: vec![PullRequestRef {
            number: 7,
            head_branch: "feature/x".into(),
            head_sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
            head_repository: Some("fork/cat".into()),
            base_branch: "main".into(),
            html_url: None,
        }],
    }
}

const GOOD: &[(&str, &[u8])] = &[
    ("build/", b""),
    ("build/1_Set up job.txt", b"2026-11-25T22:13:43Z Current runner version\n"),
    (
        "build/2_Run tests.txt",
        b"FAILED tests/test_x.py::test_y - assert 1 == 2\n##[error]Process completed with exit code 1.\n",
    ),
    ("lint/1_Set up job.txt", b"setting up\n"),
    ("0_build.txt", b"2026-11-25T22:13:43Z ##[error]Process completed with exit code 1.\n"),
    ("1_lint.txt", b"all good\n"),
];

fn good_tree() -> BTreeMap<String, Vec<u8>> {
    let mut expected: BTreeMap<String, Vec<u8>> = GOOD
        .iter()
        .map(|(name, content)| ((*name).to_owned(), content.to_vec()))
        .collect();
    expected.insert("lint/".into(), Vec::new());
    expected
}

#[test]
fn a_run_logs_zip_round_trips_through_the_cache() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let repo = tmp.path().join("repo");
    let zip = tmp.path().join("logs_4242.zip");
    make_zip(&zip, GOOD)?;
    let cache = OfflineCache::new(&repo);
    let run = full_run("4242");

    let stored = cache.store_zip_file(&run, &zip)?;
    assert_eq!(stored.logs, cache.dir().join("4242"));
    assert_eq!(stored.info, run);

    let selected = cache.select(Some("4242"))?;
    assert_eq!(selected, stored);
    assert_eq!(cache.select(None)?, stored);

    let mut files = tree(&stored.logs)?;
    let run_json = files
        .remove("run.json")
        .context("run.json beside the logs")?;
    assert_eq!(files, good_tree());
    let written: RunInfo = serde_json::from_slice(&run_json)?;
    assert_eq!(written, run);
    assert!(
        String::from_utf8(run_json)?.contains("\n  \"id\": \"4242\""),
        "pretty"
    );

    // Nothing else in the cache, and `.selfheal/` ignores itself.
    let listed: Vec<String> = std::fs::read_dir(cache.dir())?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_>>()?;
    assert_eq!(listed, ["4242"]);
    assert_eq!(
        std::fs::read_to_string(repo.join(".selfheal/.gitignore"))?,
        "*\n"
    );
    Ok(())
}

#[test]
fn storing_a_run_again_replaces_the_earlier_copy() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cache = OfflineCache::new(&tmp.path().join("repo"));
    let first = tmp.path().join("first.zip");
    make_zip(&first, &[("0_old.txt", b"old\n"), ("old/1_x.txt", b"x\n")])?;
    let second = tmp.path().join("second.zip");
    make_zip(&second, &[("0_new.txt", b"new\n")])?;
    let mut run = full_run("9");

    cache.store_zip_file(&run, &first)?;
    run.run_attempt = Some(3);
    let stored = cache.store_zip_file(&run, &second)?;

    let mut files = tree(&stored.logs)?;
    files.remove("run.json");
    assert_eq!(
        files,
        BTreeMap::from([("0_new.txt".to_owned(), b"new\n".to_vec())])
    );
    assert_eq!(cache.select(Some("9"))?, stored);
    let listed: Vec<PathBuf> = std::fs::read_dir(cache.dir())?
        .map(|e| Ok(e?.path()))
        .collect::<Result<_>>()?;
    assert_eq!(listed, [cache.dir().join("9")]);
    Ok(())
}

#[test]
fn a_refused_zip_leaves_the_earlier_copy_alone() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let cache = OfflineCache::new(&tmp.path().join("repo"));
    let good = tmp.path().join("good.zip");
    make_zip(&good, GOOD)?;
    let evil = tmp.path().join("evil.zip");
    make_zip(&evil, &[("0_fine.txt", b"fine\n"), ("../escape.txt", b"x")])?;
    let run = full_run("5");

    cache.store_zip_file(&run, &good)?;
    let before = tree(cache.dir())?;
    let err = cache.store_zip_file(&run, &evil).expect_err("refused");
    assert!(matches!(err, MonitorError::UnsafeArchive { .. }), "{err:?}");
    assert_eq!(tree(cache.dir())?, before);
    Ok(())
}

/// Patches the uncompressed size of the only entry, in its local and its
/// central header, to `claimed`: a zip bomb's lie.
fn claim_size(zip: &Path, claimed: u32) -> Result<()> {
    let mut bytes = std::fs::read(zip)?;
    let find = |sig: &[u8; 4]| bytes.windows(4).position(|w| w == sig);
    let local = find(b"PK\x03\x04").context("local header")?;
    let central = find(b"PK\x01\x02").context("central header")?;
    bytes[local + 22..local + 26].copy_from_slice(&claimed.to_le_bytes());
    bytes[central + 24..central + 28].copy_from_slice(&claimed.to_le_bytes());
    std::fs::write(zip, bytes)?;
    Ok(())
}

/// What a hostile zip is made of, and the limits it runs into.
struct Hostile {
    name: &'static str,
    make: fn(&Path) -> Result<()>,
    limits: ArchiveLimits,
    /// A word the refusal must contain.
    says: &'static str,
}

fn hostile_cases() -> Vec<Hostile> {
    let small = ArchiveLimits {
        max_entries: 10,
        max_entry_bytes: 64 * 1024,
        max_total_bytes: 100 * 1024,
    };
    vec![
        Hostile {
            name: "path traversal",
            make: |p| make_zip(p, &[("0_ok.txt", b"ok"), ("../x", b"pwned")]),
            limits: ArchiveLimits::default(),
            says: "`..`",
        },
        Hostile {
            name: "deep path traversal",
            make: |p| make_zip(p, &[("job/../../../x", b"pwned")]),
            limits: ArchiveLimits::default(),
            says: "`..`",
        },
        Hostile {
            name: "absolute path",
            make: |p| make_zip(p, &[("0_ok.txt", b"ok"), ("/abs", b"pwned")]),
            limits: ArchiveLimits::default(),
            says: "absolute",
        },
        Hostile {
            name: "backslash traversal",
            make: |p| make_zip(p, &[("..\\x", b"pwned")]),
            limits: ArchiveLimits::default(),
            says: "backslash",
        },
        Hostile {
            name: "drive letter",
            make: |p| make_zip(p, &[("C:/x", b"pwned")]),
            limits: ArchiveLimits::default(),
            says: "drive letter",
        },
        Hostile {
            name: "symlink",
            make: |p| {
                let mut zip = zip::ZipWriter::new(std::fs::File::create(p)?);
                zip.start_file("0_ok.txt", deflated())?;
                zip.write_all(b"ok")?;
                zip.add_symlink("job", "/etc", deflated())?;
                zip.finish()?;
                Ok(())
            },
            limits: ArchiveLimits::default(),
            says: "link",
        },
        Hostile {
            name: "too many entries",
            make: |p| {
                let mut zip = zip::ZipWriter::new(std::fs::File::create(p)?);
                for n in 0..11 {
                    zip.start_file(format!("{n}_step.txt"), deflated())?;
                    zip.write_all(b"x")?;
                }
                zip.finish()?;
                Ok(())
            },
            limits: small,
            says: "11 entries",
        },
        Hostile {
            name: "one entry too big",
            make: |p| make_zip(p, &[("0_big.txt", &[b'a'; 64 * 1024 + 1])]),
            limits: small,
            says: "limit of 65536",
        },
        Hostile {
            name: "too big together",
            make: |p| {
                make_zip(
                    p,
                    &[
                        ("0_a.txt", &[b'a'; 60 * 1024]),
                        ("1_b.txt", &[b'b'; 60 * 1024]),
                    ],
                )
            },
            limits: small,
            says: "limit of 102400",
        },
        Hostile {
            name: "header lies about the size",
            make: |p| {
                // 1 MiB of zeros deflates to about a kilobyte; the header says 100 bytes.
                make_zip(p, &[("0_bomb.txt", &vec![0; 1 << 20])])?;
                claim_size(p, 100)
            },
            limits: small,
            says: "larger than its header says",
        },
    ]
}

#[test]
fn hostile_zips_are_refused_and_leave_nothing_behind() -> Result<()> {
    for case in hostile_cases() {
        let tmp = tempfile::tempdir()?;
        let repo = tmp.path().join("repo");
        let evil = tmp.path().join("evil.zip");
        (case.make)(&evil).context(case.name)?;
        let cache = OfflineCache::new(&repo);

        let err = cache
            .store_zip_file_with_limits(&full_run("77"), &evil, case.limits)
            .expect_err(case.name);
        let MonitorError::UnsafeArchive { reason, .. } = &err else {
            panic!("{}: {err:?}", case.name);
        };
        assert!(reason.contains(case.says), "{}: {reason}", case.name);
        assert!(
            err.to_string().starts_with("refusing run-logs archive "),
            "{err}"
        );

        // Only the zip, the self-ignoring `.selfheal/` and an empty cache remain.
        let left: Vec<String> = tree(tmp.path())?.into_keys().collect();
        assert_eq!(
            left,
            [
                "evil.zip",
                "repo/",
                "repo/.selfheal/",
                "repo/.selfheal/.gitignore",
                "repo/.selfheal/logs/",
            ],
            "{}",
            case.name
        );
    }
    Ok(())
}

#[test]
fn a_run_id_that_is_not_a_plain_name_is_refused() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let zip = tmp.path().join("logs.zip");
    make_zip(&zip, GOOD)?;
    let cache = OfflineCache::new(&tmp.path().join("repo"));
    for id in ["", "../x", "a/b", ".hidden", "..", "a\\b", "/abs", "a\0b"] {
        let err = cache
            .store_zip_file(&full_run(id), &zip)
            .expect_err("unsafe id");
        assert!(
            matches!(&err, MonitorError::UnsafeArchive { reason, .. } if reason.starts_with("run id")),
            "{id:?}: {err:?}"
        );
    }
    let left: Vec<String> = tree(tmp.path())?.into_keys().collect();
    assert_eq!(left, ["logs.zip"]);
    Ok(())
}
