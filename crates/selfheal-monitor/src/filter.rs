//! Which runs to look at, and which of those not to repair: rules every
//! provider shares, so the GitHub API's own filters are a speed-up, never
//! the definition.

use selfheal_types::RunInfo;

use crate::{REPAIRABLE_CONCLUSIONS, REPORTED_CONCLUSIONS, RunFilter};

impl RunFilter {
    /// Whether `run` passes every field of the filter (`limit` aside, which
    /// is about a list, not a run).
    ///
    /// A workflow in `workflows` or `exclude_workflows` names a run's
    /// workflow by its name, in any case (`CI`, `ci`), or by its file name,
    /// the last component of `workflow_path`, with or without
    /// `.github/workflows/` (`ci.yml`, `.github/workflows/ci.yml`). Branch,
    /// event and head commit must match exactly. Empty fields match every
    /// run; a run that does not say what a non-empty field asks about does
    /// not match it.
    pub fn matches(&self, run: &RunInfo) -> bool {
        let workflows: Vec<&String> = self.workflows.iter().filter(|w| !blank(w)).collect();
        if !workflows.is_empty() && !workflows.iter().any(|w| names_workflow(w, run)) {
            return false;
        }
        if self
            .exclude_workflows
            .iter()
            .any(|w| names_workflow(w, run))
        {
            return false;
        }
        exact(self.branch.as_deref(), run.head_branch.as_deref())
            && exact(self.event.as_deref(), run.event.as_deref())
            && exact(self.head_sha.as_deref(), run.head_sha.as_deref())
    }
}

fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

fn exact(wanted: Option<&str>, actual: Option<&str>) -> bool {
    match wanted.map(str::trim) {
        None | Some("") => true,
        Some(wanted) => actual.map(str::trim) == Some(wanted),
    }
}

fn names_workflow(pattern: &str, run: &RunInfo) -> bool {
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return false;
    }
    if run
        .workflow
        .as_deref()
        .is_some_and(|name| name.trim().to_lowercase() == pattern.to_lowercase())
    {
        return true;
    }
    let file = pattern
        .strip_prefix("./")
        .unwrap_or(pattern)
        .strip_prefix(".github/workflows/")
        .unwrap_or(pattern);
    run.workflow_path
        .as_deref()
        .and_then(|path| path.rsplit('/').next())
        .is_some_and(|name| !name.is_empty() && name == file)
}

/// How selfheal recognises its own work on the forge, so it never repairs
/// its own fixes in a loop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnWork {
    /// Fix branches start with this (`selfheal/`); empty: no branch is selfheal's.
    pub branch_prefix: String,
    /// The commit author selfheal writes as; the name counts only for
    /// commits that carry no email.
    pub author_name: String,
    pub author_email: String,
}

