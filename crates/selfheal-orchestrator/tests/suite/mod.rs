mod baseline;
mod fixed;
mod loops;
mod policy;
mod remedies;
mod retries;
mod stops;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use selfheal_analyze::AnalyzeOptions;
use selfheal_git::{Repo, Signature};
use selfheal_orchestrator::{
    Approval, ApproveAll, Approver, EventSink, LoopSettings, ModelRetry, Orchestrator,
    OrchestratorError, RepairJob,
};
use selfheal_patch::ChangeSet;
use selfheal_reason::{Proposal, ReasonError, RepairModel, RepairRequest};
use selfheal_types::{
    Analysis, Diagnosis, Event, Failure, RepairRecord, RunInfo, StepResult, TokenUsage,
    ValidationOutcome, ValidationReport,
};
use selfheal_validate::{Sandbox, ValidateError, ValidationPlan};

pub use anyhow::Result;

/// The module under repair: a `NameError` (`bb`) that hides an off-by-one
/// (`- 1`) in the same line, the shape of the masked samples.
pub const OPS_BROKEN: &str =
    "def add(a, b):\n    return a + bb - 1\n\n\ndef mul(a, b):\n    return a * b\n";
/// After the first of the two fixes: the test now fails on its assertion.
pub const OPS_HALF_FIXED: &str =
    "def add(a, b):\n    return a + b - 1\n\n\ndef mul(a, b):\n    return a * b\n";
pub const OPS_FIXED: &str =
    "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n";
pub const TESTS: &str = "from calc.ops import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n";

/// The CI run's log: one job step of `pytest -v --tb=short`, as GitHub serves it.
const CI_LOG: &str = "\
2026-11-21T07:31:26.2317191Z ##[group]Run python -m pytest -v --tb=short
2026-11-21T07:31:26.2320212Z \u{1b}[36;1mpython -m pytest -v --tb=short\u{1b}[0m
2026-11-21T07:31:26.2332571Z shell: /usr/bin/bash -e {0}
2026-11-21T07:31:26.2417452Z ##[endgroup]
2026-11-21T07:31:26.6559720Z ============================= test session starts ==============================
2026-11-21T07:31:26.6573660Z platform linux -- Python 3.11.7, pytest-9.2.0, pluggy-1.7.0 -- /opt/hostedtoolcache/Python/3.11.7/x64/bin/python
2026-11-21T07:31:26.6602478Z rootdir: /home/runner/work/calc/calc
2026-11-21T07:31:26.6637944Z collecting ... collected 2 items
2026-11-21T07:31:26.6650765Z 
2026-11-21T07:31:26.6668170Z tests/test_calc.py::test_add FAILED                                      [ 50%]
2026-11-21T07:31:26.6675420Z tests/test_calc.py::test_mul PASSED                                      [100%]
2026-11-21T07:31:26.6833228Z 
2026-11-21T07:31:26.6848465Z =================================== FAILURES ===================================
2026-11-21T07:31:26.6856983Z ___________________________________ test_add ___________________________________
2026-11-21T07:31:26.6876390Z tests/test_calc.py:5: in test_add
2026-11-21T07:31:26.6886205Z     assert add(2, 3) == 5
2026-11-21T07:31:26.6912915Z calc/ops.py:2: in add
2026-11-21T07:31:26.6929021Z     return a + bb - 1
2026-11-21T07:31:26.7037858Z E   NameError: name 'bb' is not defined
2026-11-21T07:31:26.8855414Z =========================== short test summary info ============================
2026-11-21T07:31:26.8863797Z FAILED tests/test_calc.py::test_add - NameError: name 'bb' is not defined
2026-11-21T07:31:26.9010924Z ========================= 1 failed, 1 passed in 0.04s =========================
2026-11-21T07:31:26.9107655Z ##[error]Process completed with exit code 1.
";

/// Sandbox output when the `NameError` is still there.
pub const SAME_FAILURE_OUTPUT: &str = "\
F.                                                                       [100%]
=================================== FAILURES ===================================
___________________________________ test_add ___________________________________
tests/test_calc.py:5: in test_add
    assert add(2, 3) == 5
calc/ops.py:2: in add
    return a + int(bb) - 1
E   NameError: name 'bb' is not defined
=========================== short test summary info ============================
FAILED tests/test_calc.py::test_add - NameError: name 'bb' is not defined
1 failed in 0.03s
";

/// Sandbox output once the `NameError` is gone: the same test gets as far
/// as its assertion.
pub const FURTHER_FAILURE_OUTPUT: &str = "\
F.                                                                       [100%]
=================================== FAILURES ===================================
___________________________________ test_add ___________________________________
tests/test_calc.py:5: in test_add
    assert add(2, 3) == 5
E   assert 4 == 5
E    +  where 4 = add(2, 3)
=========================== short test summary info ============================
FAILED tests/test_calc.py::test_add - assert 4 == 5
1 failed in 0.03s
";

pub const FAILING_COMMAND: &str = "python -m pytest -q tests/test_calc.py::test_add";
pub const FULL_COMMAND: &str = "python -m pytest -q";
pub const IMAGE: &str = "selfheal-sandbox:test";

/// A repository whose `HEAD` is the broken commit, and the CI log of its run.
pub struct Project {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub logs: PathBuf,
    pub base: String,
}

pub fn project() -> Result<Project> {
    project_from(&[("Add calc", OPS_BROKEN)])
}

/// A repository whose commits write `calc/ops.py` in turn, with these
/// messages; the last is the broken commit CI tested.
pub fn project_from(commits: &[(&str, &str)]) -> Result<Project> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("calc");
    write(&root, "calc/__init__.py", "")?;
    write(&root, "tests/test_calc.py", TESTS)?;
    write(&root, "pytest.ini", "[pytest]\npythonpath = .\n")?;
    let repo = git2::Repository::init(&root)?;
    let sig = git2::Signature::new("Dev", "dev@example.com", &git2::Time::new(1_795_000_000, 0))?;
    let mut base = None;
    for (message, ops) in commits {
        write(&root, "calc/ops.py", ops)?;
        let mut index = repo.index()?;
        index.add_all(["*"], git2::IndexAddOption::DEFAULT, None)?;
        index.write()?;
        let tree = repo.find_tree(index.write_tree()?)?;
        let parent = base.map(|oid| repo.find_commit(oid)).transpose()?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        base = Some(repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)?);
    }
    let base = base.ok_or_else(|| anyhow::anyhow!("no commits asked for"))?;
    let logs = dir.path().join("ci.log");
    std::fs::write(&logs, CI_LOG)?;
    Ok(Project {
        root,
        logs,
        base: base.to_string(),
        _dir: dir,
    })
}

