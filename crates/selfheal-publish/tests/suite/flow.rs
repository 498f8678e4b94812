//! Where a validated fix goes: pushed with one new pull request, onto an
//! open one, as a comment on a fork's pull request, or into a file.

use selfheal_git::GitError;
use selfheal_monitor::{Comment, NewPullRequest, PullRequest};
use selfheal_publish::{
    PublishError, comment_marker, comment_text, fingerprint_marker, moved_on_text, publish,
    pull_request_text,
};
use selfheal_types::{Outcome, Publication, RunInfo};

use super::{
    Call, DIFF, EXCERPT, FINGERPRINT, FIX_BRANCH, FakeForge, Fixture, Result, branches,
    comment_url, existing_pull, files_under, fork_run, pull_url, same_repo_pr_run,
};

/// The branch of an earlier fix pull request for the same failure.
const OLD_BRANCH: &str = "selfheal/41-abcdef01";

fn marker() -> String {
    fingerprint_marker(FINGERPRINT)
}

/// The marker of the comment on a fix pull request that could not take run 42's fix.
const MOVED_ON_MARKER: &str = "<!-- selfheal:moved-on run=42 -->";

fn find_call() -> Call {
    Call::FindOpen { marker: marker() }
}

/// What opening a pull request against `base` with the fixture's settings sends.
fn open_call(s: &Fixture, base: &str) -> Call {
    let text = pull_request_text(&s.record(), EXCERPT);
    Call::Open(NewPullRequest {
        title: text.title,
        body: text.body,
        head_branch: FIX_BRANCH.to_owned(),
        base_branch: base.to_owned(),
        draft: true,
        labels: vec!["selfheal".to_owned(), "ci-fix".to_owned()],
    })
}

fn update_call(s: &Fixture, number: u64) -> Call {
    let text = pull_request_text(&s.record(), EXCERPT);
    Call::Update {
        number,
        title: text.title,
        body: text.body,
    }
}

#[tokio::test]
async fn opens_one_pull_request_against_the_runs_branch_and_pushes_the_fix() -> Result<()> {
    let s = Fixture::new()?;
    let forge = FakeForge::new();
    let mut record = s.record();
    record.run.head_branch = Some("develop".to_owned());

    let publication = publish(&forge, &s.repo, &record, EXCERPT, &s.settings()).await?;

    assert_eq!(
        publication,
        Publication::Opened {
            number: 100,
            url: pull_url(100),
            branch: FIX_BRANCH.to_owned(),
        }
    );
    assert_eq!(
        s.remote_branches()?,
        branches(&[("main", &s.base), (FIX_BRANCH, &s.fix)])
    );
    assert_eq!(forge.calls(), vec![find_call(), open_call(&s, "develop")]);
    assert_eq!(forge.comments(), [].into());
    Ok(())
}

#[tokio::test]
async fn a_run_of_a_same_repository_pull_request_targets_its_head_branch() -> Result<()> {
    let s = Fixture::new()?;
    let forge = FakeForge::new().with_pull(existing_pull(7, "feature", "Adds a feature."));
    let mut record = s.record();
    // Without a branch of the run's own, only the pull request can say
    // where the failure is.
    record.run = RunInfo {
        head_branch: None,
        ..same_repo_pr_run(7)
    };

    let publication = publish(&forge, &s.repo, &record, EXCERPT, &s.settings()).await?;

    assert_eq!(
        publication,
        Publication::Opened {
            number: 100,
            url: pull_url(100),
            branch: FIX_BRANCH.to_owned(),
        }
    );
    assert_eq!(forge.calls(), vec![find_call(), open_call(&s, "feature")]);
    Ok(())
}

#[tokio::test]
async fn a_run_without_a_branch_targets_the_default_branch() -> Result<()> {
    let s = Fixture::new()?;
    let forge = FakeForge::new().with_default_branch("trunk");
    let mut record = s.record();
    record.run.head_branch = None;

    publish(&forge, &s.repo, &record, EXCERPT, &s.settings()).await?;

    assert_eq!(
        forge.calls(),
        vec![find_call(), Call::DefaultBranch, open_call(&s, "trunk")]
    );
    Ok(())
}

