//! Projects in other languages, repaired end to end: selfheal recognises the
//! project, validates in the selfheal image with its toolchain (built by
//! `scripts/build-sandbox-image.sh all`), and runs its own test runner, the
//! failing tests first where the runner can select them.

use std::path::Path;

use selfheal_types::{Outcome, ValidationOutcome};

use super::MODEL;
use crate::harness::{ModelServer, Reply, Selfheal, git, require_docker};

/// A one-commit repository holding `files`, and a GitHub-style job log.
fn project(files: &[(&str, &str)], log: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("repo");
    for (path, text) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().expect("a parent")).expect("mkdir");
        std::fs::write(full, text).expect("write");
    }
    git(
        dir.path(),
        &["init", "-q", "-b", "main", root.to_str().expect("utf-8")],
    );
    git(&root, &["add", "-A"]);
    git(
        &root,
        &[
            "-c",
            "user.name=dev",
            "-c",
            "user.email=dev@example.com",
            "commit",
            "-q",
            "-m",
            "broken",
        ],
    );
    let mut stamped = String::new();
    for line in log.lines() {
        stamped.push_str("2026-11-20T10:00:00.0000000Z ");
        stamped.push_str(line);
        stamped.push('\n');
    }
    std::fs::write(dir.path().join("job.log"), stamped).expect("log");
    (dir, root)
}

/// The image must exist: these tests prove the toolchain images, so a
/// missing one fails with the command that builds it.
fn require_image(image: &str) {
    let ok = std::process::Command::new("docker")
        .args(["image", "inspect", image])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "image {image} is missing; hint: run scripts/build-sandbox-image.sh all"
    );
}

/// The toolchain image, or the image the install phase made from it (a
/// `cargo fetch` or `go mod download` ran first, with the network on).
#[track_caller]
fn assert_in_toolchain_image(image: &str, toolchain: &str) {
    if image == toolchain {
        return;
    }
    assert!(
        image.starts_with("selfheal-prepared:"),
        "validated in {image}"
    );
    let out = std::process::Command::new("docker")
        .args(["history", "--format", "{{.ID}}", "--no-trunc", image])
        .output()
        .expect("docker history runs");
    let base = std::process::Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", toolchain])
        .output()
        .expect("docker inspect runs");
    let base = String::from_utf8_lossy(&base.stdout).trim().to_owned();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&base),
        "{image} is not built on {toolchain}"
    );
}

