//! Install phases from the failing job's own install steps and from a
//! `[validate] setup_command`: the specs without Docker, then real installs
//! from the Python package index, cached as images.

use std::path::Path;
use std::time::Duration;

use selfheal_types::ValidationOutcome;
use selfheal_validate::{
    DockerSandbox, InstallSpec, Limits, Sandbox, TestStep, VENV_DIR, ValidationPlan, WHOLE_TREE,
    find_ci_step, install_from_workflow,
};

use super::install::{installer, remove_image};
use super::{TEST_LABEL, assert_no_container_left, write};

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|&s| s.to_owned()).collect()
}

fn venv_env() -> Vec<(String, String)> {
    [
        ("VIRTUAL_ENV", VENV_DIR),
        ("PIP_NO_CACHE_DIR", "1"),
        ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
        ("PIP_NO_INPUT", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn sh_e(script: &str) -> Vec<String> {
    strings(&["sh", "-e", "-c", script])
}

const VENV: &str = "python3 -m venv --system-site-packages \"$VIRTUAL_ENV\"\n";

/// A job that installs with its own lines, some of which cannot run in the
/// sandbox, with variables of every kind at every level.
const CI: &str = r#"name: CI
on: push
env:
  PYTHONUNBUFFERED: "1"
  API_TOKEN: plain-but-still-a-secret
jobs:
  test:
    runs-on: ubuntu-latest
    env:
      PIP_INDEX_URL: https://user:hunter2@pypi.example.com/simple
      JOB_FLAG: "yes"
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install
        env:
          STEP_VAR: a b
          FROM_SECRET: ${{ secrets.PYPI_TOKEN }}
          AWS_ACCESS_KEY_ID: AKIA0000
        run: |
          python -m pip install --upgrade pip
          sudo apt-get install -y libpq-dev
          pip install --user -r requirements.txt
          pip install ${{ matrix.extra }}
          pip install iniconfig==2.0.0
      - name: Test
        run: pytest -q
"#;

fn ci_step(tree: &Path, job: &str, step: &str) -> selfheal_validate::CiStep {
    find_ci_step(tree, None, job, step).expect("the failing step is in the workflow")
}

#[test]
fn the_jobs_install_lines_replace_the_default_with_their_env_minus_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".github/workflows/ci.yml", CI);
    write(
        dir.path(),
        "requirements.txt",
        "six==1.16.0\n-r reqs/base.txt\n",
    );
    write(dir.path(), "reqs/base.txt", "iniconfig\n");
    let ci = ci_step(dir.path(), "test", "Test");
    let script = format!(
        "{VENV}(\nexport PYTHONUNBUFFERED=1\nexport JOB_FLAG=yes\nexport STEP_VAR='a b'\npython -m pip install --upgrade pip\npip install -r requirements.txt\npip install iniconfig==2.0.0\n)\n"
    );
    assert_eq!(
        install_from_workflow(dir.path(), &ci),
        Some(InstallSpec {
            command: sh_e(&script),
            manifests: strings(&["reqs/base.txt", "requirements.txt"]),
            workdir: String::new(),
            env: venv_env(),
        })
    );
}

#[test]
fn a_project_that_declares_no_dependencies_keeps_the_image_whatever_ci_installs() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        ".github/workflows/ci.yml",
        "jobs:\n  test:\n    steps:\n      - run: pip install pytest\n      - name: Test\n        run: pytest\n",
    );
    write(dir.path(), "calc.py", "def add(a, b):\n    return a + b\n");
    write(dir.path(), "pyproject.toml", "[project]\nname = \"calc\"\n");
    let ci = ci_step(dir.path(), "test", "Test");
    assert_eq!(install_from_workflow(dir.path(), &ci), None);
}

#[test]
fn a_job_without_install_lines_leaves_the_ecosystem_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        ".github/workflows/ci.yml",
        "jobs:\n  test:\n    steps:\n      - run: echo hi\n      - name: Test\n        run: pytest\n",
    );
    write(dir.path(), "requirements.txt", "six\n");
    let ci = ci_step(dir.path(), "test", "Test");
    assert_eq!(install_from_workflow(dir.path(), &ci), None);
}