#[tokio::test]
async fn an_open_pull_request_for_the_failure_is_fast_forwarded_and_updated() -> Result<()> {
    let s = Fixture::new()?;
    s.remote_branch_at(OLD_BRANCH, &s.base)?;
    let old_body = format!("An older fix.\n\n{}\n", marker());
    let forge = FakeForge::new().with_pull(existing_pull(7, OLD_BRANCH, &old_body));

    let publication = publish(&forge, &s.repo, &s.record(), EXCERPT, &s.settings()).await?;

    assert_eq!(
        publication,
        Publication::Updated {
            number: 7,
            url: pull_url(7),
            branch: OLD_BRANCH.to_owned(),
            pushed: true,
            note: None,
        }
    );
    // The fix went onto the pull request's branch, not under its own name.
    assert_eq!(
        s.remote_branches()?,
        branches(&[("main", &s.base), (OLD_BRANCH, &s.fix)])
    );
    assert_eq!(forge.calls(), vec![find_call(), update_call(&s, 7)]);
    let text = pull_request_text(&s.record(), EXCERPT);
    assert_eq!(
        forge.pulls(),
        vec![PullRequest {
            title: text.title,
            body: text.body,
            ..existing_pull(7, OLD_BRANCH, &old_body)
        }]
    );
    assert_eq!(forge.comments(), [].into());
    Ok(())
}

#[tokio::test]
async fn publishing_again_finds_the_fix_already_there() -> Result<()> {
    let s = Fixture::new()?;
    let forge = FakeForge::new();
    let settings = s.settings();
    publish(&forge, &s.repo, &s.record(), EXCERPT, &settings).await?;
    forge.forget_calls();

    let again = publish(&forge, &s.repo, &s.record(), EXCERPT, &settings).await?;

    assert_eq!(
        again,
        Publication::Updated {
            number: 100,
            url: pull_url(100),
            branch: FIX_BRANCH.to_owned(),
            pushed: false,
            note: Some("it already holds this fix".to_owned()),
        }
    );
    assert_eq!(forge.calls(), vec![find_call(), update_call(&s, 100)]);
    assert_eq!(forge.pulls().len(), 1);
    assert_eq!(forge.comments(), [].into());
    assert_eq!(
        s.remote_branches()?,
        branches(&[("main", &s.base), (FIX_BRANCH, &s.fix)])
    );
    Ok(())
}

