//! Shared pieces: a recording in-memory [`Forge`], git repositories made
//! with git2 (a work repo with a fix branch, a bare remote), and records
//! built by hand.

mod flow;
mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use git2::build::TreeUpdateBuilder;
use git2::{FileMode, Oid, Repository, RepositoryInitOptions};
use selfheal_git::{Credentials, Repo};
use selfheal_monitor::{Comment, Forge, MonitorError, NewPullRequest, PullRequest};
use selfheal_publish::PublishSettings;
use selfheal_types::{
    Attempt, AttemptOutcome, Category, Diagnosis, Failure, LineSpan, Location, Outcome,
    PullRequestRef, REPAIR_SCHEMA, RepairRecord, RunInfo, StepResult, TokenUsage,
    ValidationOutcome, ValidationReport,
};

pub use anyhow::Result;

/// The repository the runs belong to.
pub const REPOSITORY: &str = "acme/widgets";
/// The local branch the repair loop committed the fix on.
pub const FIX_BRANCH: &str = "selfheal/42-abcdef01";
/// The failure's fingerprint; its first eight digits are in [`FIX_BRANCH`].
pub const FINGERPRINT: &str = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

pub const BROKEN_CALC: &str = "def add(a, b):\n    return a - b\n";
pub const FIXED_CALC: &str = "def add(a, b):\n    return a + b\n";
pub const TEST_CALC: &str =
    "from src.calc import add\n\n\ndef test_add():\n    assert add(2, 2) == 4\n";

/// The validated patch, as the repair loop records it.
pub const DIFF: &str = "\
--- a/src/calc.py
+++ b/src/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
";

/// The CI log lines that show the failure.
pub const EXCERPT: &str = "\
============================= test session starts ==============================
collected 3 items

tests/test_calc.py F..                                                   [100%]

=================================== FAILURES ===================================
___________________________________ test_add ___________________________________

    def test_add():
>       assert add(2, 2) == 4
E       assert 0 == 4
E        +  where 0 = add(2, 2)

tests/test_calc.py:5: AssertionError
=========================== short test summary info ============================
FAILED tests/test_calc.py::test_add - assert 0 == 4
========================= 1 failed, 2 passed in 0.04s ==========================
";

// ---------------------------------------------------------------------------
// The forge

/// One call the code under test made, with everything it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    FindOpen {
        marker: String,
    },
    ForBranch {
        owner: String,
        branch: String,
    },
    Open(NewPullRequest),
    Update {
        number: u64,
        title: String,
        body: String,
    },
    Upsert {
        number: u64,
        marker: String,
        body: String,
    },
    DefaultBranch,
}

impl Call {
    /// Whether the call changes something on the forge.
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Call::Open(_) | Call::Update { .. } | Call::Upsert { .. }
        )
    }
}

#[derive(Debug, Default)]
struct State {
    pulls: Vec<PullRequest>,
    /// Pull request number → its comments, oldest first.
    comments: BTreeMap<u64, Vec<Comment>>,
    calls: Vec<Call>,
    next_comment: u64,
}

/// A forge held in memory that records every call in order. Pull requests
/// it opens are numbered from 100, comments from 9000.
#[derive(Debug)]
pub struct FakeForge {
    state: Mutex<State>,
    default_branch: String,
    /// Every `upsert_comment` fails (after being recorded).
    failing_comments: bool,
}

impl Default for FakeForge {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeForge {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                next_comment: 9000,
                ..State::default()
            }),
            default_branch: "main".to_owned(),
            failing_comments: false,
        }
    }

    pub fn with_default_branch(mut self, branch: &str) -> Self {
        branch.clone_into(&mut self.default_branch);
        self
    }

    pub fn with_failing_comments(mut self) -> Self {
        self.failing_comments = true;
        self
    }

    /// Adds an open pull request, as if someone had opened it before.
    pub fn with_pull(self, pr: PullRequest) -> Self {
        self.state().pulls.push(pr);
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    pub fn write_calls(&self) -> Vec<Call> {
        self.calls().into_iter().filter(Call::writes).collect()
    }

    pub fn forget_calls(&self) {
        self.state().calls.clear();
    }

    pub fn pulls(&self) -> Vec<PullRequest> {
        self.state().pulls.clone()
    }

    /// Every comment, by pull request number.
    pub fn comments(&self) -> BTreeMap<u64, Vec<Comment>> {
        self.state().comments.clone()
    }

    fn record(&self, call: Call) {
        self.state().calls.push(call);
    }
}