pub fn write(root: &Path, rel: &str, content: &str) -> Result<()> {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, content)?;
    Ok(())
}

/// Every file under `root`, by `/`-separated relative path.
pub fn read_tree(root: &Path) -> Result<BTreeMap<String, String>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) -> Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                let rel = path
                    .strip_prefix(root)?
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read_to_string(&path)?);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out)?;
    Ok(out)
}

/// The project's files with `calc/ops.py` holding `ops`.
pub fn tree_with(ops: &str) -> BTreeMap<String, String> {
    [
        ("calc/__init__.py", ""),
        ("calc/ops.py", ops),
        ("pytest.ini", "[pytest]\npythonpath = .\n"),
        ("tests/test_calc.py", TESTS),
    ]
    .into_iter()
    .map(|(p, c)| (p.to_owned(), c.to_owned()))
    .collect()
}

/// The CI log's analysis and the failure the loop targets in it.
pub fn ci_analysis(project: &Project) -> Result<(Analysis, Failure)> {
    let analysis = selfheal_analyze::analyze_path(&project.logs, &AnalyzeOptions::default())?;
    let failure = selfheal_orchestrator::target_failure(&analysis)
        .map_err(|o| anyhow::anyhow!("no target: {o:?}"))?
        .clone();
    Ok((analysis, failure))
}

/// The analyser's excerpt of sandbox output, as the loop shows it to the model.
pub fn excerpt_of(output: &str) -> Result<String> {
    Ok(selfheal_analyze::analyze_reader(
        output.as_bytes(),
        "validation output",
        &AnalyzeOptions::default(),
    )?
    .excerpt)
}

pub fn diagnosis(summary: &str) -> Diagnosis {
    Diagnosis {
        summary: summary.to_owned(),
        root_cause: format!("{summary}, because the tests say so."),
        test_is_wrong: None,
    }
}

pub fn tokens(prompt: u64, completion: u64) -> TokenUsage {
    TokenUsage { prompt, completion }
}