/// An open fix pull request whose branch someone moved on: the pull request
/// is updated, its branch left alone, and one comment says why, however
/// often this runs.
async fn moved_on(known_locally: bool) -> Result<()> {
    let s = Fixture::new()?;
    let moved = s.remote_commit(OLD_BRANCH, "README.md", "A reviewer's tweak.\n")?;
    if known_locally {
        s.fetch_into_work(OLD_BRANCH)?;
    }
    let forge = FakeForge::new().with_pull(existing_pull(7, OLD_BRANCH, &marker()));
    let record = s.record();
    let settings = s.settings();
    let reason =
        format!("its branch {OLD_BRANCH} has moved on and the new fix does not fast-forward it");
    let comment_body = format!(
        "{}\n\n{MOVED_ON_MARKER}",
        moved_on_text(&record, FIX_BRANCH, &reason)
    );

    for _ in 0..2 {
        forge.forget_calls();
        let publication = publish(&forge, &s.repo, &record, EXCERPT, &settings).await?;

        assert_eq!(
            publication,
            Publication::Updated {
                number: 7,
                url: pull_url(7),
                branch: OLD_BRANCH.to_owned(),
                pushed: false,
                note: Some(reason.clone()),
            }
        );
        assert_eq!(
            forge.calls(),
            vec![
                find_call(),
                update_call(&s, 7),
                Call::Upsert {
                    number: 7,
                    marker: MOVED_ON_MARKER.to_owned(),
                    body: comment_body.clone(),
                },
            ]
        );
        assert_eq!(
            forge.comments(),
            [(
                7,
                vec![Comment {
                    id: 9000,
                    url: comment_url(7, 9000),
                    body: comment_body.clone(),
                }]
            )]
            .into()
        );
        assert_eq!(
            s.remote_branches()?,
            branches(&[("main", &s.base), (OLD_BRANCH, &moved)])
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_pull_request_whose_branch_moved_on_gets_one_comment_and_keeps_its_branch() -> Result<()>
{
    moved_on(true).await
}

/// Regression: the moved-on head was pushed from elsewhere and never
/// fetched here, and asking whether it is an ancestor of the fix failed
/// with "commit not found" instead of reporting a branch that moved on.
#[tokio::test]
async fn a_branch_moved_on_to_a_commit_this_clone_never_saw_is_reported_not_failed() -> Result<()> {
    moved_on(false).await
}

#[tokio::test]
async fn a_pull_request_whose_branch_is_gone_is_updated_and_told_so() -> Result<()> {
    let s = Fixture::new()?;
    let forge = FakeForge::new().with_pull(existing_pull(7, OLD_BRANCH, &marker()));

    let publication = publish(&forge, &s.repo, &s.record(), EXCERPT, &s.settings()).await?;

    let reason = format!("its branch {OLD_BRANCH} is gone");
    assert_eq!(
        publication,
        Publication::Updated {
            number: 7,
            url: pull_url(7),
            branch: OLD_BRANCH.to_owned(),
            pushed: false,
            note: Some(reason.clone()),
        }
    );
    let body = format!(
        "{}\n\n{MOVED_ON_MARKER}",
        moved_on_text(&s.record(), FIX_BRANCH, &reason)
    );
    assert_eq!(
        forge.calls(),
        vec![
            find_call(),
            update_call(&s, 7),
            Call::Upsert {
                number: 7,
                marker: MOVED_ON_MARKER.to_owned(),
                body: body.clone(),
            },
        ]
    );
    assert_eq!(
        forge.comments(),
        [(
            7,
            vec![Comment {
                id: 9000,
                url: comment_url(7, 9000),
                body,
            }]
        )]
        .into()
    );
    assert_eq!(s.remote_branches()?, s.initial_branches());
    Ok(())
}

#[tokio::test]
async fn a_fork_run_gets_one_comment_with_the_diff_and_nothing_is_pushed() -> Result<()> {
    let s = Fixture::new()?;
    let forge = FakeForge::new().with_pull(existing_pull(9, "patch-1", "A contribution."));
    let mut record = s.record();
    record.run = fork_run(Some(9));
    let head = record.run.head_sha.clone().unwrap_or_default();
    let body = comment_text(&record, EXCERPT, None, &head);
    assert!(body.contains(DIFF.trim_end()), "{body}");
    assert!(body.contains(&comment_marker(&head)), "{body}");

    for _ in 0..2 {
        forge.forget_calls();
        let publication = publish(&forge, &s.repo, &record, EXCERPT, &s.settings()).await?;

        assert_eq!(
            publication,
            Publication::Commented {
                number: 9,
                url: comment_url(9, 9000),
            }
        );
        assert_eq!(
            forge.calls(),
            vec![Call::Upsert {
                number: 9,
                marker: comment_marker(&head),
                body: body.clone(),
            }]
        );
        assert_eq!(
            forge.comments(),
            [(
                9,
                vec![Comment {
                    id: 9000,
                    url: comment_url(9, 9000),
                    body: body.clone(),
                }]
            )]
            .into()
        );
        assert_eq!(s.remote_branches()?, s.initial_branches());
    }
    Ok(())
}

#[tokio::test]
async fn a_fork_run_without_a_linked_pull_request_finds_it_by_branch() -> Result<()> {
    let s = Fixture::new()?;
    let mut contribution = existing_pull(11, "patch-1", "A contribution.");
    contribution.head_repository = Some("contributor/widgets".to_owned());
    // The same branch name in this repository is not the fork's.
    let forge = FakeForge::new()
        .with_pull(existing_pull(10, "patch-1", "Ours."))
        .with_pull(contribution);
    let mut record = s.record();
    record.run = fork_run(None);

    let publication = publish(&forge, &s.repo, &record, EXCERPT, &s.settings()).await?;

    assert_eq!(
        publication,
        Publication::Commented {
            number: 11,
            url: comment_url(11, 9000),
        }
    );
    let head = record.run.head_sha.clone().unwrap_or_default();
    assert_eq!(
        forge.calls(),
        vec![
            Call::ForBranch {
                owner: "contributor".to_owned(),
                branch: "patch-1".to_owned(),
            },
            Call::Upsert {
                number: 11,
                marker: comment_marker(&head),
                body: comment_text(&record, EXCERPT, None, &head),
            },
        ]
    );
    assert_eq!(s.remote_branches()?, s.initial_branches());
    Ok(())
}

#[tokio::test]
async fn a_fork_run_with_no_open_pull_request_is_an_error() -> Result<()> {
    let s = Fixture::new()?;
    let forge = FakeForge::new();
    let mut record = s.record();
    record.run = fork_run(None);

    let result = publish(&forge, &s.repo, &record, EXCERPT, &s.settings()).await;

    let Err(err @ PublishError::NoPullRequestForFork { .. }) = result else {
        panic!("expected NoPullRequestForFork, got {result:?}");
    };
    assert_eq!(
        err.to_string(),
        "the run came from a fork and no open pull request for its branch patch-1 was found to comment on"
    );
    assert_eq!(
        forge.calls(),
        vec![Call::ForBranch {
            owner: "contributor".to_owned(),
            branch: "patch-1".to_owned(),
        }]
    );
    assert_eq!(s.remote_branches()?, s.initial_branches());
    Ok(())
}

#[tokio::test]
async fn a_dry_run_writes_the_would_be_pull_request_and_publishes_nothing() -> Result<()> {
    let s = Fixture::new()?;
    let forge = FakeForge::new();
    let settings = selfheal_publish::PublishSettings {
        dry_run: true,
        comment_on_trigger: true,
        ..s.settings()
    };
    let mut record = s.record();
    record.run = same_repo_pr_run(7);

    let publication = publish(&forge, &s.repo, &record, EXCERPT, &settings).await?;

    let path = settings.results_dir.join("42-abcdef01.pr.md");
    assert_eq!(
        publication,
        Publication::DryRun {
            path: path.display().to_string(),
        }
    );
    let text = pull_request_text(&record, EXCERPT);
    assert_eq!(
        std::fs::read_to_string(&path)?,
        format!(
            "# {}\n\n{}\n\n---\n\n```diff\n{}\n```\n",
            text.title,
            text.body.trim_end(),
            DIFF.trim_end()
        )
    );
    assert_eq!(forge.calls(), []);
    assert_eq!(s.remote_branches()?, s.initial_branches());
    Ok(())
}

#[tokio::test]
async fn a_fork_dry_run_writes_the_would_be_comment_and_posts_nothing() -> Result<()> {
    let s = Fixture::new()?;
    let forge = FakeForge::new().with_pull(existing_pull(9, "patch-1", "A contribution."));
    let settings = selfheal_publish::PublishSettings {
        dry_run: true,
        ..s.settings()
    };
    let mut record = s.record();
    record.run = fork_run(Some(9));

    let publication = publish(&forge, &s.repo, &record, EXCERPT, &settings).await?;

    let path = settings.results_dir.join("42-abcdef01.pr.md");
    assert_eq!(
        publication,
        Publication::DryRun {
            path: path.display().to_string(),
        }
    );
    let head = record.run.head_sha.clone().unwrap_or_default();
    let content = std::fs::read_to_string(&path)?;
    let comment = comment_text(&record, EXCERPT, None, &head);
    assert!(
        content.starts_with(&format!(
            "# comment on pull request #9\n\n{}",
            comment.trim_end()
        )),
        "{content}"
    );
    assert_eq!(forge.write_calls(), []);
    assert_eq!(forge.comments(), [].into());
    assert_eq!(s.remote_branches()?, s.initial_branches());
    Ok(())
}

#[tokio::test]
async fn comment_on_trigger_keeps_one_comment_linking_the_fix() -> Result<()> {
    let s = Fixture::new()?;
    let forge = FakeForge::new().with_pull(existing_pull(7, "feature", "Adds a feature."));
    let settings = selfheal_publish::PublishSettings {
        comment_on_trigger: true,
        ..s.settings()
    };
    let mut record = s.record();
    record.run = same_repo_pr_run(7);
    let head = record.run.head_sha.clone().unwrap_or_default();
    let body = comment_text(&record, EXCERPT, Some(&pull_url(100)), &head);
    assert!(body.contains(&pull_url(100)), "{body}");
    let trigger_comment = Call::Upsert {
        number: 7,
        marker: comment_marker(&head),
        body: body.clone(),
    };

    let first = publish(&forge, &s.repo, &record, EXCERPT, &settings).await?;
    assert_eq!(
        first,
        Publication::Opened {
            number: 100,
            url: pull_url(100),
            branch: FIX_BRANCH.to_owned(),
        }
    );
    assert_eq!(
        forge.calls(),
        vec![
            find_call(),
            open_call(&s, "feature"),
            trigger_comment.clone()
        ]
    );

    // Again: the fix pull request is found and the same comment edited.
    forge.forget_calls();
    publish(&forge, &s.repo, &record, EXCERPT, &settings).await?;
    let text = pull_request_text(&record, EXCERPT);
    assert_eq!(
        forge.calls(),
        vec![
            find_call(),
            Call::Update {
                number: 100,
                title: text.title,
                body: text.body,
            },
            trigger_comment,
        ]
    );
    assert_eq!(
        forge.comments(),
        [(
            7,
            vec![Comment {
                id: 9000,
                url: comment_url(7, 9000),
                body,
            }]
        )]
        .into()
    );
    Ok(())
}

#[tokio::test]
async fn a_trigger_comment_that_fails_does_not_fail_the_publication() -> Result<()> {
    let s = Fixture::new()?;
    let forge = FakeForge::new()
        .with_failing_comments()
        .with_pull(existing_pull(7, "feature", "Adds a feature."));
    let settings = selfheal_publish::PublishSettings {
        comment_on_trigger: true,
        ..s.settings()
    };
    let mut record = s.record();
    record.run = same_repo_pr_run(7);
    let head = record.run.head_sha.clone().unwrap_or_default();

    let publication = publish(&forge, &s.repo, &record, EXCERPT, &settings).await?;

    assert_eq!(
        publication,
        Publication::Opened {
            number: 100,
            url: pull_url(100),
            branch: FIX_BRANCH.to_owned(),
        }
    );
    assert_eq!(
        forge.calls(),
        vec![
            find_call(),
            open_call(&s, "feature"),
            Call::Upsert {
                number: 7,
                marker: comment_marker(&head),
                body: comment_text(&record, EXCERPT, Some(&pull_url(100)), &head),
            },
        ]
    );
    assert_eq!(forge.comments(), [].into());
    Ok(())
}

#[tokio::test]
async fn a_record_that_is_not_fixed_publishes_nothing() -> Result<()> {
    let s = Fixture::new()?;
    let forge = FakeForge::new();
    let mut record = s.record();
    record.outcome = Outcome::NotFixed {
        reason: "every attempt failed validation".to_owned(),
    };

    let result = publish(&forge, &s.repo, &record, EXCERPT, &s.settings()).await;

    assert!(matches!(result, Err(PublishError::NotFixed)), "{result:?}");
    assert_eq!(forge.calls(), []);
    assert_eq!(s.remote_branches()?, s.initial_branches());
    assert_eq!(files_under(&s.dir("results"))?, [].into());
    Ok(())
}

#[tokio::test]
async fn a_remote_branch_of_the_same_name_is_never_overwritten() -> Result<()> {
    let s = Fixture::new()?;
    let other = s.remote_commit(
        FIX_BRANCH,
        "src/calc.py",
        "def add(a, b):\n    return b + a\n",
    )?;
    let forge = FakeForge::new();

    let result = publish(&forge, &s.repo, &s.record(), EXCERPT, &s.settings()).await;

    match result {
        Err(PublishError::Git(GitError::RemoteBranchExists { branch, sha, .. })) => {
            assert_eq!(
                (branch.as_str(), sha.as_str()),
                (FIX_BRANCH, other.as_str())
            );
        }
        other => panic!("expected RemoteBranchExists, got {other:?}"),
    }
    assert_eq!(
        s.remote_branches()?,
        branches(&[("main", &s.base), (FIX_BRANCH, &other)])
    );
    assert_eq!(forge.calls(), vec![find_call()]);
    Ok(())
}

/// Regression: the push went through, opening the pull request did not;
/// publishing again refused to "overwrite" the branch with the very commit
/// it already held, so the fix could never be proposed.
#[tokio::test]
async fn a_fix_branch_pushed_by_an_earlier_try_still_gets_its_pull_request() -> Result<()> {
    let s = Fixture::new()?;
    s.push_fix_branch()?;
    let forge = FakeForge::new();

    let publication = publish(&forge, &s.repo, &s.record(), EXCERPT, &s.settings()).await?;

    assert_eq!(
        publication,
        Publication::Opened {
            number: 100,
            url: pull_url(100),
            branch: FIX_BRANCH.to_owned(),
        }
    );
    assert_eq!(forge.calls(), vec![find_call(), open_call(&s, "main")]);
    assert_eq!(
        s.remote_branches()?,
        branches(&[("main", &s.base), (FIX_BRANCH, &s.fix)])
    );
    Ok(())
}