/// Why `run` is not one to repair, in one line, or `None` when it is: it
/// tested one of selfheal's own fix branches or commits, its workflow did
/// not start, or it ended in a way no code change repairs (`success`,
/// `cancelled`, ...). A run whose conclusion is unknown is not skipped for it.
pub fn skip_reason(run: &RunInfo, own: &OwnWork) -> Option<String> {
    let prefix = own.branch_prefix.trim();
    if let Some(branch) = run.head_branch.as_deref()
        && !prefix.is_empty()
        && branch.starts_with(prefix)
    {
        return Some(format!(
            "branch `{branch}` is one of selfheal's own fix branches (`{prefix}*`): not repaired"
        ));
    }
    if let Some(author) = &run.head_author {
        let by_email = match author.email.as_deref().map(str::trim) {
            Some(email) if !email.is_empty() => {
                !blank(&own.author_email) && email.eq_ignore_ascii_case(own.author_email.trim())
            }
            _ => author.name.as_deref().is_some_and(|name| {
                !blank(&own.author_name) && name.trim() == own.author_name.trim()
            }),
        };
        if by_email {
            return Some("the head commit is selfheal's own: not repaired".to_owned());
        }
    }
    let conclusion = run.conclusion.as_deref()?;
    if REPORTED_CONCLUSIONS.contains(&conclusion) {
        return Some(format!(
            "the workflow did not start ({conclusion}): reported, not repaired"
        ));
    }
    if !REPAIRABLE_CONCLUSIONS.contains(&conclusion) {
        return Some(format!(
            "the run concluded `{conclusion}`, which no code change repairs (only {})",
            REPAIRABLE_CONCLUSIONS.join(", ")
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use selfheal_types::CommitAuthor;

    use super::*;

    fn run() -> RunInfo {
        RunInfo {
            id: "1".into(),
            head_sha: Some("abc123".into()),
            head_branch: Some("main".into()),
            workflow: Some("Build and Test".into()),
            event: Some("push".into()),
            conclusion: Some("failure".into()),
            workflow_path: Some(".github/workflows/ci.yml".into()),
            head_author: Some(CommitAuthor {
                name: Some("Ada".into()),
                email: Some("ada@example.com".into()),
            }),
            ..RunInfo::default()
        }
    }

    fn workflows(names: &[&str]) -> RunFilter {
        RunFilter {
            workflows: names.iter().map(|&n| n.to_owned()).collect(),
            ..RunFilter::default()
        }
    }

    #[test]
    fn an_empty_filter_matches_every_run() {
        assert!(RunFilter::default().matches(&run()));
        assert!(RunFilter::default().matches(&RunInfo::default()));
        let blanks = RunFilter {
            workflows: vec![" ".into()],
            branch: Some(String::new()),
            event: Some(" ".into()),
            head_sha: Some(String::new()),
            ..RunFilter::default()
        };
        assert!(blanks.matches(&run()));
    }

    #[test]
    fn workflows_match_by_name_in_any_case_or_by_file_name() {
        for pattern in [
            "Build and Test",
            "build and test",
            "BUILD AND TEST",
            "ci.yml",
            ".github/workflows/ci.yml",
            "./.github/workflows/ci.yml",
        ] {
            assert!(workflows(&[pattern]).matches(&run()), "{pattern}");
            assert!(workflows(&["other", pattern]).matches(&run()), "{pattern}");
        }
        for pattern in [
            "Build",
            "ci",
            "ci.yaml",
            "CI.yml",
            "workflows/ci.yml",
            "other",
        ] {
            assert!(!workflows(&[pattern]).matches(&run()), "{pattern}");
        }
        // A run that does not say which workflow it is matches no include.
        assert!(!workflows(&["ci.yml"]).matches(&RunInfo::default()));
    }

    #[test]
    fn excluded_workflows_win_over_included_ones() {
        let filter = RunFilter {
            workflows: vec!["ci.yml".into()],
            exclude_workflows: vec!["build and test".into()],
            ..RunFilter::default()
        };
        assert!(!filter.matches(&run()));
        let other = RunFilter {
            exclude_workflows: vec!["nightly.yml".into()],
            ..RunFilter::default()
        };
        assert!(other.matches(&run()));
    }

    #[test]
    fn branch_event_and_commit_match_exactly() {
        let cases = [
            (Some("main"), None, None, true),
            (Some("Main"), None, None, false),
            (Some("mai"), None, None, false),
            (None, Some("push"), None, true),
            (None, Some("pull_request"), None, false),
            (None, None, Some("abc123"), true),
            (None, None, Some("abc"), false),
            (Some("main"), Some("push"), Some("abc123"), true),
            (Some("main"), Some("push"), Some("def456"), false),
        ];
        for (branch, event, head_sha, expected) in cases {
            let filter = RunFilter {
                branch: branch.map(str::to_owned),
                event: event.map(str::to_owned),
                head_sha: head_sha.map(str::to_owned),
                ..RunFilter::default()
            };
            assert_eq!(filter.matches(&run()), expected, "{filter:?}");
        }
        let filter = RunFilter {
            branch: Some("main".into()),
            ..RunFilter::default()
        };
        assert!(!filter.matches(&RunInfo::default()));
    }

    fn own() -> OwnWork {
        OwnWork {
            branch_prefix: "selfheal/".into(),
            author_name: "selfheal".into(),
            author_email: "selfheal@users.noreply.github.com".into(),
        }
    }

    #[test]
    fn a_failed_run_of_someone_elses_commit_is_repaired() {
        assert_eq!(skip_reason(&run(), &own()), None);
        let timed_out = RunInfo {
            conclusion: Some("timed_out".into()),
            ..run()
        };
        assert_eq!(skip_reason(&timed_out, &own()), None);
        let unknown = RunInfo {
            conclusion: None,
            ..run()
        };
        assert_eq!(skip_reason(&unknown, &own()), None);
    }

    #[test]
    fn selfheals_own_branches_and_commits_are_skipped() {
        let branch = RunInfo {
            head_branch: Some("selfheal/fix-1a2b3c4d".into()),
            ..run()
        };
        assert_eq!(
            skip_reason(&branch, &own()).as_deref(),
            Some(
                "branch `selfheal/fix-1a2b3c4d` is one of selfheal's own fix branches (`selfheal/*`): not repaired"
            )
        );
        let own_commit = "the head commit is selfheal's own: not repaired";
        let by_email = RunInfo {
            head_author: Some(CommitAuthor {
                name: Some("Someone Else".into()),
                email: Some("SelfHeal@users.noreply.github.com".into()),
            }),
            ..run()
        };
        assert_eq!(skip_reason(&by_email, &own()).as_deref(), Some(own_commit));
        let by_name = RunInfo {
            head_author: Some(CommitAuthor {
                name: Some("selfheal".into()),
                email: None,
            }),
            ..run()
        };
        assert_eq!(skip_reason(&by_name, &own()).as_deref(), Some(own_commit));
        // With an email, the name is not evidence: people may share it.
        let same_name = RunInfo {
            head_author: Some(CommitAuthor {
                name: Some("selfheal".into()),
                email: Some("person@example.com".into()),
            }),
            ..run()
        };
        assert_eq!(skip_reason(&same_name, &own()), None);
        // An empty prefix or identity recognises nothing.
        assert_eq!(skip_reason(&branch, &OwnWork::default()), None);
        assert_eq!(skip_reason(&by_name, &OwnWork::default()), None);
    }

    #[test]
    fn runs_that_did_not_fail_in_the_code_are_skipped() {
        let startup = RunInfo {
            conclusion: Some("startup_failure".into()),
            ..run()
        };
        assert_eq!(
            skip_reason(&startup, &own()).as_deref(),
            Some("the workflow did not start (startup_failure): reported, not repaired")
        );
        for conclusion in [
            "success",
            "cancelled",
            "skipped",
            "neutral",
            "action_required",
        ] {
            let run = RunInfo {
                conclusion: Some(conclusion.into()),
                ..run()
            };
            assert_eq!(
                skip_reason(&run, &own()),
                Some(format!(
                    "the run concluded `{conclusion}`, which no code change repairs (only failure, timed_out)"
                ))
            );
        }
    }
}
