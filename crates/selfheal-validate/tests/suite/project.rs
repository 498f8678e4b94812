//! Each ecosystem's image (`scripts/build-sandbox-image.sh rust go node java`) runs
//! the commands [`detect_tests`] picks for a tiny dependency-free project of its
//! language, with the network off as always: the images work offline. In each
//! project `add` is right and `sub` is wrong until fixed, so the failing-tests
//! step (selecting the `add` test by an id shaped as the analyser reports it)
//! passes while the full suite fails as a test failure, not an environment error.

use std::path::Path;
use std::time::Duration;

use selfheal_types::{ValidationOutcome, ValidationReport};
use selfheal_validate::{
    DockerSandbox, Ecosystem, FAILING_STEP, FULL_STEP, GO_IMAGE, JAVA_IMAGE, Limits, NODE_IMAGE,
    RUST_IMAGE, Sandbox, TestCommands, detect_tests,
};

use super::{TEST_LABEL, assert_no_container_left, write};

/// Room for a cold compile under the sandbox's CPU limit on a busy machine.
const STEP_TIMEOUT: Duration = Duration::from_secs(240);

/// A sandbox on `image`, or `None` (after a loud message) when the environment
/// asks to skip Docker tests; like `super::sandbox`, for another image.
#[allow(
    clippy::print_stderr,
    reason = "a skipped Docker test must say so where the test output shows it"
)]
async fn sandbox_on(image: &str, case: &str) -> Option<DockerSandbox> {
    if std::env::var("SELFHEAL_SKIP_DOCKER").as_deref() == Ok("1") {
        eprintln!(
            "!!! SKIPPED {case}: SELFHEAL_SKIP_DOCKER=1, the Docker sandbox was NOT tested !!!"
        );
        return None;
    }
    let sandbox = DockerSandbox::connect_to(None, image, Limits::default())
        .await
        .expect(
            "docker engine reachable (run scripts/ensure-docker.sh, or set SELFHEAL_SKIP_DOCKER=1)",
        );
    assert!(
        sandbox.image_present().await.expect("inspect image"),
        "image {image} missing: run scripts/build-sandbox-image.sh all java"
    );
    Some(sandbox.with_label(TEST_LABEL, case))
}

/// (step name, exit code, environment error) of each step, for whole-object asserts.
fn steps(report: &ValidationReport) -> Vec<(&str, Option<i64>, Option<&str>)> {
    report
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.exit_code, s.environment_error.as_deref()))
        .collect()
}

/// Writes the project (broken, then fixed), detects its commands, and checks
/// both validations; returns the two reports for runner-specific checks.
async fn broken_then_fixed(
    case: &str,
    image: &str,
    want: Ecosystem,
    project: fn(&Path, bool),
    failing_ids: &[&str],
) -> Option<(ValidationReport, ValidationReport)> {
    let sandbox = sandbox_on(image, case).await?;
    let failing_ids: Vec<String> = failing_ids.iter().map(|&s| s.to_owned()).collect();
    let mut reports = Vec::new();
    for fixed in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        project(dir.path(), fixed);
        let commands: TestCommands = detect_tests(dir.path(), "").expect("detected");
        assert_eq!((commands.ecosystem, commands.image.as_str()), (want, image));
        let plan = commands.plan(&failing_ids, STEP_TIMEOUT);
        let report = sandbox
            .validate(dir.path(), &plan)
            .await
            .expect("validates");
        reports.push(report);
    }
    assert_no_container_left(case).await;
    let fixed = reports.pop().expect("fixed");
    let broken = reports.pop().expect("broken");
    assert_eq!(broken.image, image);
    assert_eq!(broken.outcome, ValidationOutcome::Failed, "{broken:#?}");
    assert_eq!(fixed.outcome, ValidationOutcome::Passed, "{fixed:#?}");
    Some((broken, fixed))
}

fn rust_project(root: &Path, fixed: bool) {
    let op = if fixed { "-" } else { "+" };
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n",
    );
    write(
        root,
        "src/lib.rs",
        &format!(
            "pub fn add(a: i32, b: i32) -> i32 {{\n    a + b\n}}\n\n\
             pub fn sub(a: i32, b: i32) -> i32 {{\n    a {op} b\n}}\n\n\
             #[cfg(test)]\nmod tests {{\n    use super::*;\n\n\
             #[test]\n    fn adds() {{\n        assert_eq!(add(2, 1), 3);\n    }}\n\n\
             #[test]\n    fn subtracts() {{\n        assert_eq!(sub(2, 1), 1);\n    }}\n}}\n"
        ),
    );
}

#[tokio::test]
async fn a_rust_project_runs_offline_in_the_rust_image() {
    let case = "project-rust";
    let Some((broken, fixed)) = broken_then_fixed(
        case,
        RUST_IMAGE,
        Ecosystem::Rust,
        rust_project,
        // The panicking thread's name, as the cargo parser reports it.
        &["tests::adds"],
    )
    .await
    else {
        return;
    };
    assert_eq!(
        steps(&broken),
        [(FAILING_STEP, Some(0), None), (FULL_STEP, Some(101), None)]
    );
    let focused = &broken.steps[0].output_tail;
    assert!(focused.contains("test tests::adds ... ok"), "{focused}");
    assert!(
        !focused.contains("subtracts"),
        "only the named test ran: {focused}"
    );
    let full = &broken.steps[1].output_tail;
    assert!(full.contains("test tests::subtracts ... FAILED"), "{full}");
    assert_eq!(
        steps(&fixed),
        [(FAILING_STEP, Some(0), None), (FULL_STEP, Some(0), None)]
    );
}