#[test]
fn installing_the_project_itself_takes_the_whole_tree_and_monorepo_steps_cd() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        ".github/workflows/ci.yml",
        "jobs:\n  test:\n    defaults:\n      run:\n        working-directory: svc\n    steps:\n      - run: pip install -e '.[test]'\n      - name: Test\n        run: pytest\n",
    );
    write(
        dir.path(),
        "svc/pyproject.toml",
        "[project]\nname = \"svc\"\ndependencies = [\"six\"]\n",
    );
    let ci = ci_step(dir.path(), "test", "Test");
    assert_eq!(ci.working_directory.as_deref(), Some("svc"));
    assert_eq!(
        install_from_workflow(dir.path(), &ci),
        Some(InstallSpec {
            command: sh_e(&format!(
                "{VENV}(\nmkdir -p svc && cd svc\npip install -e '.[test]'\n)\n"
            )),
            manifests: strings(&[WHOLE_TREE]),
            workdir: String::new(),
            env: venv_env(),
        })
    );
}

#[test]
fn a_node_job_replays_npm_without_a_venv() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        ".github/workflows/ci.yml",
        "jobs:\n  test:\n    steps:\n      - uses: actions/setup-node@v4\n      - run: npm ci --ignore-scripts\n      - name: Test\n        run: npm test\n",
    );
    write(dir.path(), "package.json", "{}");
    write(dir.path(), "package-lock.json", "{}");
    let ci = ci_step(dir.path(), "test", "Test");
    assert_eq!(
        install_from_workflow(dir.path(), &ci),
        Some(InstallSpec {
            command: sh_e("(\nnpm ci --ignore-scripts\n)\n"),
            manifests: strings(&["package-lock.json", "package.json"]),
            workdir: String::new(),
            env: Vec::new(),
        })
    );
}

#[test]
fn a_setup_command_keys_on_the_detected_manifests_or_the_whole_tree() {
    // A Python project with requirements: the venv, and the requirements as the key.
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "svc/requirements.txt", "six\n");
    assert_eq!(
        InstallSpec::from_setup_command(dir.path(), "svc", "pip install -r requirements.txt"),
        Some(InstallSpec {
            command: sh_e(&format!("{VENV}pip install -r requirements.txt")),
            manifests: strings(&["svc/requirements.txt"]),
            workdir: "svc".to_owned(),
            env: venv_env(),
        })
    );
    // A Python project that declares nothing: still the venv, the whole tree as the key.
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "pyproject.toml", "[project]\nname = \"p\"\n");
    write(dir.path(), "tests/test_p.py", "def test_p():\n    pass\n");
    assert_eq!(
        InstallSpec::from_setup_command(dir.path(), "", "pip install iniconfig"),
        Some(InstallSpec {
            command: sh_e(&format!("{VENV}pip install iniconfig")),
            manifests: strings(&[WHOLE_TREE]),
            workdir: String::new(),
            env: venv_env(),
        })
    );
    // Go: no venv, the detector's manifests.
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "go.mod", "module x\n");
    write(dir.path(), "go.sum", "");
    assert_eq!(
        InstallSpec::from_setup_command(dir.path(), "", "make deps"),
        Some(InstallSpec {
            command: sh_e("make deps"),
            manifests: strings(&["go.mod", "go.sum"]),
            workdir: String::new(),
            env: Vec::new(),
        })
    );
    // Nothing known: the whole tree. Blank: no install phase.
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "README", "x\n");
    assert_eq!(
        InstallSpec::from_setup_command(dir.path(), "", "./bootstrap.sh")
            .map(|s| (s.manifests, s.env)),
        Some((strings(&[WHOLE_TREE]), Vec::new()))
    );
    assert_eq!(
        InstallSpec::from_setup_command(dir.path(), "", "  \n"),
        None
    );
}

/// A project that needs `six` (its requirements) and `iniconfig` (which only
/// its workflow installs), made unique to this run so the first prepare installs.
fn replay_project(root: &Path) {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    write(
        root,
        "requirements.txt",
        &format!("# selfheal replay test {nonce}\nsix==1.16.0\n"),
    );
    write(
        root,
        ".github/workflows/ci.yml",
        "jobs:\n  test:\n    env:\n      SELFHEAL_MARK: from-the-workflow\n    steps:\n      - uses: actions/checkout@v4\n      - name: Install\n        run: |\n          python -m pip install --upgrade pip\n          pip install -r requirements.txt\n          pip install iniconfig==2.0.0\n      - name: Test\n        run: python -m pytest -q\n",
    );
    write(
        root,
        "tests/test_deps.py",
        "import iniconfig\nimport six\n\n\ndef test_deps():\n    assert six.__file__.startswith('/opt/selfheal/venv/')\n    assert iniconfig.__file__.startswith('/opt/selfheal/venv/')\n",
    );
    write(root, "conftest.py", "");
}