pub fn pull_url(number: u64) -> String {
    format!("https://github.com/{REPOSITORY}/pull/{number}")
}

pub fn comment_url(number: u64, id: u64) -> String {
    format!("{}#issuecomment-{id}", pull_url(number))
}

fn not_found(number: u64) -> MonitorError {
    MonitorError::Provider {
        provider: "fake forge",
        message: format!("no pull request #{number}"),
        status: Some(404),
        retryable: false,
    }
}

#[async_trait::async_trait]
impl Forge for FakeForge {
    async fn find_open_pull_requests(
        &self,
        marker: &str,
    ) -> Result<Vec<PullRequest>, MonitorError> {
        self.record(Call::FindOpen {
            marker: marker.to_owned(),
        });
        let mut found: Vec<PullRequest> = self
            .state()
            .pulls
            .iter()
            .filter(|pr| pr.body.contains(marker))
            .cloned()
            .collect();
        found.sort_by_key(|pr| std::cmp::Reverse(pr.number));
        Ok(found)
    }

    async fn pull_request_for_branch(
        &self,
        head_owner: &str,
        branch: &str,
    ) -> Result<Option<PullRequest>, MonitorError> {
        self.record(Call::ForBranch {
            owner: head_owner.to_owned(),
            branch: branch.to_owned(),
        });
        Ok(self
            .state()
            .pulls
            .iter()
            .find(|pr| {
                pr.head_branch == branch
                    && pr
                        .head_repository
                        .as_deref()
                        .and_then(|r| r.split('/').next())
                        == Some(head_owner)
            })
            .cloned())
    }

    async fn open_pull_request(&self, new: &NewPullRequest) -> Result<PullRequest, MonitorError> {
        self.record(Call::Open(new.clone()));
        let mut state = self.state();
        let number = 100 + state.pulls.iter().filter(|p| p.number >= 100).count() as u64;
        let pr = PullRequest {
            number,
            url: pull_url(number),
            title: new.title.clone(),
            body: new.body.clone(),
            head_branch: new.head_branch.clone(),
            head_sha: String::new(),
            head_repository: Some(REPOSITORY.to_owned()),
            base_branch: new.base_branch.clone(),
        };
        state.pulls.push(pr.clone());
        Ok(pr)
    }

    async fn update_pull_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, MonitorError> {
        self.record(Call::Update {
            number,
            title: title.to_owned(),
            body: body.to_owned(),
        });
        let mut state = self.state();
        let pr = state
            .pulls
            .iter_mut()
            .find(|p| p.number == number)
            .ok_or_else(|| not_found(number))?;
        title.clone_into(&mut pr.title);
        body.clone_into(&mut pr.body);
        Ok(pr.clone())
    }

    async fn upsert_comment(
        &self,
        number: u64,
        marker: &str,
        body: &str,
    ) -> Result<Comment, MonitorError> {
        self.record(Call::Upsert {
            number,
            marker: marker.to_owned(),
            body: body.to_owned(),
        });
        if self.failing_comments {
            return Err(MonitorError::Provider {
                provider: "fake forge",
                message: "comments are switched off".to_owned(),
                status: Some(403),
                retryable: false,
            });
        }
        let mut state = self.state();
        if !state.pulls.iter().any(|p| p.number == number) {
            return Err(not_found(number));
        }
        let id = state.next_comment;
        let comments = state.comments.entry(number).or_default();
        if let Some(existing) = comments.iter_mut().find(|c| c.body.contains(marker)) {
            body.clone_into(&mut existing.body);
            return Ok(existing.clone());
        }
        let comment = Comment {
            id,
            url: comment_url(number, id),
            body: body.to_owned(),
        };
        comments.push(comment.clone());
        state.next_comment += 1;
        Ok(comment)
    }

    async fn default_branch(&self) -> Result<String, MonitorError> {
        self.record(Call::DefaultBranch);
        Ok(self.default_branch.clone())
    }
}

