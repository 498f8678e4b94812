//! Turning a case into a fresh, ready-to-repair repository.
//!
//! A sample is prepared exactly as `sample_projects/prepare.sh` does it, in
//! Rust with git2: the healthy project committed as "Initial commit" by a
//! fixed identity at a fixed date, then `break.patch` applied the way
//! `git am --committer-date-is-author-date` applies it (the mail's author,
//! date and message; the committer is the fixed identity at the author's
//! date). The resulting shas are the script's to the byte, which matters:
//! the cached logs name the broken commit, and the tests compare the two for
//! every sample.
//!
//! A captured case is unbundled with the `git` command (libgit2 cannot read
//! bundles) and its failing commit checked out on `main`.

use std::path::Path;
use std::process::Command;

use git2::{IndexAddOption, Oid, Repository, RepositoryInitOptions, Signature, Time};
use serde_json::{Map, Value};

use crate::error::BenchError;
use crate::suite::{Case, CaseSource};

/// The identity and date `prepare.sh` fixes for the initial commit and for
/// every committer.
const IDENTITY_NAME: &str = "Sam Rivera";
const IDENTITY_EMAIL: &str = "sam.rivera@example.com";
/// 2026-11-02T09:00:00Z.
const IDENTITY_TIME: i64 = 1_793_610_000;

/// Prepares `case` in `dest` (which must not exist or be empty) and returns
/// the sha of its failing commit, which is `HEAD` on `main`.
pub fn prepare_case(case: &Case, dest: &Path) -> Result<String, BenchError> {
    match &case.source {
        CaseSource::Sample {
            project,
            break_patch,
        } => prepare_sample(&case.name, project, break_patch, &case.logs_dir(), dest),
        CaseSource::Captured { bundle, commit } => {
            prepare_captured(&case.name, bundle, commit, &case.logs_dir(), dest)
        }
    }
}

fn empty_dest(dest: &Path) -> Result<(), BenchError> {
    if dest.exists()
        && std::fs::read_dir(dest)
            .map_err(BenchError::io(dest))?
            .next()
            .is_some()
    {
        return Err(BenchError::Usage(format!(
            "{} exists and is not empty; hint: pass a new directory",
            dest.display()
        )));
    }
    std::fs::create_dir_all(dest).map_err(BenchError::io(dest))
}

fn init_repo(dest: &Path) -> Result<Repository, BenchError> {
    let mut opts = RepositoryInitOptions::new();
    // Like `git init -b main --template=`: no hooks, no sample files.
    opts.initial_head("main").external_template(false);
    let repo = Repository::init_opts(dest, &opts)
        .map_err(BenchError::git(format!("git init {}", dest.display())))?;
    // The user's global configuration must not change the blobs (line-ending
    // conversion); prepare.sh ignores it the same way.
    let mut config = repo
        .config()
        .map_err(BenchError::git("reading the repository configuration"))?;
    config
        .set_bool("core.autocrlf", false)
        .map_err(BenchError::git("setting core.autocrlf"))?;
    Ok(repo)
}