/// A reply in selfheal's JSON edit format: `(file, old, new)` replacements.
pub fn proposal(summary: &str, edits: &[(&str, &str, &str)], used: TokenUsage) -> Proposal {
    let diagnosis = diagnosis(summary);
    let edits: Vec<serde_json::Value> = edits
        .iter()
        .map(|(file, old, new)| serde_json::json!({"file": file, "old": old, "new": new}))
        .collect();
    let reply = serde_json::json!({
        "diagnosis": {"summary": diagnosis.summary, "root_cause": diagnosis.root_cause},
        "edits": edits,
    })
    .to_string();
    Proposal {
        diagnosis,
        reply,
        tokens: used,
        prompt_ms: None,
    }
}

/// Fixes the `NameError` only.
pub fn first_fix(used: TokenUsage) -> Proposal {
    proposal(
        "Use the parameter b in add()",
        &[("calc/ops.py", "a + bb - 1", "a + b - 1")],
        used,
    )
}

/// Fixes the off-by-one left after [`first_fix`].
pub fn second_fix(used: TokenUsage) -> Proposal {
    proposal(
        "Drop the stray - 1 in add()",
        &[("calc/ops.py", "a + b - 1", "a + b")],
        used,
    )
}

/// Fixes both bugs at once.
pub fn whole_fix(used: TokenUsage) -> Proposal {
    proposal(
        "Return a + b from add()",
        &[("calc/ops.py", "a + bb - 1", "a + b")],
        used,
    )
}

pub const WHOLE_FIX_DIFF: &str = "\
--- a/calc/ops.py
+++ b/calc/ops.py
@@ -1,5 +1,5 @@
 def add(a, b):
-    return a + bb - 1
+    return a + b
 
 
 def mul(a, b):
";

pub const FIRST_FIX_DIFF: &str = "\
--- a/calc/ops.py
+++ b/calc/ops.py
@@ -1,5 +1,5 @@
 def add(a, b):
-    return a + bb - 1
+    return a + b - 1
 
 
 def mul(a, b):
";

pub const SECOND_FIX_DIFF: &str = "\
--- a/calc/ops.py
+++ b/calc/ops.py
@@ -1,5 +1,5 @@
 def add(a, b):
-    return a + b - 1
+    return a + b
 
 
 def mul(a, b):
";

/// Answers from a queue and keeps every request it was sent.
pub struct ScriptedModel {
    replies: Mutex<VecDeque<std::result::Result<Proposal, ReasonError>>>,
    requests: Mutex<Vec<RepairRequest>>,
}

impl ScriptedModel {
    pub fn new(
        replies: impl IntoIterator<Item = std::result::Result<Proposal, ReasonError>>,
    ) -> Self {
        Self {
            replies: Mutex::new(replies.into_iter().collect()),
            requests: Mutex::new(Vec::new()),
        }
    }

    pub fn requests(&self) -> Vec<RepairRequest> {
        self.requests.lock().expect("lock").clone()
    }

    /// Replies that were never asked for.
    pub fn unused(&self) -> usize {
        self.replies.lock().expect("lock").len()
    }
}

#[async_trait::async_trait]
impl RepairModel for ScriptedModel {
    fn name(&self) -> &'static str {
        "scripted"
    }

    async fn propose(&self, req: &RepairRequest) -> std::result::Result<Proposal, ReasonError> {
        self.requests.lock().expect("lock").push(req.clone());
        self.replies
            .lock()
            .expect("lock")
            .pop_front()
            .expect("the model was called more often than scripted")
    }
}

/// What the sandbox was asked to validate: the plan and the tree's files at that moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    pub plan: ValidationPlan,
    pub files: BTreeMap<String, String>,
}

/// Answers from a queue and keeps a copy of every tree it was given.
pub struct ScriptedSandbox {
    reports: Mutex<VecDeque<std::result::Result<ValidationReport, ValidateError>>>,
    seen: Mutex<Vec<Validation>>,
}

impl ScriptedSandbox {
    pub fn new(
        reports: impl IntoIterator<Item = std::result::Result<ValidationReport, ValidateError>>,
    ) -> Self {
        Self {
            reports: Mutex::new(reports.into_iter().collect()),
            seen: Mutex::new(Vec::new()),
        }
    }

    pub fn seen(&self) -> Vec<Validation> {
        self.seen.lock().expect("lock").clone()
    }
}

#[async_trait::async_trait]
impl Sandbox for ScriptedSandbox {
    async fn validate(
        &self,
        workdir: &Path,
        plan: &ValidationPlan,
    ) -> std::result::Result<ValidationReport, ValidateError> {
        let files = read_tree(workdir).expect("the tree under validation is readable");
        self.seen.lock().expect("lock").push(Validation {
            plan: plan.clone(),
            files,
        });
        self.reports
            .lock()
            .expect("lock")
            .pop_front()
            .expect("the sandbox was called more often than scripted")
    }
}