#[tokio::test]
async fn the_workflows_install_lines_run_once_in_the_venv_then_come_from_the_cache() {
    let case = "install-replay";
    let Some((installer, ca)) = installer(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    replay_project(dir.path());
    let ci = ci_step(dir.path(), "test", "Test");
    let spec = install_from_workflow(dir.path(), &ci).expect("replayed");
    assert!(
        spec.command[3].contains("export SELFHEAL_MARK=from-the-workflow\n"),
        "{spec:?}"
    );

    let cold = installer
        .prepare(dir.path(), &spec, ca.as_deref())
        .await
        .unwrap_or_else(|e| panic!("install from PyPI failed: {e}\nhint: a container must reach PyPI; pass the host's CA bundle through SSL_CERT_FILE"));
    assert!(!cold.cached, "{cold:?}");
    let log = std::fs::read_to_string(cold.log_path.as_ref().expect("log")).expect("log");
    assert!(log.contains("iniconfig"), "{log}");

    let sandbox = DockerSandbox::connect(&cold.image, Limits::default())
        .await
        .expect("sandbox")
        .with_label(TEST_LABEL, case);
    let plan = ValidationPlan::new(
        vec![TestStep::new(
            "pytest",
            "python -m pytest -q -p no:cacheprovider",
        )],
        Duration::from_secs(60),
    );
    let report = sandbox.validate(dir.path(), &plan).await.expect("validate");
    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");

    // A patch to the sources: the same image, nothing installed.
    write(
        dir.path(),
        "tests/test_more.py",
        "def test_more():\n    pass\n",
    );
    let warm = installer
        .prepare(dir.path(), &spec, ca.as_deref())
        .await
        .expect("cached prepare");
    assert_eq!(
        (warm.image.as_str(), warm.cached, warm.log_path.as_deref()),
        (cold.image.as_str(), true, None)
    );
    #[allow(
        clippy::print_stderr,
        reason = "the measured times are part of the report"
    )]
    {
        eprintln!(
            "workflow replay: cold {:?}, cached {:?}",
            cold.duration, warm.duration
        );
    }
    assert_no_container_left(case).await;
    remove_image(&cold.image).await;
}

#[tokio::test]
async fn a_setup_command_installs_into_the_venv_of_a_project_that_declares_nothing() {
    let case = "install-setup-command";
    let Some((installer, ca)) = installer(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    write(
        dir.path(),
        "pyproject.toml",
        &format!("# {nonce}\n[project]\nname = \"p\"\n"),
    );
    write(
        dir.path(),
        "tests/test_p.py",
        "import iniconfig\n\n\ndef test_p():\n    assert iniconfig.__file__.startswith('/opt/selfheal/venv/')\n",
    );
    let spec = InstallSpec::from_setup_command(dir.path(), "", "pip install iniconfig==2.0.0")
        .expect("a spec");
    let prepared = installer
        .prepare(dir.path(), &spec, ca.as_deref())
        .await
        .unwrap_or_else(|e| panic!("setup command failed: {e}"));
    assert!(!prepared.cached, "{prepared:?}");
    let sandbox = DockerSandbox::connect(&prepared.image, Limits::default())
        .await
        .expect("sandbox")
        .with_label(TEST_LABEL, case);
    let plan = ValidationPlan::new(
        vec![TestStep::new(
            "pytest",
            "python -m pytest -q -p no:cacheprovider",
        )],
        Duration::from_secs(60),
    );
    let report = sandbox.validate(dir.path(), &plan).await.expect("validate");
    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");
    assert_no_container_left(case).await;
    remove_image(&prepared.image).await;
}

#[test]
fn no_bundled_sample_project_starts_installing() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample_projects");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&samples).expect("sample_projects") {
        let project = entry.expect("entry").path().join("project");
        if !project.join(".github/workflows").is_dir() {
            continue;
        }
        let workflow =
            std::fs::read_to_string(project.join(".github/workflows/ci.yml")).expect("ci.yml");
        // The test job is the last one; the failing step is its last `name:`.
        let job = workflow
            .lines()
            .skip_while(|l| l.trim() != "jobs:")
            .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
            .filter_map(|l| l.trim().strip_suffix(':'))
            .last()
            .expect("a job");
        let step = workflow
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("- name: "))
            .expect("a named step");
        let ci = ci_step(&project, job, step);
        assert_eq!(
            install_from_workflow(&project, &ci),
            None,
            "{}",
            project.display()
        );
        checked.push(project);
    }
    assert!(checked.len() >= 10, "{checked:?}");
}