/// `prepare.sh <sample> <dest>`, in Rust.
pub fn prepare_sample(
    name: &str,
    project: &Path,
    break_patch: &Path,
    logs: &Path,
    dest: &Path,
) -> Result<String, BenchError> {
    empty_dest(dest)?;
    copy_dir(project, dest)?;
    let repo = init_repo(dest)?;

    let fixed = Signature::new(IDENTITY_NAME, IDENTITY_EMAIL, &Time::new(IDENTITY_TIME, 0))
        .map_err(BenchError::git("the fixed identity"))?;
    let mut index = repo.index().map_err(BenchError::git("opening the index"))?;
    index
        .add_all(["*"], IndexAddOption::DEFAULT, None)
        .map_err(BenchError::git("git add -A"))?;
    index
        .write()
        .map_err(BenchError::git("writing the index"))?;
    let tree = index
        .write_tree()
        .and_then(|id| repo.find_tree(id))
        .map_err(BenchError::git("writing the initial tree"))?;
    let initial = repo
        .commit(Some("HEAD"), &fixed, &fixed, "Initial commit\n", &tree, &[])
        .map_err(BenchError::git("committing the healthy project"))?;

    let text = std::fs::read_to_string(break_patch).map_err(BenchError::io(break_patch))?;
    let mail =
        Mail::parse(&text).map_err(|m| BenchError::case(name, format!("break.patch: {m}")))?;
    let diff = git2::Diff::from_buffer(mail.diff.as_bytes())
        .map_err(|e| BenchError::case(name, format!("break.patch: {}", e.message())))?;
    repo.apply(&diff, git2::ApplyLocation::Both, None)
        .map_err(|e| {
            BenchError::case(
                name,
                format!("break.patch does not apply to project/: {}", e.message()),
            )
        })?;
    let mut index = repo.index().map_err(BenchError::git("opening the index"))?;
    index
        .read(true)
        .map_err(BenchError::git("re-reading the index"))?;
    let tree = index
        .write_tree()
        .and_then(|id| repo.find_tree(id))
        .map_err(BenchError::git("writing the broken tree"))?;
    let author = Signature::new(&mail.author_name, &mail.author_email, &mail.date)
        .map_err(|e| BenchError::case(name, format!("break.patch author: {}", e.message())))?;
    // --committer-date-is-author-date: the committer is the fixed identity,
    // dated like the author, so the sha never depends on the clock.
    let committer = Signature::new(IDENTITY_NAME, IDENTITY_EMAIL, &mail.date)
        .map_err(BenchError::git("the committer"))?;
    let parent = repo
        .find_commit(initial)
        .map_err(BenchError::git("finding the initial commit"))?;
    let broken = repo
        .commit(
            Some("HEAD"),
            &author,
            &committer,
            &mail.message,
            &tree,
            &[&parent],
        )
        .map_err(BenchError::git("committing break.patch"))?;
    install_logs(logs, dest, &broken.to_string())?;
    Ok(broken.to_string())
}

/// Unbundles a captured case and checks out its failing commit on `main`.
pub fn prepare_captured(
    name: &str,
    bundle: &Path,
    commit: &str,
    logs: &Path,
    dest: &Path,
) -> Result<String, BenchError> {
    empty_dest(dest)?;
    let repo = init_repo(dest)?;
    git_command(
        dest,
        &["bundle".as_ref(), "unbundle".as_ref(), bundle.as_os_str()],
    )?;
    let oid = Oid::from_str(commit)
        .map_err(|e| BenchError::case(name, format!("case.json commit: {}", e.message())))?;
    let target = repo.find_commit(oid).map_err(|_| {
        BenchError::case(
            name,
            format!(
                "the snapshot {} does not hold commit {commit}",
                bundle.file_name().unwrap_or_default().to_string_lossy()
            ),
        )
    })?;
    repo.reference(
        "refs/heads/main",
        target.id(),
        true,
        "selfheal bench: failing commit",
    )
    .map_err(BenchError::git("creating main"))?;
    repo.set_head("refs/heads/main")
        .map_err(BenchError::git("pointing HEAD at main"))?;
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .map_err(BenchError::git("checking out the failing commit"))?;
    install_logs(logs, dest, commit)?;
    Ok(commit.to_owned())
}