/// The plan for the CI run's failing test: that test, then the whole suite.
pub fn plan() -> ValidationPlan {
    ValidationPlan::failing_then_full(
        &["tests/test_calc.py::test_add".to_owned()],
        "python -m pytest -q {tests}",
        FULL_COMMAND,
        Duration::from_secs(60),
    )
}

fn step(name: &str, command: &str, exit_code: i64, output: &str) -> StepResult {
    StepResult {
        name: name.to_owned(),
        command: command.to_owned(),
        exit_code: Some(exit_code),
        duration_ms: 650,
        timed_out: false,
        output_tail: output.to_owned(),
        environment_error: None,
        failure_section: None,
    }
}

pub fn passed() -> ValidationReport {
    ValidationReport {
        outcome: ValidationOutcome::Passed,
        image: IMAGE.to_owned(),
        steps: vec![
            step("failing tests", FAILING_COMMAND, 0, "1 passed in 0.01s\n"),
            step("full suite", FULL_COMMAND, 0, "2 passed in 0.02s\n"),
        ],
        duration_ms: 1300,
    }
}

/// The failing tests failed with `output`; the full suite did not run.
pub fn failed(output: &str) -> ValidationReport {
    ValidationReport {
        outcome: ValidationOutcome::Failed,
        image: IMAGE.to_owned(),
        steps: vec![step("failing tests", FAILING_COMMAND, 1, output)],
        duration_ms: 650,
    }
}

/// Says no to everything.
pub struct DeclineAll;

#[async_trait::async_trait]
impl Approver for DeclineAll {
    async fn approve(&self, _: &ChangeSet, _: &Diagnosis) -> Approval {
        Approval::Declined
    }
}

/// Has nobody to ask.
pub struct NoTerminal;

pub const NO_TERMINAL_HINT: &str = "no terminal to ask for approval; hint: pass --yes";

#[async_trait::async_trait]
impl Approver for NoTerminal {
    async fn approve(&self, _: &ChangeSet, _: &Diagnosis) -> Approval {
        Approval::Unattended {
            hint: NO_TERMINAL_HINT.to_owned(),
        }
    }
}

/// Keeps every event.
#[derive(Default)]
pub struct Events(Mutex<Vec<Event>>);

impl Events {
    pub fn all(&self) -> Vec<Event> {
        self.0.lock().expect("lock").clone()
    }
}

impl EventSink for Events {
    fn emit(&self, event: &Event) {
        self.0.lock().expect("lock").push(event.clone());
    }
}

pub fn settings() -> LoopSettings {
    LoopSettings {
        max_attempts: 3,
        context_token_budget: 4000,
        total_token_budget: 100_000,
        // Milliseconds, so that back-offs do not slow the tests down.
        model_retry: ModelRetry {
            max_retries: 3,
            base_delay: Duration::from_millis(1),
        },
        cost: None,
        failing_test_command: "python -m pytest -q {tests}".to_owned(),
        test_command: FULL_COMMAND.to_owned(),
        validation_timeout: Duration::from_secs(60),
        branch_prefix: "selfheal".to_owned(),
        author: Signature {
            name: "selfheal".to_owned(),
            email: "selfheal@example.com".to_owned(),
        },
        signoff: false,
        model: "scripted".to_owned(),
        analyze: AnalyzeOptions::default(),
        ecosystem: None,
        policy: selfheal_orchestrator::policy::Policy::default(),
        test_env: Vec::new(),
        workdir: String::new(),
        candidates: 1,
        candidate_temperature: 0.7,
        remedies: false,
        reverts: false,
    }
}

pub fn run_info() -> RunInfo {
    RunInfo {
        id: "42".to_owned(),
        ..RunInfo::default()
    }
}

pub fn job(project: &Project) -> RepairJob {
    RepairJob {
        run: run_info(),
        logs: project.logs.clone(),
        base_commit: project.base.clone(),
        analysis: None,
        redo: false,
    }
}

/// The parts of one repair; tests change what they need before [`Self::run`].
pub struct Setup<'a> {
    pub project: &'a Project,
    pub model: &'a ScriptedModel,
    pub sandbox: &'a ScriptedSandbox,
    pub approver: &'a dyn Approver,
    pub events: &'a Events,
    pub settings: LoopSettings,
    pub job: RepairJob,
}