/// An open pull request of this repository whose body carries `marker`.
pub fn existing_pull(number: u64, head_branch: &str, body: &str) -> PullRequest {
    PullRequest {
        number,
        url: pull_url(number),
        title: "selfheal: an older fix".to_owned(),
        body: body.to_owned(),
        head_branch: head_branch.to_owned(),
        head_sha: String::new(),
        head_repository: Some(REPOSITORY.to_owned()),
        base_branch: "main".to_owned(),
    }
}

// ---------------------------------------------------------------------------
// Git

/// A work repository whose `main` is the broken commit and whose fix branch
/// [`FIX_BRANCH`] holds one commit on top of it (one file changed), and a
/// bare remote that has `main`.
pub struct Fixture {
    tmp: tempfile::TempDir,
    pub repo: Repo,
    pub remote: PathBuf,
    pub base: String,
    pub fix: String,
}

impl Fixture {
    pub fn new() -> Result<Self> {
        let tmp = tempfile::tempdir()?;
        let work_path = tmp.path().join("work");
        let mut init = RepositoryInitOptions::new();
        init.initial_head("main");
        let work = Repository::init_opts(&work_path, &init)?;
        let base = commit(
            &work,
            "refs/heads/main",
            None,
            &[
                ("src/calc.py", BROKEN_CALC),
                ("tests/test_calc.py", TEST_CALC),
            ],
            "broken",
        )?;
        let fix = commit(
            &work,
            &format!("refs/heads/{FIX_BRANCH}"),
            Some(base),
            &[("src/calc.py", FIXED_CALC)],
            "Fix add() subtracting instead of adding",
        )?;

        let remote = tmp.path().join("remote.git");
        Repository::init_bare(&remote)?;
        let remote_url = remote.to_string_lossy().into_owned();
        work.remote_anonymous(&remote_url)?
            .push(&["refs/heads/main:refs/heads/main"], None)?;

        Ok(Self {
            repo: Repo::discover(&work_path)?,
            remote,
            base: base.to_string(),
            fix: fix.to_string(),
            tmp,
        })
    }

