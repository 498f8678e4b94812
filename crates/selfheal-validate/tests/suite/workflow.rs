//! Finding the failing CI step in the failing commit's workflow files: small
//! workflows written into temporary trees, and one sample project's real one.
//! No Docker needed.

use std::path::Path;

use selfheal_validate::{CiStep, WORKFLOW_MAX_BYTES, find_ci_step, install_steps};

use super::write;

fn tree_with(workflows: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, body) in workflows {
        write(dir.path(), &format!(".github/workflows/{name}"), body);
    }
    dir
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const PYTHON_CI: &str = r"name: CI
on:
  push:
    branches: [main]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Install
        run: |
          python -m pip install --upgrade pip
          pip install -r requirements.txt
      - run: pytest -q
      - name: Lint
        run: ruff check .
";

#[test]
fn a_named_step_is_found_with_its_script() {
    let tree = tree_with(&[("ci.yml", PYTHON_CI)]);
    let found = find_ci_step(tree.path(), None, "test", "Lint");
    assert_eq!(
        found,
        Some(CiStep {
            workflow: ".github/workflows/ci.yml".to_owned(),
            job: "test".to_owned(),
            step: "Lint".to_owned(),
            run: "ruff check .".to_owned(),
            working_directory: None,
            env: Vec::new(),
            shell: None,
            unresolved: Vec::new(),
        })
    );
}

#[test]
fn an_unnamed_run_step_is_found_by_githubs_default_name() {
    let tree = tree_with(&[("ci.yaml", PYTHON_CI)]);
    let found = find_ci_step(tree.path(), None, "test", "Run pytest -q").expect("found");
    assert_eq!(found.step, "Run pytest -q");
    assert_eq!(found.run, "pytest -q");
    assert_eq!(found.workflow, ".github/workflows/ci.yaml");
    // A whole-job log only shows `##[group]Run <first line>`, also for a named step.
    let named = find_ci_step(
        tree.path(),
        None,
        "test",
        "Run python -m pip install --upgrade pip",
    )
    .expect("found by header");
    assert_eq!(named.step, "Install");
    assert_eq!(find_ci_step(tree.path(), None, "test", "Run pytest"), None);
    assert_eq!(find_ci_step(tree.path(), None, "build", "Lint"), None);
}

#[test]
fn a_failing_uses_step_is_found_but_unresolved() {
    let tree = tree_with(&[("ci.yml", PYTHON_CI)]);
    // As the run-log zip spells it: `2_Run actions_checkout@v4.txt`.
    let found = find_ci_step(tree.path(), None, "test", "Run actions_checkout@v4").expect("found");
    assert_eq!(found.run, "");
    assert_eq!(
        found.unresolved,
        vec!["the step runs an action (uses: actions/checkout@v4), not a script"]
    );
}

#[test]
fn a_matrix_job_is_matched_by_its_name_template_and_expressions_are_unresolved() {
    let wf = r#"on: [push]
jobs:
  test:
    name: test (${{ matrix.python }}, ${{ matrix.os }})
    strategy:
      matrix:
        python: ["3.10", "3.11"]
        os: [ubuntu-latest]
    runs-on: ${{ matrix.os }}
    steps:
      - name: Run tests
        run: |
          python${{ matrix.python }} -m pytest
          echo ${{ env.MARK }} ${{ matrix.python }}
  lint:
    strategy:
      matrix:
        tool: [ruff]
    steps:
      - name: Lint
        run: ${{ matrix.tool }} check .
"#;
    let tree = tree_with(&[("ci.yml", wf)]);
    let found = find_ci_step(tree.path(), None, "test (3.11, ubuntu-latest)", "Run tests")
        .expect("found by template");
    assert_eq!(found.job, "test");
    assert_eq!(
        found.run,
        "python${{ matrix.python }} -m pytest\necho ${{ env.MARK }} ${{ matrix.python }}\n"
    );
    assert_eq!(
        found.unresolved,
        vec![
            "run uses the expression ${{ matrix.python }}",
            "run uses the expression ${{ env.MARK }}",
        ]
    );
    // A job without a name: GitHub appends the matrix values to its id.
    let lint = find_ci_step(tree.path(), None, "lint (ruff)", "Lint").expect("found by suffix");
    assert_eq!(lint.job, "lint");
    // The id alone still names it (a caller may only know the id).
    let by_id = find_ci_step(tree.path(), None, "test", "Run tests").expect("found by id");
    assert_eq!(by_id.job, "test");
    assert_eq!(
        find_ci_step(tree.path(), None, "tests (3.11)", "Run tests"),
        None
    );
}