async fn repair(
    dir: &Path,
    root: &Path,
    reply: String,
) -> (selfheal_types::RepairRecord, crate::harness::Output) {
    let server = ModelServer::start(MODEL, vec![reply]).await;
    let out = Selfheal::new(dir)
        .model(&server)
        .args(["run", "--yes", "--json", "--repo"])
        .arg(root)
        .arg("--logs")
        .arg(dir.join("job.log"))
        .run()
        .await;
    out.assert_code(0);
    (out.record(), out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_crate_is_repaired_with_cargo_in_the_rust_image() {
    require_docker();
    require_image("selfheal-sandbox-rust:trixie");
    let (dir, root) = project(
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            (
                "src/lib.rs",
                "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() {\n        assert_eq!(super::add(2, 3), 5);\n    }\n\n    #[test]\n    fn zero() {\n        assert_eq!(super::add(0, 0), 0);\n    }\n}\n",
            ),
        ],
        "##[group]Run cargo test\n\
         running 2 tests\n\
         test tests::zero ... ok\n\
         test tests::adds ... FAILED\n\
         \n\
         failures:\n\
         \n\
         ---- tests::adds stdout ----\n\
         \n\
         thread 'tests::adds' panicked at src/lib.rs:9:9:\n\
         assertion `left == right` failed\n\
         \x20 left: -1\n\
         \x20right: 5\n\
         note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\
         \n\
         \n\
         failures:\n\
         \x20   tests::adds\n\
         \n\
         test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\
         \n\
         error: test failed, to rerun pass `--lib`\n\
         ##[error]Process completed with exit code 101.\n",
    );
    let reply = Reply::edits(
        "add() subtracts",
        "add() returns a - b.",
        &[("src/lib.rs", "    a - b\n", "    a + b\n")],
    );
    let (record, out) = repair(dir.path(), &root, reply).await;

    assert!(
        record.outcome.is_fixed(),
        "{:?}\n{}",
        record.outcome,
        out.stderr
    );
    let report = record.attempts[0].validation.as_ref().expect("validated");
    assert_eq!(report.outcome, ValidationOutcome::Passed);
    assert_in_toolchain_image(&report.image, "selfheal-sandbox-rust:trixie");
    let commands: Vec<&str> = report.steps.iter().map(|s| s.command.as_str()).collect();
    assert_eq!(
        commands.len(),
        2,
        "failing test first, then the suite: {commands:?}"
    );
    assert!(
        commands[0].contains("cargo test") && commands[0].contains("tests::adds"),
        "{commands:?}"
    );
    assert!(commands[1].contains("cargo test"), "{commands:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_module_is_repaired_with_go_test_in_the_go_image() {
    require_docker();
    require_image("selfheal-sandbox-go:bookworm");
    let (dir, root) = project(
        &[
            ("go.mod", "module example.com/calc\n\ngo 1.19\n"),
            (
                "calc.go",
                "package calc\n\nfunc Add(a, b int) int {\n\treturn a - b\n}\n",
            ),
            (
                "calc_test.go",
                "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif got := Add(2, 3); got != 5 {\n\t\tt.Errorf(\"Add(2, 3) = %d, want 5\", got)\n\t}\n}\n\nfunc TestZero(t *testing.T) {\n\tif Add(0, 0) != 0 {\n\t\tt.Error(\"zero\")\n\t}\n}\n",
            ),
        ],
        "##[group]Run go test ./...\n\
         --- FAIL: TestAdd (0.00s)\n\
         \x20   calc_test.go:7: Add(2, 3) = -1, want 5\n\
         FAIL\n\
         FAIL\texample.com/calc\t0.002s\n\
         FAIL\n\
         ##[error]Process completed with exit code 1.\n",
    );
    let reply = Reply::edits(
        "Add subtracts",
        "Add returns a - b.",
        &[("calc.go", "return a - b", "return a + b")],
    );
    let (record, out) = repair(dir.path(), &root, reply).await;

    assert!(
        record.outcome.is_fixed(),
        "{:?}\n{}",
        record.outcome,
        out.stderr
    );
    let report = record.attempts[0].validation.as_ref().expect("validated");
    assert_in_toolchain_image(&report.image, "selfheal-sandbox-go:bookworm");
    let commands: Vec<&str> = report.steps.iter().map(|s| s.command.as_str()).collect();
    assert!(
        commands.iter().any(|c| c.contains("go test")),
        "{commands:?}"
    );
    assert!(
        commands.last().is_some_and(|c| c.contains("go test ./...")),
        "{commands:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_package_is_repaired_with_npm_test_in_the_node_image() {
    require_docker();
    require_image("selfheal-sandbox-node:bookworm");
    let (dir, root) = project(
        &[
            (
                "package.json",
                "{\n  \"name\": \"calc\",\n  \"version\": \"1.0.0\",\n  \"scripts\": { \"test\": \"node --test\" }\n}\n",
            ),
            ("calc.js", "exports.add = (a, b) => a - b;\n"),
            (
                "test/calc.test.js",
                "const test = require('node:test');\nconst assert = require('node:assert');\nconst { add } = require('../calc.js');\n\ntest('adds', () => {\n  assert.strictEqual(add(2, 3), 5);\n});\n",
            ),
        ],
        "##[group]Run npm test\n\
         > calc@1.0.0 test\n\
         > node --test\n\
         \n\
         not ok 1 - adds\n\
         \x20 ---\n\
         \x20 location: '/home/runner/work/calc/calc/test/calc.test.js:5:1'\n\
         \x20 failureType: 'testCodeFailure'\n\
         \x20 error: |-\n\
         \x20   Expected values to be strictly equal:\n\
         \x20   \n\
         \x20   -1 !== 5\n\
         \x20 ...\n\
         # tests 1\n\
         # pass 0\n\
         # fail 1\n\
         npm ERR! Test failed.  See above for more details.\n\
         ##[error]Process completed with exit code 1.\n",
    );
    let reply = Reply::edits(
        "add subtracts",
        "add returns a - b.",
        &[("calc.js", "a - b", "a + b")],
    );
    let (record, out) = repair(dir.path(), &root, reply).await;

    let Outcome::Fixed { .. } = &record.outcome else {
        panic!("not fixed: {:?}\n{}", record.outcome, out.stderr);
    };
    let report = record.attempts[0].validation.as_ref().expect("validated");
    assert_in_toolchain_image(&report.image, "selfheal-sandbox-node:bookworm");
    assert!(
        report
            .steps
            .last()
            .is_some_and(|s| s.command.contains("npm test")),
        "{:?}",
        report.steps
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_in_a_monorepo_folder_is_tested_where_ci_ran_it() {
    require_docker();
    let (dir, root) = project(
        &[
            (
                ".github/workflows/ci.yml",
                "name: CI\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    defaults:\n      run:\n        working-directory: services/api\n    steps:\n      - uses: actions/checkout@v4\n      - name: Run tests\n        run: python -m pytest -q\n",
            ),
            (
                "services/api/pyproject.toml",
                "[tool.pytest.ini_options]\npythonpath = [\"src\"]\ntestpaths = [\"tests\"]\n",
            ),
            (
                "services/api/src/calc.py",
                "def add(a, b):\n    return a - b\n",
            ),
            (
                "services/api/tests/test_calc.py",
                "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n",
            ),
            (
                "web/package.json",
                "{\"name\": \"web\", \"private\": true}\n",
            ),
        ],
        "",
    );
    // The run's logs as GitHub's zip unpacks them: the job's folder, one file per step.
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("test")).expect("logs dir");
    let step_log = "##[group]Run python -m pytest -q\n\
         python -m pytest -q\n\
         shell: /usr/bin/bash -e {0}\n\
         ##[endgroup]\n\
         F.                                                                       [100%]\n\
         =================================== FAILURES ===================================\n\
         ___________________________________ test_add ___________________________________\n\
         \n\
         \x20   def test_add():\n\
         >       assert add(2, 3) == 5\n\
         E       assert -1 == 5\n\
         E        +  where -1 = add(2, 3)\n\
         \n\
         tests/test_calc.py:5: AssertionError\n\
         =========================== short test summary info ============================\n\
         FAILED tests/test_calc.py::test_add - assert -1 == 5\n\
         1 failed, 1 passed in 0.01s\n\
         ##[error]Process completed with exit code 1.\n";
    let mut stamped = String::new();
    for line in step_log.lines() {
        stamped.push_str("2026-11-20T10:00:00.0000000Z ");
        stamped.push_str(line);
        stamped.push('\n');
    }
    std::fs::write(logs.join("test/2_Run tests.txt"), stamped).expect("step log");

    let server = ModelServer::start(
        MODEL,
        vec![Reply::edits(
            "add() subtracts",
            "add() returns a - b.",
            &[("services/api/src/calc.py", "return a - b", "return a + b")],
        )],
    )
    .await;
    let out = Selfheal::new(dir.path())
        .model(&server)
        .args(["run", "--yes", "--json", "--repo"])
        .arg(&root)
        .arg("--logs")
        .arg(&logs)
        .run()
        .await;
    out.assert_code(0);
    let record = out.record();
    assert!(
        record.outcome.is_fixed(),
        "{:?}\n{}",
        record.outcome,
        out.stderr
    );
    let report = record.attempts[0].validation.as_ref().expect("validated");
    let commands: Vec<&str> = report.steps.iter().map(|s| s.command.as_str()).collect();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert!(
        commands[0].contains("services/api")
            && commands[0].contains("tests/test_calc.py::test_add"),
        "the failing test, by its id relative to the step's folder: {commands:?}"
    );
    assert!(commands[1].contains("services/api"), "{commands:?}");
    // The model saw the test and the code it calls by their repository
    // paths, though the log names them relative to the step's folder.
    let prompt = crate::harness::model::prompt_text(&server.chat_requests().await[0]);
    for path in [
        "services/api/tests/test_calc.py",
        "services/api/src/calc.py",
    ] {
        assert!(prompt.contains(path), "{path} is in the prompt:\n{prompt}");
    }
}

/// A Maven project in selfheal's JDK image: Debian's packaged plugins and
/// `JUnit`, the network off, no install phase. The log is real surefire output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maven_project_is_repaired_in_the_jdk_image() {
    require_docker();
    require_image(selfheal_validate::JAVA_IMAGE);
    let (dir, root) = project(
        &[
            (
                "pom.xml",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n\
                 <modelVersion>4.0.0</modelVersion>\n\
                 <groupId>org.example</groupId><artifactId>calc</artifactId><version>1.0</version>\n\
                 <properties><maven.compiler.release>17</maven.compiler.release>\
                 <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>\n\
                 <dependencies><dependency><groupId>junit</groupId><artifactId>junit</artifactId>\
                 <version>4.13.2</version><scope>test</scope></dependency></dependencies>\n\
                 </project>\n",
            ),
            (
                "src/main/java/calc/Calc.java",
                "package calc;\n\npublic class Calc {\n    public static int sub(int a, int b) {\n        return a + b;\n    }\n}\n",
            ),
            (
                "src/test/java/calc/CalcTest.java",
                "package calc;\n\nimport static org.junit.Assert.assertEquals;\n\nimport org.junit.Test;\n\n\
                 public class CalcTest {\n    @Test\n    public void subtracts() {\n        assertEquals(1, Calc.sub(2, 1));\n    }\n}\n",
            ),
        ],
        "##[group]Run mvn -B test\n\
         mvn -B test\n\
         shell: /usr/bin/bash -e {0}\n\
         ##[endgroup]\n\
         [INFO] -------------------------------------------------------\n\
         [INFO]  T E S T S\n\
         [INFO] -------------------------------------------------------\n\
         [INFO] Running calc.CalcTest\n\
         [ERROR] Tests run: 1, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.095 s <<< FAILURE! - in calc.CalcTest\n\
         [ERROR] subtracts(calc.CalcTest)  Time elapsed: 0.008 s  <<< FAILURE!\n\
         java.lang.AssertionError: expected:<1> but was:<3>\n\
         \tat calc.CalcTest.subtracts(CalcTest.java:10)\n\
         [INFO] \n\
         [INFO] Results:\n\
         [INFO] \n\
         [ERROR] Failures: \n\
         [ERROR]   CalcTest.subtracts:10 expected:<1> but was:<3>\n\
         [INFO] \n\
         [ERROR] Tests run: 1, Failures: 1, Errors: 0, Skipped: 0\n\
         [INFO] \n\
         [INFO] ------------------------------------------------------------------------\n\
         [INFO] BUILD FAILURE\n\
         [INFO] ------------------------------------------------------------------------\n\
         [ERROR] Failed to execute goal org.apache.maven.plugins:maven-surefire-plugin:2.22.3:test (default-test) on project calc: There are test failures.\n\
         ##[error]Process completed with exit code 1.\n",
    );
    let reply = Reply::edits(
        "sub() adds",
        "Calc.sub returns a + b.",
        &[(
            "src/main/java/calc/Calc.java",
            "return a + b;",
            "return a - b;",
        )],
    );
    let (record, out) = repair(dir.path(), &root, reply).await;
    assert!(
        record.outcome.is_fixed(),
        "{:?}\n{}",
        record.outcome,
        out.stderr
    );
    let report = record.attempts[0].validation.as_ref().expect("validated");
    assert_eq!(
        report.image,
        selfheal_validate::JAVA_IMAGE,
        "no install phase"
    );
    let commands: Vec<&str> = report.steps.iter().map(|s| s.command.as_str()).collect();
    assert_eq!(
        commands.len(),
        2,
        "failing test first, then the suite: {commands:?}"
    );
    assert!(commands[0].contains("-Dtest="), "{commands:?}");
    assert!(
        report.steps.iter().all(|s| s.exit_code == Some(0)),
        "{:?}",
        report.steps
    );
}