    /// A folder of the temp dir nothing else uses.
    pub fn dir(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Every branch on the remote and where it points.
    pub fn remote_branches(&self) -> Result<BTreeMap<String, String>> {
        let remote = Repository::open_bare(&self.remote)?;
        let mut out = BTreeMap::new();
        for reference in remote.references()? {
            let reference = reference?;
            if let (Ok(name), Some(target)) = (reference.name(), reference.target()) {
                out.insert(name.to_owned(), target.to_string());
            }
        }
        Ok(out)
    }

    /// A commit on top of the broken one, made on the remote only (someone
    /// pushed it from elsewhere), on `branch`. Returns its sha.
    pub fn remote_commit(&self, branch: &str, path: &str, content: &str) -> Result<String> {
        let remote = Repository::open_bare(&self.remote)?;
        let oid = commit(
            &remote,
            &format!("refs/heads/{branch}"),
            Some(Oid::from_str(&self.base)?),
            &[(path, content)],
            "someone else's change",
        )?;
        Ok(oid.to_string())
    }

    /// Creates `branch` on the remote at `sha`.
    pub fn remote_branch_at(&self, branch: &str, sha: &str) -> Result<()> {
        let remote = Repository::open_bare(&self.remote)?;
        remote.reference(
            &format!("refs/heads/{branch}"),
            Oid::from_str(sha)?,
            false,
            "test",
        )?;
        Ok(())
    }

    /// Pushes the fix branch to the remote, as an earlier publish would have.
    pub fn push_fix_branch(&self) -> Result<()> {
        let work = Repository::open(self.repo.root())?;
        let url = self.remote.to_string_lossy().into_owned();
        let spec = format!("refs/heads/{FIX_BRANCH}:refs/heads/{FIX_BRANCH}");
        work.remote_anonymous(&url)?.push(&[spec.as_str()], None)?;
        Ok(())
    }

    /// Copies the remote's `branch` into the work repository's objects
    /// (as a fetch would), under `refs/remotes/origin/<branch>`.
    pub fn fetch_into_work(&self, branch: &str) -> Result<()> {
        let work = Repository::open(self.repo.root())?;
        let url = self.remote.to_string_lossy().into_owned();
        work.remote_anonymous(&url)?.fetch(
            &[format!("refs/heads/{branch}:refs/remotes/origin/{branch}")],
            None,
            None,
        )?;
        Ok(())
    }

    /// Where the remote's branches are at the start: `main` at the broken commit.
    pub fn initial_branches(&self) -> BTreeMap<String, String> {
        branches(&[("main", &self.base)])
    }

    pub fn settings(&self) -> PublishSettings {
        PublishSettings {
            remote: self.remote.to_string_lossy().into_owned(),
            credentials: Credentials::anonymous(),
            draft: true,
            labels: vec!["selfheal".to_owned(), "ci-fix".to_owned()],
            dry_run: false,
            comment_on_trigger: false,
            results_dir: self.dir("results"),
        }
    }

    /// The fixed record of run 42, which pushed the broken commit to `main`.
    pub fn record(&self) -> RepairRecord {
        fixed_record(&self.base, &self.fix)
    }
}

/// `refs/heads/<name>` → sha, for whole-map comparisons.
pub fn branches(list: &[(&str, &str)]) -> BTreeMap<String, String> {
    list.iter()
        .map(|(name, sha)| (format!("refs/heads/{name}"), (*sha).to_owned()))
        .collect()
}

/// Writes a commit whose tree is `parent`'s (or an empty one) with `files`
/// written over it, and points `refname` at it. Fixed times make the shas
/// the same on every run.
fn commit(
    repo: &Repository,
    refname: &str,
    parent: Option<Oid>,
    files: &[(&str, &str)],
    message: &str,
) -> Result<Oid> {
    let parent = parent.map(|p| repo.find_commit(p)).transpose()?;
    let base_tree = match &parent {
        Some(p) => p.tree()?,
        None => repo.find_tree(repo.treebuilder(None)?.write()?)?,
    };
    let mut update = TreeUpdateBuilder::new();
    for (path, content) in files {
        update.upsert(*path, repo.blob(content.as_bytes())?, FileMode::Blob);
    }
    let tree = repo.find_tree(update.create_updated(repo, &base_tree)?)?;
    let sig = git2::Signature::new(
        "Test Author",
        "author@example.com",
        &git2::Time::new(1_767_225_600, 0),
    )?;
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    Ok(repo.commit(Some(refname), &sig, &sig, message, &tree, &parents)?)
}

// ---------------------------------------------------------------------------
// Records

pub fn run() -> RunInfo {
    RunInfo {
        id: "42".to_owned(),
        head_sha: Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
        head_branch: Some("main".to_owned()),
        workflow: Some("CI".to_owned()),
        repository: Some(REPOSITORY.to_owned()),
        created_at: Some("2026-01-01T00:00:00Z".to_owned()),
        html_url: Some(format!("https://github.com/{REPOSITORY}/actions/runs/42")),
        event: Some("push".to_owned()),
        conclusion: Some("failure".to_owned()),
        head_repository: Some(REPOSITORY.to_owned()),
        ..RunInfo::default()
    }
}

/// A run of pull request `number` from a fork's branch `patch-1`.
pub fn fork_run(linked: Option<u64>) -> RunInfo {
    let fork = "contributor/widgets";
    RunInfo {
        event: Some("pull_request".to_owned()),
        head_branch: Some("patch-1".to_owned()),
        head_repository: Some(fork.to_owned()),
        pull_requests: linked
            .map(|number| PullRequestRef {
                number,
                head_branch: "patch-1".to_owned(),
                head_sha: None,
                head_repository: Some(fork.to_owned()),
                base_branch: "main".to_owned(),
                html_url: Some(pull_url(number)),
            })
            .into_iter()
            .collect(),
        ..run()
    }
}

/// A run of this repository's pull request `number`, from branch `feature`.
pub fn same_repo_pr_run(number: u64) -> RunInfo {
    RunInfo {
        event: Some("pull_request".to_owned()),
        head_branch: Some("feature".to_owned()),
        pull_requests: vec![PullRequestRef {
            number,
            head_branch: "feature".to_owned(),
            head_sha: None,
            head_repository: Some(REPOSITORY.to_owned()),
            base_branch: "main".to_owned(),
            html_url: Some(pull_url(number)),
        }],
        ..run()
    }
}

pub fn failure() -> Failure {
    Failure {
        category: Category::TestFailure,
        tool: "pytest".to_owned(),
        message: "assert 0 == 4".to_owned(),
        test: Some("tests/test_calc.py::test_add".to_owned()),
        locations: vec![Location {
            file: "src/calc.py".to_owned(),
            line: Some(2),
            column: None,
        }],
        job: Some("test (3.12)".to_owned()),
        step: Some("Run pytest".to_owned()),
        log_file: None,
        log_span: LineSpan::new(118, 134),
        fingerprint: FINGERPRINT.to_owned(),
        flaky: None,
    }
}

pub fn step(name: &str, command: &str, duration_ms: u64) -> StepResult {
    StepResult {
        name: name.to_owned(),
        command: command.to_owned(),
        exit_code: Some(0),
        duration_ms,
        timed_out: false,
        output_tail: "1 passed in 0.02s".to_owned(),
        environment_error: None,
        failure_section: None,
    }
}

pub fn validated_attempt() -> Attempt {
    Attempt {
        number: 2,
        outcome: AttemptOutcome::Validated,
        diagnosis: Some(Diagnosis {
            summary: "Fix add() subtracting instead of adding".to_owned(),
            root_cause: "`add` in `src/calc.py` returns `a - b`, so `add(2, 2)` is 0 and \
                         `test_add` fails. It now returns `a + b`."
                .to_owned(),
            test_is_wrong: None,
        }),
        diff: Some(DIFF.to_owned()),
        files: vec!["src/calc.py".to_owned()],
        validation: Some(ValidationReport {
            outcome: ValidationOutcome::Passed,
            image: "python:3.12-slim".to_owned(),
            steps: vec![
                step(
                    "failing tests",
                    "python -m pytest tests/test_calc.py::test_add",
                    1_240,
                ),
                step("full suite", "python -m pytest", 3_410),
            ],
            duration_ms: 4_650,
        }),
        reason: None,
        tokens: TokenUsage {
            prompt: 1_530,
            completion: 204,
        },
        timings_ms: BTreeMap::new(),
        test_change: None,
        candidates: None,
        model: None,
        prompt_ms: None,
        remedy: None,
    }
}

/// An attempt whose tests still failed, before the one that worked.
pub fn failed_attempt() -> Attempt {
    Attempt {
        number: 1,
        outcome: AttemptOutcome::ValidationFailed,
        diagnosis: Some(Diagnosis {
            summary: "Change the expected value in test_add".to_owned(),
            root_cause: "A first guess.".to_owned(),
            test_is_wrong: None,
        }),
        diff: Some("--- a/tests/test_calc.py\n+++ b/tests/test_calc.py\n".to_owned()),
        files: vec!["tests/test_calc.py".to_owned()],
        validation: None,
        reason: Some("the failing test still fails".to_owned()),
        tokens: TokenUsage {
            prompt: 1_200,
            completion: 96,
        },
        timings_ms: BTreeMap::new(),
        test_change: None,
        candidates: None,
        model: None,
        prompt_ms: None,
        remedy: None,
    }
}

/// Run 42 fixed: the fix `commit` on [`FIX_BRANCH`], made from `base`.
pub fn fixed_record(base: &str, commit: &str) -> RepairRecord {
    RepairRecord {
        schema: REPAIR_SCHEMA.to_owned(),
        run: run(),
        base_commit: base.to_owned(),
        started_at: "2026-01-01T00:00:00Z".to_owned(),
        model: "gpt-4.1-mini".to_owned(),
        failure: Some(failure()),
        attempts: vec![failed_attempt(), validated_attempt()],
        outcome: Outcome::Fixed {
            branch: FIX_BRANCH.to_owned(),
            commit: commit.to_owned(),
        },
        tokens: TokenUsage {
            prompt: 2_730,
            completion: 300,
        },
        timings_ms: BTreeMap::new(),
        duration_ms: 61_300,
        publication: None,
    }
}

/// The set of paths under `dir`, relative to it.
pub fn files_under(dir: &Path) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir)? {
        out.insert(entry?.file_name().to_string_lossy().into_owned());
    }
    Ok(out)
}