/// Runs `git` in `dir` with the caller's configuration kept out, failing
/// with its stderr in one line.
pub(crate) fn git_command(dir: &Path, args: &[&std::ffi::OsStr]) -> Result<String, BenchError> {
    let shown = format!(
        "git {}",
        args.iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| BenchError::Command {
            command: shown.clone(),
            message: format!("cannot run git ({e}); hint: install git"),
        })?;
    if !out.status.success() {
        return Err(BenchError::Command {
            command: shown,
            message: one_line(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(crate) fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Copies the case's `logs/` into `.selfheal/logs/`, points every
/// `run.json` at `head_sha` (right after `id`, where GitHub puts it), and
/// makes `.selfheal/` ignore itself.
fn install_logs(logs: &Path, dest: &Path, head_sha: &str) -> Result<(), BenchError> {
    let cache = dest.join(".selfheal").join("logs");
    std::fs::create_dir_all(&cache).map_err(BenchError::io(&cache))?;
    if logs.is_dir() {
        copy_dir(logs, &cache)?;
    }
    let ignore = dest.join(".selfheal").join(".gitignore");
    std::fs::write(&ignore, "*\n").map_err(BenchError::io(&ignore))?;
    let mut run_files: Vec<_> = std::fs::read_dir(&cache)
        .map_err(BenchError::io(&cache))?
        .filter_map(Result::ok)
        .map(|e| e.path().join("run.json"))
        .filter(|p| p.is_file())
        .collect();
    run_files.sort();
    for path in run_files {
        let text = std::fs::read_to_string(&path).map_err(BenchError::io(&path))?;
        let run: Map<String, Value> =
            serde_json::from_str(&text).map_err(|e| BenchError::Command {
                command: format!("reading {}", path.display()),
                message: format!("not a JSON object: {e}"),
            })?;
        let mut out = Map::new();
        out.insert(
            "id".to_owned(),
            run.get("id").cloned().unwrap_or(Value::Null),
        );
        out.insert("head_sha".to_owned(), Value::String(head_sha.to_owned()));
        for (k, v) in run {
            if k != "id" && k != "head_sha" {
                out.insert(k, v);
            }
        }
        let mut text = serde_json::to_string_pretty(&Value::Object(out)).unwrap_or_default();
        text.push('\n');
        std::fs::write(&path, text).map_err(BenchError::io(&path))?;
    }
    Ok(())
}

/// `cp -R src/. dest/`: files keep their permission bits, links stay links.
pub(crate) fn copy_dir(src: &Path, dest: &Path) -> Result<(), BenchError> {
    std::fs::create_dir_all(dest).map_err(BenchError::io(dest))?;
    for entry in std::fs::read_dir(src).map_err(BenchError::io(src))? {
        let entry = entry.map_err(BenchError::io(src))?;
        let from = entry.path();
        let to = dest.join(entry.file_name());
        let kind = entry.file_type().map_err(BenchError::io(&from))?;
        if kind.is_dir() {
            copy_dir(&from, &to)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&from).map_err(BenchError::io(&from))?;
            std::os::unix::fs::symlink(&target, &to).map_err(BenchError::io(&to))?;
        } else {
            std::fs::copy(&from, &to).map_err(BenchError::io(&from))?;
        }
    }
    Ok(())
}

/// Where a line of a mail is, after the headers.
#[derive(PartialEq)]
enum Part {
    Body,
    /// Between `---` and the diff: the diffstat, which is not message.
    Stat,
    Diff,
}

/// One `git format-patch` mail, read the way `git am` (mailinfo) reads it.
#[derive(Debug, PartialEq)]
pub struct Mail {
    pub author_name: String,
    pub author_email: String,
    pub date: Time,
    /// Subject (without `[PATCH]`), a blank line and the body, cleaned like
    /// `git am` cleans it.
    pub message: String,
    /// The patch itself, from the first `diff --git` line.
    pub diff: String,
}

impl Mail {
    pub fn parse(text: &str) -> Result<Mail, String> {
        let mut lines = text.split_inclusive('\n').peekable();
        // The mbox separator `From <sha> <date>`.
        if lines.peek().is_some_and(|l| l.starts_with("From ")) {
            lines.next();
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines.by_ref() {
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                // A folded header continues the previous one.
                if let Some((_, value)) = headers.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if let Some((key, value)) = line.split_once(':') {
                headers.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |key: &str| {
            headers
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let from = header("from").ok_or("no From: header")?;
        let (author_name, author_email) = parse_from(from)?;
        let date_text = header("date").ok_or("no Date: header")?;
        let date =
            time::OffsetDateTime::parse(date_text, &time::format_description::well_known::Rfc2822)
                .map_err(|e| format!("Date: {date_text:?} is not an RFC 2822 date ({e})"))?;
        let date = Time::new(
            date.unix_timestamp(),
            i32::from(date.offset().whole_minutes()),
        );
        let subject = clean_subject(header("subject").ok_or("no Subject: header")?);

        let mut part = Part::Body;
        let mut body = String::new();
        let mut diff = String::new();
        for line in lines {
            if part != Part::Diff && line.starts_with("diff --git ") {
                part = Part::Diff;
            }
            match part {
                Part::Body if is_patch_break(line.trim_end_matches(['\n', '\r'])) => {
                    part = Part::Stat;
                }
                Part::Body => body.push_str(line),
                Part::Stat => {}
                Part::Diff => diff.push_str(line),
            }
        }
        if diff.is_empty() {
            return Err("no diff in the mail".to_owned());
        }
        // format-patch's signature (`-- ` then the git version) is not patch.
        if let Some(at) = diff.rfind("\n-- \n") {
            diff.truncate(at + 1);
        }
        let message = strip_space(&format!("{subject}\n\n{body}"));
        Ok(Mail {
            author_name,
            author_email,
            date,
            message,
            diff,
        })
    }
}

/// mailinfo's patch break: `---` alone (or followed by whitespace only), or
/// `--- ` followed by a file name.
fn is_patch_break(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("---") else {
        return line.starts_with("Index: ");
    };
    rest.chars().all(char::is_whitespace)
        || (rest.starts_with(' ') && rest[1..].chars().next().is_some_and(|c| !c.is_whitespace()))
}

fn parse_from(from: &str) -> Result<(String, String), String> {
    if let (Some(open), Some(close)) = (from.rfind('<'), from.rfind('>'))
        && open < close
    {
        let name = from[..open].trim().trim_matches('"').trim().to_owned();
        let email = from[open + 1..close].trim().to_owned();
        let name = if name.is_empty() { email.clone() } else { name };
        return Ok((name, email));
    }
    if from.contains('@') {
        return Ok((from.trim().to_owned(), from.trim().to_owned()));
    }
    Err(format!("From: {from:?} names no email address"))
}

/// Drops leading `Re:` and `[PATCH ...]`-style prefixes, as mailinfo does.
fn clean_subject(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        if s.len() >= 3 && s[..3].eq_ignore_ascii_case("re:") {
            s = s[3..].trim_start();
        } else if s.starts_with('[')
            && let Some(end) = s.find(']')
        {
            s = s[end + 1..].trim_start();
        } else {
            return s.to_owned();
        }
    }
}

/// git's `stripspace`: trailing whitespace off every line, runs of blank
/// lines collapsed to one, none at either end, one final newline.
fn strip_space(text: &str) -> String {
    let mut out = String::new();
    let mut blank_pending = false;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_pending = !out.is_empty();
            continue;
        }
        if blank_pending {
            out.push('\n');
            blank_pending = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL: &str = "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Ines Duarte <ines.duarte@example.com>
Date: Tue, 17 Nov 2026 16:48:12 +0100
Subject: [PATCH] Rename units module
 to conversions

\"units\" clashed.   

Second paragraph.
---
 a.py | 2 +-
 1 file changed

diff --git a/a.py b/a.py
--- a/a.py
+++ b/a.py
@@ -1 +1 @@
-x
+y
-- 
2.47.0
";

    #[test]
    fn reads_a_format_patch_mail_like_git_am() {
        let mail = Mail::parse(MAIL).expect("parses");
        assert_eq!(
            mail,
            Mail {
                author_name: "Ines Duarte".to_owned(),
                author_email: "ines.duarte@example.com".to_owned(),
                date: Time::new(1_794_930_492, 60),
                message: "Rename units module to conversions\n\n\"units\" clashed.\n\nSecond paragraph.\n"
                    .to_owned(),
                diff: "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n"
                    .to_owned(),
            }
        );
    }

    #[test]
    fn a_mail_without_a_diff_is_an_error() {
        let err = Mail::parse(
            "From: a <a@b>\nDate: Tue, 17 Nov 2026 16:48:12 +0000\nSubject: x\n\nbody\n",
        )
        .expect_err("no diff");
        assert_eq!(err, "no diff in the mail");
    }

    #[test]
    fn subjects_lose_their_prefixes() {
        assert_eq!(clean_subject("[PATCH 2/3] Fix it"), "Fix it");
        assert_eq!(clean_subject("Re: [PATCH] Fix it"), "Fix it");
        assert_eq!(clean_subject("Fix [it]"), "Fix [it]");
    }
}
