//! `run.json`: what selfheal knows about a cached run.
//!
//! selfheal writes it from [`RunInfo`] when it caches a run, but people also
//! drop in what `gh api repos/O/R/actions/runs/ID` prints. The reader is
//! therefore lenient: every field is optional, ids and counts may be numbers
//! or strings, and GitHub's names and shapes are read where they differ from
//! selfheal's: the workflow as `name`, its file as `path`, repositories as
//! objects (`full_name`, or the `url`/`name` of the short ones in
//! `pull_requests`), the head commit's author as `head_commit.author`, and a
//! pull request's branches as `head.ref`/`base.ref`. Fields of an unexpected
//! type are ignored rather than failing the whole cache; a job without a
//! name or a pull request without a number is dropped. Only text that is not
//! a JSON object is an error.

use std::path::Path;

use selfheal_types::{CommitAuthor, JobInfo, PullRequestRef, RunInfo};
use serde_json::Value;

use crate::MonitorError;

/// Largest `run.json` read; a real one is a few kilobytes.
pub(crate) const MAX_RUN_JSON: u64 = 1 << 20;

/// A run's metadata with the id still optional (the caller knows a fallback).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RunJson {
    pub id: Option<String>,
    pub info: RunInfo,
}

impl RunJson {
    pub fn into_info(self, fallback_id: &str) -> RunInfo {
        RunInfo {
            id: self.id.unwrap_or_else(|| fallback_id.to_owned()),
            ..self.info
        }
    }
}

pub(crate) fn parse(text: &str, path: &Path) -> Result<RunJson, MonitorError> {
    let bad = |reason: String| MonitorError::BadRunJson {
        path: path.to_path_buf(),
        reason,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    if !value.is_object() {
        return Err(bad("expected a JSON object".to_owned()));
    }
    let run = &value;
    let field = |key: &str| text_at(run, &[key]);
    Ok(RunJson {
        id: id_at(run, &["id"]),
        info: RunInfo {
            id: String::new(),
            head_sha: field("head_sha"),
            head_branch: field("head_branch"),
            workflow: field("workflow").or_else(|| field("name")),
            repository: repository_at(run, &["repository"]),
            created_at: field("created_at"),
            html_url: field("html_url"),
            event: field("event"),
            conclusion: field("conclusion"),
            head_repository: repository_at(run, &["head_repository"]),
            head_author: author_at(run, &["head_author"])
                .or_else(|| author_at(run, &["head_commit", "author"])),
            // GitHub calls the workflow file `path`.
            workflow_path: field("workflow_path").or_else(|| field("path")),
            run_attempt: number_at(run, &["run_attempt"]),
            jobs: array_at(run, "jobs").filter_map(job).collect(),
            pull_requests: array_at(run, "pull_requests")
                .filter_map(pull_request)
                .collect(),
        },
    })
}

/// The value at `keys`, one object key after another.
fn at<'v>(value: &'v Value, keys: &[&str]) -> Option<&'v Value> {
    keys.iter().try_fold(value, |v, key| v.get(key))
}