impl<'a> Setup<'a> {
    pub fn new(
        project: &'a Project,
        model: &'a ScriptedModel,
        sandbox: &'a ScriptedSandbox,
        events: &'a Events,
    ) -> Self {
        Self {
            project,
            model,
            sandbox,
            approver: &ApproveAll,
            events,
            settings: settings(),
            job: job(project),
        }
    }

    pub async fn run(self) -> std::result::Result<RepairRecord, OrchestratorError> {
        let repo = Repo::discover(&self.project.root)?;
        let orchestrator = Orchestrator {
            repo: &repo,
            model: self.model,
            sandbox: self.sandbox,
            approver: self.approver,
            events: self.events,
            settings: self.settings,
        };
        orchestrator.repair(&self.job).await
    }
}

/// `record` with the clock taken out: the start time and duration emptied,
/// every stage's time zeroed (which stages ran still shows).
pub fn without_times(mut record: RepairRecord) -> RepairRecord {
    record.started_at = String::new();
    record.duration_ms = 0;
    record.timings_ms.values_mut().for_each(|ms| *ms = 0);
    for attempt in &mut record.attempts {
        attempt.timings_ms.values_mut().for_each(|ms| *ms = 0);
    }
    record
}

/// The stages as keys with zero times, to compare with [`without_times`].
pub fn stages(stages: &[selfheal_types::Stage]) -> BTreeMap<selfheal_types::Stage, u64> {
    stages.iter().map(|s| (*s, 0)).collect()
}

/// The tip of local branch `branch`: its sha, parent, message and `calc/ops.py`.
#[derive(Debug, PartialEq, Eq)]
pub struct BranchTip {
    pub sha: String,
    pub parents: Vec<String>,
    pub message: String,
    pub ops: String,
    /// Paths that differ from the parent.
    pub changed: Vec<String>,
}

pub fn branch_tip(project: &Project, branch: &str) -> Result<BranchTip> {
    let repo = git2::Repository::open(&project.root)?;
    let commit = repo
        .find_branch(branch, git2::BranchType::Local)?
        .get()
        .peel_to_commit()?;
    let tree = commit.tree()?;
    let blob = tree
        .get_path(Path::new("calc/ops.py"))?
        .to_object(&repo)?
        .peel_to_blob()?;
    let parent_tree = commit.parent(0)?.tree()?;
    let diff = repo.diff_tree_to_tree(Some(&parent_tree), Some(&tree), None)?;
    let changed = diff
        .deltas()
        .filter_map(|d| {
            d.new_file()
                .path()
                .map(|p| p.to_string_lossy().into_owned())
        })
        .collect();
    Ok(BranchTip {
        sha: commit.id().to_string(),
        parents: commit.parent_ids().map(|id| id.to_string()).collect(),
        message: commit.message().unwrap_or_default().to_owned(),
        ops: String::from_utf8(blob.content().to_vec())?,
        changed,
    })
}

/// Local branches under the fix prefix.
pub fn fix_branches(project: &Project) -> Result<Vec<String>> {
    let repo = git2::Repository::open(&project.root)?;
    let mut names = Vec::new();
    for branch in repo.branches(Some(git2::BranchType::Local))? {
        if let Some(name) = branch?.0.name()?
            && name.starts_with("selfheal/")
        {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// `selfheal/<run>-<short fingerprint>`, the branch a fix for `failure` goes on.
pub fn fix_branch(failure: &Failure) -> String {
    selfheal_git::fix_branch_name("selfheal", "42", failure.short_fingerprint())
}

/// The failing tests passed; the full suite failed with `output`.
pub fn suite_failed(output: &str) -> ValidationReport {
    ValidationReport {
        outcome: ValidationOutcome::Failed,
        image: IMAGE.to_owned(),
        steps: vec![
            step("failing tests", FAILING_COMMAND, 0, "1 passed in 0.01s\n"),
            step("full suite", FULL_COMMAND, 1, output),
        ],
        duration_ms: 1300,
    }
}

/// The full suite alone, as run on the unpatched commit: exit code `code`.
pub fn baseline_report(code: i64, output: &str) -> ValidationReport {
    ValidationReport {
        outcome: if code == 0 {
            ValidationOutcome::Passed
        } else {
            ValidationOutcome::Failed
        },
        image: IMAGE.to_owned(),
        steps: vec![step("full suite", FULL_COMMAND, code, output)],
        duration_ms: 650,
    }
}