#[test]
fn working_directory_comes_from_the_step_then_the_job_then_the_workflow() {
    let wf = r"on: push
defaults:
  run:
    working-directory: ./services/api
jobs:
  backend:
    defaults:
      run:
        working-directory: backend/
        shell: bash
    steps:
      - name: Step dir
        working-directory: ./backend/./sub
        run: pytest
      - name: Job dir
        run: pytest
  frontend:
    steps:
      - name: Workflow dir
        run: npm test
";
    let tree = tree_with(&[("mono.yml", wf)]);
    let wd = |job: &str, step: &str| {
        find_ci_step(tree.path(), None, job, step)
            .expect("found")
            .working_directory
    };
    assert_eq!(wd("backend", "Step dir").as_deref(), Some("backend/sub"));
    assert_eq!(wd("backend", "Job dir").as_deref(), Some("backend"));
    assert_eq!(
        wd("frontend", "Workflow dir").as_deref(),
        Some("services/api")
    );
    let job_dir = find_ci_step(tree.path(), None, "backend", "Job dir").expect("found");
    assert_eq!(job_dir.shell.as_deref(), Some("bash"));
    assert_eq!(job_dir.unresolved, Vec::<String>::new());
}

#[test]
fn escaping_absolute_or_expression_working_directories_are_refused() {
    let wf = r"on: push
jobs:
  t:
    steps:
      - name: Up
        working-directory: ../elsewhere
        run: make
      - name: Sneaky
        working-directory: app/../../elsewhere
        run: make
      - name: Absolute
        working-directory: /etc
        run: make
      - name: Expr
        working-directory: ${{ github.workspace }}/app
        run: make
";
    let tree = tree_with(&[("ci.yml", wf)]);
    let refused = |step: &str| {
        let found = find_ci_step(tree.path(), None, "t", step).expect("found");
        (found.working_directory, found.unresolved)
    };
    assert_eq!(
        refused("Up"),
        (
            None,
            vec![r#"working-directory "../elsewhere" leaves the repository"#.to_owned()]
        )
    );
    assert_eq!(
        refused("Sneaky"),
        (
            None,
            vec![r#"working-directory "app/../../elsewhere" leaves the repository"#.to_owned()]
        )
    );
    assert_eq!(
        refused("Absolute"),
        (
            None,
            vec![r#"working-directory "/etc" is absolute"#.to_owned()]
        )
    );
    assert_eq!(
        refused("Expr"),
        (
            None,
            vec![
                r#"working-directory "${{ github.workspace }}/app" uses an expression"#.to_owned()
            ]
        )
    );
}

#[test]
fn env_layers_override_in_order_and_expressions_are_never_copied() {
    let wf = r"on: push
env:
  LEVEL: workflow
  KEEP: from-workflow
  TOKEN: plain-in-workflow
  PORT: 8080
jobs:
  t:
    env:
      LEVEL: job
      API_KEY: ${{ secrets.API_KEY }}
      CI_FLAG: true
    steps:
      - name: Test
        env:
          LEVEL: step
          TOKEN: ${{ secrets.TOKEN }}
          EMPTY:
        run: pytest
";
    let tree = tree_with(&[("ci.yml", wf)]);
    let found = find_ci_step(tree.path(), None, "t", "Test").expect("found");
    assert_eq!(
        found.env,
        owned(&[
            ("LEVEL", "step"),
            ("KEEP", "from-workflow"),
            ("PORT", "8080"),
            ("CI_FLAG", "true"),
            ("EMPTY", ""),
        ])
    );
    assert!(
        !format!("{found:?}").contains("secrets"),
        "a secret's expression leaked: {found:?}"
    );
    assert_eq!(
        found.unresolved,
        vec![
            "job env API_KEY is set by an expression and was left out",
            "step env TOKEN is set by an expression and was left out",
        ]
    );
}

#[test]
fn a_hint_selects_one_of_two_workflows() {
    let other = PYTHON_CI
        .replace("name: CI", "name: Nightly")
        .replace("ruff check .", "ruff check --select ALL .");
    let tree = tree_with(&[("ci.yml", PYTHON_CI), ("nightly.yml", &other)]);
    let run = |hint: Option<&str>| find_ci_step(tree.path(), hint, "test", "Lint").map(|c| c.run);
    assert_eq!(
        run(Some(".github/workflows/nightly.yml")).as_deref(),
        Some("ruff check --select ALL .")
    );
    assert_eq!(
        run(Some(".github/workflows/nightly.yml@refs/heads/main")).as_deref(),
        Some("ruff check --select ALL .")
    );
    assert_eq!(run(Some("CI")).as_deref(), Some("ruff check ."));
    assert_eq!(run(Some("ci.yml")).as_deref(), Some("ruff check ."));
    assert_eq!(run(Some("release.yml")), None);
    // Without a hint the two disagree on what to run: no guess.
    assert_eq!(run(None), None);
    // Where they agree, the first is as good as any.
    let found = find_ci_step(tree.path(), None, "test", "Run pytest -q").expect("agreeing");
    assert_eq!(found.workflow, ".github/workflows/ci.yml");
}

#[test]
fn broken_oversized_and_foreign_files_are_skipped() {
    let huge = format!(
        "{PYTHON_CI}# {}\n",
        "x".repeat(usize::try_from(WORKFLOW_MAX_BYTES).expect("fits"))
    );
    let tree = tree_with(&[
        ("a-broken.yml", "jobs:\n  test: [unclosed\n    steps: {\n"),
        ("b-huge.yml", &huge),
        ("c-readme.md", PYTHON_CI),
        ("d-good.yml", PYTHON_CI),
    ]);
    let found = find_ci_step(tree.path(), None, "test", "Lint").expect("the good file");
    assert_eq!(found.workflow, ".github/workflows/d-good.yml");

    let only_broken = tree_with(&[("ci.yml", "on: push\njobs: {test: [\n")]);
    assert_eq!(find_ci_step(only_broken.path(), None, "test", "Lint"), None);
    let none = tempfile::tempdir().expect("tempdir");
    assert_eq!(find_ci_step(none.path(), None, "test", "Lint"), None);
}

#[test]
fn anchors_multiline_strings_and_yaml_1_1_on_are_read() {
    let wf = r"on:
  push:
    branches: [main]
x-env: &shared
  PYTHONHASHSEED: '0'
jobs:
  test:
    env: *shared
    steps:
      - name: Tests
        run: >-
          python -m pytest
          -q
";
    let tree = tree_with(&[("ci.yml", wf)]);
    let found = find_ci_step(tree.path(), None, "test", "Tests").expect("found");
    assert_eq!(found.run, "python -m pytest -q");
    assert_eq!(found.env, owned(&[("PYTHONHASHSEED", "0")]));
}

#[test]
fn install_steps_replays_installs_before_the_failing_step_only() {
    let wf = r"on: push
jobs:
  test:
    steps:
      - uses: actions/checkout@v4
      - name: System
        run: sudo apt-get install -y libpq-dev
      - name: Python deps
        run: |
          python -m pip install --upgrade pip
          pip install -r requirements.txt
          echo done
      - name: Node deps
        working-directory: web
        run: npm ci
      - name: Matrix extra
        run: pip install ${{ matrix.extra }}
      - name: Tests
        run: pytest
      - name: After
        run: pip install coverage
";
    let tree = tree_with(&[("ci.yml", wf)]);
    let ci = find_ci_step(tree.path(), None, "test", "Tests").expect("found");
    assert_eq!(
        install_steps(tree.path(), &ci),
        vec![
            "python -m pip install --upgrade pip\npip install -r requirements.txt".to_owned(),
            "cd web\nnpm ci".to_owned(),
        ]
    );
    let first = find_ci_step(tree.path(), None, "test", "System").expect("found");
    assert_eq!(install_steps(tree.path(), &first), Vec::<String>::new());
}

#[test]
fn the_sample_projects_workflow_gives_its_test_step() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample_projects/test-expectation/project");
    let found = find_ci_step(&project, None, "test", "Run tests").expect("found");
    assert_eq!(
        found,
        CiStep {
            workflow: ".github/workflows/ci.yml".to_owned(),
            job: "test".to_owned(),
            step: "Run tests".to_owned(),
            run: "python -m pytest -v".to_owned(),
            working_directory: None,
            env: Vec::new(),
            shell: None,
            unresolved: Vec::new(),
        }
    );
    assert_eq!(
        install_steps(&project, &found),
        vec!["python -m pip install --upgrade pip\npip install pytest".to_owned()]
    );
    let by_hint = find_ci_step(&project, Some("CI"), "test", "Run tests");
    assert_eq!(by_hint, Some(found));
}