/// Non-blank text, trimmed.
fn text_at(value: &Value, keys: &[&str]) -> Option<String> {
    match at(value, keys)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// An id: GitHub's are numbers, selfheal writes strings.
fn id_at(value: &Value, keys: &[&str]) -> Option<String> {
    match at(value, keys)? {
        Value::Number(n) => Some(n.to_string()),
        _ => text_at(value, keys),
    }
}

/// A small count, as a number or a numeric string.
fn number_at<T: TryFrom<u64>>(value: &Value, keys: &[&str]) -> Option<T> {
    let n = match at(value, keys)? {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    T::try_from(n).ok()
}

fn array_at<'v>(value: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// `owner/name` from a string, or from a repository object: its
/// `full_name`, else the `/repos/OWNER/NAME` of its API `url` (the short
/// repository objects in a run's `pull_requests` carry only `id`, `url` and
/// `name`), else its bare `name`, the best a hand-written file may offer.
fn repository_at(value: &Value, keys: &[&str]) -> Option<String> {
    let repo = at(value, keys)?;
    if repo.is_string() {
        return text_at(repo, &[]);
    }
    text_at(repo, &["full_name"])
        .or_else(|| text_at(repo, &["url"]).and_then(|url| repository_from_api_url(&url)))
        .or_else(|| text_at(repo, &["name"]))
}

fn repository_from_api_url(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("/repos/")?;
    let mut parts = rest.split('/').filter(|p| !p.is_empty());
    let (owner, name) = (parts.next()?, parts.next()?);
    Some(format!("{owner}/{name}"))
}

fn author_at(value: &Value, keys: &[&str]) -> Option<CommitAuthor> {
    let author = at(value, keys)?;
    let found = CommitAuthor {
        name: text_at(author, &["name"]),
        email: text_at(author, &["email"]),
    };
    (found != CommitAuthor::default()).then_some(found)
}

/// A job as selfheal writes it, or as GitHub's jobs API lists it (whose
/// failed steps are the `steps` that concluded `failure`). A job without a
/// name is dropped: there is nothing to show for it.
fn job(value: &Value) -> Option<JobInfo> {
    let name = text_at(value, &["name"])?;
    let failed_steps = match value.get("failed_steps").and_then(Value::as_array) {
        Some(steps) => steps.iter().filter_map(|s| text_at(s, &[])).collect(),
        None => array_at(value, "steps")
            .filter(|step| text_at(step, &["conclusion"]).as_deref() == Some("failure"))
            .filter_map(|step| text_at(step, &["name"]))
            .collect(),
    };
    Some(JobInfo {
        id: id_at(value, &["id"]).unwrap_or_default(),
        name,
        conclusion: text_at(value, &["conclusion"]),
        html_url: text_at(value, &["html_url"]),
        failed_steps,
    })
}

/// A pull request as selfheal writes it, or in the short shape of a run
/// object's `pull_requests` (`head.ref`, `head.sha`, `head.repo`,
/// `base.ref`). One without a number is dropped: it cannot be looked up.
fn pull_request(value: &Value) -> Option<PullRequestRef> {
    Some(PullRequestRef {
        number: number_at(value, &["number"])?,
        head_branch: text_at(value, &["head_branch"])
            .or_else(|| text_at(value, &["head", "ref"]))
            .unwrap_or_default(),
        head_sha: text_at(value, &["head_sha"]).or_else(|| text_at(value, &["head", "sha"])),
        head_repository: repository_at(value, &["head_repository"])
            .or_else(|| repository_at(value, &["head", "repo"])),
        base_branch: text_at(value, &["base_branch"])
            .or_else(|| text_at(value, &["base", "ref"]))
            .unwrap_or_default(),
        // GitHub's `url` here is the API's, not a page a person opens.
        html_url: text_at(value, &["html_url"]),
    })
}

/// Milliseconds since the Unix epoch of an RFC 3339 time
/// (`2026-11-25T22:13:42Z`, `2026-11-25T23:13:42.5+01:00`), or `None` when
/// the text is not one. Hand-rolled because ordering runs is all it is for.
pub(crate) fn rfc3339_millis(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        // Milliseconds are plenty to order runs; further digits are dropped.
        let mut frac = num(start..i.min(start + 3))?;
        for _ in (i - start)..3 {
            frac *= 10;
        }
        millis = frac;
    }
    let offset_minutes = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let minutes = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_run() -> RunInfo {
        RunInfo {
            id: "123".into(),
            head_sha: Some("abc".into()),
            head_branch: Some("main".into()),
            workflow: Some("CI".into()),
            repository: Some("o/r".into()),
            created_at: Some("2026-01-02T03:04:05Z".into()),
            html_url: Some("https://github.com/o/r/actions/runs/123".into()),
            event: Some("pull_request".into()),
            conclusion: Some("failure".into()),
            head_repository: Some("fork/r".into()),
            head_author: Some(CommitAuthor {
                name: Some("Ada".into()),
                email: Some("ada@example.com".into()),
            }),
            workflow_path: Some(".github/workflows/ci.yml".into()),
            run_attempt: Some(3),
            jobs: vec![
                JobInfo {
                    id: "9".into(),
                    name: "test (3.12)".into(),
                    conclusion: Some("failure".into()),
                    html_url: Some("https://github.com/o/r/actions/runs/123/job/9".into()),
                    failed_steps: vec!["Run pytest".into()],
                },
                JobInfo {
                    id: "10".into(),
                    name: "lint".into(),
                    ..JobInfo::default()
                },
            ],
            pull_requests: vec![PullRequestRef {
                number: 4,
                head_branch: "topic".into(),
                head_sha: Some("abc".into()),
                head_repository: Some("fork/r".into()),
                base_branch: "main".into(),
                html_url: Some("https://github.com/o/r/pull/4".into()),
            }],
        }
    }

    #[test]
    fn parses_what_selfheal_writes() {
        let bare = RunInfo {
            id: "1".into(),
            ..RunInfo::default()
        };
        for info in [full_run(), bare] {
            for text in [
                serde_json::to_string(&info).expect("serializes"),
                serde_json::to_string_pretty(&info).expect("serializes"),
            ] {
                let parsed = parse(&text, Path::new("run.json")).expect("parses");
                assert_eq!(parsed.into_info("fallback"), info, "{text}");
            }
        }
    }

    #[test]
    fn accepts_githubs_own_run_object() {
        // Trimmed from `gh api repos/octo/cat/actions/runs/987654321`.
        let text = r#"{"id": 987654321, "name": "tests", "head_sha": "f00",
            "head_branch": "dev", "path": ".github/workflows/tests.yml",
            "event": "pull_request", "status": "completed", "conclusion": "failure",
            "run_attempt": 2, "created_at": "2026-03-04T05:06:07Z",
            "html_url": "https://github.com/octo/cat/actions/runs/987654321",
            "pull_requests": [{
                "url": "https://api.github.com/repos/octo/cat/pulls/12", "id": 1, "number": 12,
                "head": {"ref": "dev", "sha": "f00",
                         "repo": {"id": 2, "url": "https://api.github.com/repos/kit/cat", "name": "cat"}},
                "base": {"ref": "main", "sha": "b45",
                         "repo": {"id": 3, "url": "https://api.github.com/repos/octo/cat", "name": "cat"}}
            }],
            "head_commit": {"id": "f00", "message": "wip",
                            "author": {"name": "Kit", "email": "kit@example.com"},
                            "committer": {"name": "GitHub", "email": "noreply@github.com"}},
            "repository": {"id": 3, "name": "cat", "full_name": "octo/cat"},
            "head_repository": {"id": 2, "name": "cat", "full_name": "kit/cat"}}"#;
        let info = parse(text, Path::new("run.json"))
            .expect("parses")
            .into_info("x");
        assert_eq!(
            info,
            RunInfo {
                id: "987654321".into(),
                head_sha: Some("f00".into()),
                head_branch: Some("dev".into()),
                workflow: Some("tests".into()),
                repository: Some("octo/cat".into()),
                created_at: Some("2026-03-04T05:06:07Z".into()),
                html_url: Some("https://github.com/octo/cat/actions/runs/987654321".into()),
                event: Some("pull_request".into()),
                conclusion: Some("failure".into()),
                head_repository: Some("kit/cat".into()),
                head_author: Some(CommitAuthor {
                    name: Some("Kit".into()),
                    email: Some("kit@example.com".into()),
                }),
                workflow_path: Some(".github/workflows/tests.yml".into()),
                run_attempt: Some(2),
                jobs: Vec::new(),
                pull_requests: vec![PullRequestRef {
                    number: 12,
                    head_branch: "dev".into(),
                    head_sha: Some("f00".into()),
                    head_repository: Some("kit/cat".into()),
                    base_branch: "main".into(),
                    html_url: None,
                }],
            }
        );
    }

    #[test]
    fn githubs_job_objects_give_their_failed_steps() {
        let text = r#"{"jobs": [
            {"id": 55, "name": "build", "conclusion": "failure",
             "html_url": "https://github.com/o/r/actions/runs/1/job/55",
             "steps": [{"name": "Set up job", "conclusion": "success"},
                       {"name": "Run tests", "conclusion": "failure"},
                       {"name": "Upload", "conclusion": "skipped"}]},
            {"id": 56, "conclusion": "success"},
            "not a job"
        ]}"#;
        let info = parse(text, Path::new("run.json"))
            .expect("parses")
            .into_info("1");
        assert_eq!(
            info.jobs,
            [JobInfo {
                id: "55".into(),
                name: "build".into(),
                conclusion: Some("failure".into()),
                html_url: Some("https://github.com/o/r/actions/runs/1/job/55".into()),
                failed_steps: vec!["Run tests".into()],
            }]
        );
    }

    #[test]
    fn short_repository_objects_give_what_they_can() {
        let text = r#"{"run_attempt": "4", "head_repository": "kit/cat",
            "head_author": {"email": "bot@example.com"},
            "pull_requests": [
                {"number": 1, "head": {"ref": "a", "repo": {"name": "cat"}}, "base": {"ref": "main"}},
                {"number": 2, "head": {"ref": "b", "repo": {"url": "https://ghe.example.com/api/v3/repos/kit/cat"}}},
                {"head_branch": "no number"},
                {"number": -3}
            ]}"#;
        let info = parse(text, Path::new("run.json"))
            .expect("parses")
            .into_info("1");
        assert_eq!(info.run_attempt, Some(4));
        assert_eq!(info.head_repository.as_deref(), Some("kit/cat"));
        assert_eq!(
            info.head_author,
            Some(CommitAuthor {
                name: None,
                email: Some("bot@example.com".into()),
            })
        );
        assert_eq!(
            info.pull_requests,
            [
                PullRequestRef {
                    number: 1,
                    head_branch: "a".into(),
                    head_repository: Some("cat".into()),
                    base_branch: "main".into(),
                    ..PullRequestRef::default()
                },
                PullRequestRef {
                    number: 2,
                    head_branch: "b".into(),
                    head_repository: Some("kit/cat".into()),
                    ..PullRequestRef::default()
                },
            ]
        );
    }

    #[test]
    fn odd_fields_are_ignored_and_the_id_falls_back() {
        let info = parse(
            r#"{"head_sha": 12, "created_at": null, "id": "", "run_attempt": 1e99,
                "head_author": {"name": 1}, "jobs": {"a": 1}, "pull_requests": "x",
                "head_repository": {"id": 5}, "path": ["x"], "event": " "}"#,
            Path::new("r"),
        )
        .expect("parses")
        .into_info("42");
        assert_eq!(
            info,
            RunInfo {
                id: "42".into(),
                ..RunInfo::default()
            }
        );
    }

    #[test]
    fn non_objects_are_errors_naming_the_file() {
        for text in ["[1]", "{nope", ""] {
            let err = parse(text, Path::new("/c/run.json")).expect_err(text);
            assert!(
                err.to_string()
                    .starts_with("cannot read run metadata /c/run.json"),
                "{err}"
            );
        }
    }

    #[test]
    fn rfc3339_times_compare_across_offsets() {
        assert_eq!(rfc3339_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_millis("1970-01-02T00:00:00.25z"), Some(86_400_250));
        assert_eq!(
            rfc3339_millis("2026-11-25T23:13:42+01:00"),
            rfc3339_millis("2026-11-25T22:13:42Z")
        );
        assert_eq!(
            rfc3339_millis("2000-03-01T00:00:00Z"),
            Some(951_868_800_000)
        );
        assert_eq!(rfc3339_millis("1969-12-31 23:59:59.9999-00:00"), Some(-1));
        for bad in [
            "",
            "2026-11-25",
            "2026-13-01T00:00:00Z",
            "2026-11-25T22:13:42",
            "2026-11-25T22:13:42.Z",
            "２０２６-11-25T22:13:42Z",
        ] {
            assert_eq!(rfc3339_millis(bad), None, "{bad}");
        }
    }
}