fn go_project(root: &Path, fixed: bool) {
    let op = if fixed { "-" } else { "+" };
    write(root, "go.mod", "module example.com/calc\n\ngo 1.19\n");
    write(
        root,
        "calc.go",
        &format!(
            "package calc\n\nfunc Add(a, b int) int {{ return a + b }}\n\n\
             func Sub(a, b int) int {{ return a {op} b }}\n"
        ),
    );
    write(
        root,
        "calc_test.go",
        "package calc\n\nimport \"testing\"\n\n\
         func TestAdd(t *testing.T) {\n\tif Add(2, 1) != 3 {\n\t\tt.Fatal(\"add\")\n\t}\n}\n\n\
         func TestSub(t *testing.T) {\n\tif got := Sub(2, 1); got != 1 {\n\t\tt.Fatalf(\"Sub(2, 1) = %d\", got)\n\t}\n}\n",
    );
}

#[tokio::test]
async fn a_go_project_runs_offline_in_the_go_image() {
    let case = "project-go";
    let Some((broken, fixed)) = broken_then_fixed(
        case,
        GO_IMAGE,
        Ecosystem::Go,
        go_project,
        // The go parser's `pkg.TestX`, and a subtest of it.
        &["example.com/calc.TestAdd", "example.com/calc.TestAdd/zero"],
    )
    .await
    else {
        return;
    };
    assert_eq!(
        steps(&broken),
        [(FAILING_STEP, Some(0), None), (FULL_STEP, Some(1), None)]
    );
    let full = &broken.steps[1].output_tail;
    assert!(full.contains("--- FAIL: TestSub"), "{full}");
    assert!(full.contains("Sub(2, 1) = 3"), "{full}");
    assert_eq!(
        steps(&fixed),
        [(FAILING_STEP, Some(0), None), (FULL_STEP, Some(0), None)]
    );
}

fn node_project(root: &Path, fixed: bool) {
    let op = if fixed { "-" } else { "+" };
    write(
        root,
        "package.json",
        r#"{"name": "calc", "version": "1.0.0", "private": true, "scripts": {"test": "node --test"}}"#,
    );
    write(
        root,
        "calc.js",
        &format!("exports.add = (a, b) => a + b;\nexports.sub = (a, b) => a {op} b;\n"),
    );
    write(
        root,
        "test/calc.test.js",
        "const test = require('node:test');\nconst assert = require('node:assert');\n\
         const { add, sub } = require('../calc');\n\n\
         test('adds', () => assert.strictEqual(add(2, 1), 3));\n\
         test('subtracts', () => assert.strictEqual(sub(2, 1), 1));\n",
    );
}

#[tokio::test]
async fn a_node_project_runs_offline_in_the_node_image() {
    let case = "project-node";
    let Some((broken, fixed)) = broken_then_fixed(
        case,
        NODE_IMAGE,
        Ecosystem::Node,
        node_project,
        // `node --test` cannot select by name: the full suite alone decides.
        &["test/calc.test.js::adds"],
    )
    .await
    else {
        return;
    };
    assert_eq!(steps(&broken), [(FULL_STEP, Some(1), None)]);
    let full = &broken.steps[0].output_tail;
    assert!(full.contains("not ok 2 - subtracts"), "{full}");
    assert_eq!(steps(&fixed), [(FULL_STEP, Some(0), None)]);
}

fn maven_project(root: &Path, fixed: bool) {
    let op = if fixed { "-" } else { "+" };
    // No plugin versions: Maven's defaults, which Debian packages.
    write(
        root,
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
    );
    write(
        root,
        "src/main/java/calc/Calc.java",
        &format!(
            "package calc;\n\npublic class Calc {{\n\
             public static int add(int a, int b) {{ return a + b; }}\n\
             public static int sub(int a, int b) {{ return a {op} b; }}\n}}\n"
        ),
    );
    write(
        root,
        "src/test/java/calc/CalcTest.java",
        "package calc;\n\nimport static org.junit.Assert.assertEquals;\n\nimport org.junit.Test;\n\n\
         public class CalcTest {\n\
         @Test public void adds() { assertEquals(3, Calc.add(2, 1)); }\n\
         @Test public void subtracts() { assertEquals(1, Calc.sub(2, 1)); }\n}\n",
    );
}

#[tokio::test]
async fn a_maven_project_runs_offline_in_the_java_image() {
    let case = "project-maven";
    let Some((broken, fixed)) = broken_then_fixed(
        case,
        JAVA_IMAGE,
        Ecosystem::Maven,
        maven_project,
        // The surefire parser's `Class#method`.
        &["calc.CalcTest#adds"],
    )
    .await
    else {
        return;
    };
    assert_eq!(
        steps(&broken),
        [(FAILING_STEP, Some(0), None), (FULL_STEP, Some(1), None)]
    );
    let full = &broken.steps[1];
    let section = full
        .failure_section
        .as_deref()
        .expect("surefire's failures");
    assert!(section.contains("subtracts(calc.CalcTest)"), "{section}");
    assert!(section.contains("expected:<1> but was:<3>"), "{section}");
    assert!(!full.output_tail.contains('\u{1b}'), "{}", full.output_tail);
    assert_eq!(
        steps(&fixed),
        [(FAILING_STEP, Some(0), None), (FULL_STEP, Some(0), None)]
    );
}
