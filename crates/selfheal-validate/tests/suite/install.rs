//! The install phase: the detection table, and real installs from the package index, cached
//! as images that the offline sandbox then runs the tests in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use selfheal_types::ValidationOutcome;
use selfheal_validate::{
    CA_ENV_VARS, DEFAULT_IMAGE, DockerSandbox, InstallSpec, Installer, Limits, PROXY_ENV_VARS,
    Sandbox, TestStep, VENV_DIR, ValidationPlan, WHOLE_TREE, detect_install, detect_install_in,
};

use super::{TEST_LABEL, assert_no_container_left, engine, write};

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

fn venv_then(install: &str) -> Vec<String> {
    vec![
        "sh".to_owned(),
        "-c".to_owned(),
        format!("python3 -m venv --system-site-packages \"$VIRTUAL_ENV\" && {install}"),
    ]
}

#[test]
fn detects_requirements_files_in_name_order_and_follows_nested_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "requirements.txt",
        "six==1.16.0\n-r reqs/base.txt\n",
    );
    write(dir.path(), "requirements-dev.txt", "iniconfig  # tests\n");
    write(dir.path(), "reqs/base.txt", "-c constraints.txt\n");
    write(dir.path(), "reqs/constraints.txt", "six<2\n");
    // requirements win over the project file: they are all the install needs.
    write(dir.path(), "pyproject.toml", "[project]\nname = 'x'\n");
    assert_eq!(
        detect_install(dir.path()),
        Some(InstallSpec {
            command: venv_then(
                "\"$VIRTUAL_ENV/bin/pip\" install -r requirements-dev.txt -r requirements.txt"
            ),
            manifests: strings(&[
                "reqs/base.txt",
                "reqs/constraints.txt",
                "requirements-dev.txt",
                "requirements.txt",
            ]),
            workdir: String::new(),
            env: venv_env(),
        })
    );
}

#[test]
fn requirements_that_install_the_checkout_take_the_whole_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "svc/requirements.txt", "-e .\nsix\n");
    let spec = detect_install_in(dir.path(), "svc").expect("detected");
    assert_eq!(spec.manifests, strings(&[WHOLE_TREE]));
    assert_eq!(spec.workdir, "svc");
    assert!(spec.needs_whole_tree());
}

#[test]
fn a_python_project_is_an_editable_install_of_the_whole_tree() {
    for (file, text) in [
        (
            "pyproject.toml",
            "[project]\nname = \"p\"\ndependencies = [\"six\"]\n",
        ),
        (
            "pyproject.toml",
            "[project]\nname = \"p\"\n[project.optional-dependencies]\ntest = [\"pytest\"]\n",
        ),
        (
            "pyproject.toml",
            "[tool.poetry.dependencies]\npython = \"^3.11\"\nrequests = \"*\"\n",
        ),
        ("setup.py", "setup(name='p', install_requires=['six'])\n"),
        ("setup.cfg", "[options]\ninstall_requires =\n    six\n"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), file, text);
        assert_eq!(
            detect_install(dir.path()),
            Some(InstallSpec {
                command: venv_then(
                    "{ \"$VIRTUAL_ENV/bin/pip\" install -e '.[test]' || \"$VIRTUAL_ENV/bin/pip\" install -e .; }"
                ),
                manifests: strings(&[WHOLE_TREE]),
                workdir: String::new(),
                env: venv_env(),
            }),
            "{file}"
        );
    }
}

#[test]
fn a_python_project_that_declares_no_dependencies_installs_nothing() {
    for (file, text) in [
        (
            "pyproject.toml",
            "[project]\nname = \"pricing\"\n\n[tool.pytest.ini_options]\npythonpath = [\"src\"]\n",
        ),
        (
            "pyproject.toml",
            "[tool.poetry.dependencies]\npython = \"^3.11\"\n",
        ),
        ("setup.py", "setup(name='p')\n"),
        ("setup.cfg", "[metadata]\nname = p\n"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), file, text);
        assert_eq!(detect_install(dir.path()), None, "{file}: {text}");
    }
}

#[test]
fn other_ecosystems_are_listed_in_the_table() {
    let cases: &[(&[&str], &[&str], &[&str])] = &[
        (
            &["package.json", "package-lock.json"],
            &["npm", "ci"],
            &["package-lock.json", "package.json"],
        ),
        (&["go.mod"], &["go", "mod", "download"], &["go.mod"]),
        (
            &["go.mod", "go.sum"],
            &["go", "mod", "download"],
            &["go.mod", "go.sum"],
        ),
        (&["Cargo.toml"], &["cargo", "fetch"], &[WHOLE_TREE]),
        (
            &["pom.xml"],
            &["mvn", "-B", "dependency:go-offline"],
            &[WHOLE_TREE],
        ),
    ];
    for (files, command, manifests) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in *files {
            write(dir.path(), f, "{}");
        }
        assert_eq!(
            detect_install(dir.path()),
            Some(InstallSpec {
                command: strings(command),
                manifests: strings(manifests),
                workdir: String::new(),
                env: Vec::new(),
            }),
            "{files:?}"
        );
    }
}

#[test]
fn nothing_to_install_is_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "calc.py", "");
    // npm without a lock file cannot be installed reproducibly with `npm ci`.
    write(dir.path(), "package.json", "{}");
    assert_eq!(detect_install(dir.path()), None);
}

/// An installer on the default image, labelled for `case`, with the host's CA
/// bundle and proxy settings as this test process sees them, or `None` when
/// Docker tests are skipped.
#[allow(
    clippy::print_stderr,
    reason = "a skipped Docker test must say so where the test output shows it"
)]
pub(super) async fn installer(case: &str) -> Option<(Installer, Option<PathBuf>)> {
    if std::env::var("SELFHEAL_SKIP_DOCKER").as_deref() == Ok("1") {
        eprintln!(
            "!!! SKIPPED {case}: SELFHEAL_SKIP_DOCKER=1, the install phase was NOT tested !!!"
        );
        return None;
    }
    let ca = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .or_else(|| {
            let system = PathBuf::from("/etc/ssl/certs/ca-certificates.crt");
            system.is_file().then_some(system)
        });
    let mut proxy: Vec<(String, String)> = PROXY_ENV_VARS
        .iter()
        .filter_map(|&k| std::env::var(k).ok().map(|v| (k.to_owned(), v)))
        .collect();
    // Always pass one, so the test can check it is not baked into the image.
    if !proxy.iter().any(|(k, _)| k == "no_proxy") {
        proxy.push(("no_proxy".to_owned(), "selfheal-test.invalid".to_owned()));
    }
    let installer = Installer::connect_to(None, DEFAULT_IMAGE)
        .await
        .expect(
            "docker engine reachable (run scripts/ensure-docker.sh, or set SELFHEAL_SKIP_DOCKER=1)",
        )
        .with_proxy_env(proxy)
        .with_label(TEST_LABEL, case)
        .with_timeout(Duration::from_secs(300));
    Some((installer, ca))
}

/// A project whose test imports `six`, with a requirements file made unique to
/// this run (a comment), so the first prepare really installs.
fn six_project(root: &Path, extra: &str) {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    write(
        root,
        "requirements.txt",
        &format!("# selfheal test run {nonce}\nsix==1.16.0\n{extra}"),
    );
    write(
        root,
        "tests/test_six.py",
        "import six\n\n\ndef test_six():\n    assert six.__version__ == '1.16.0'\n    assert six.__file__.startswith('/opt/selfheal/venv/')\n",
    );
    write(root, "conftest.py", "");
}

async fn image_env(image: &str) -> Vec<String> {
    engine()
        .await
        .inspect_image(image)
        .await
        .expect("inspect prepared image")
        .config
        .and_then(|c| c.env)
        .unwrap_or_default()
}

pub(super) async fn remove_image(image: &str) {
    let options = bollard::query_parameters::RemoveImageOptionsBuilder::default()
        .force(true)
        .build();
    let _ = engine()
        .await
        .remove_image(image, Some(options), None)
        .await;
}

#[tokio::test]
async fn requirements_install_once_then_tests_pass_offline_from_the_cached_image() {
    let case = "install-requirements";
    let Some((installer, ca)) = installer(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    six_project(dir.path(), "");
    let spec = detect_install(dir.path()).expect("requirements detected");

    let cold = installer
        .prepare(dir.path(), &spec, ca.as_deref())
        .await
        .unwrap_or_else(|e| {
            panic!("install from PyPI failed: {e}\nhint: a container must reach PyPI; pass the host's CA bundle through SSL_CERT_FILE and the proxy variables")
        });
    assert!(!cold.cached, "{cold:?}");
    assert!(cold.image.starts_with("selfheal-prepared:"), "{cold:?}");
    let log = cold.log_path.clone().expect("a fresh install has a log");
    let log_text = std::fs::read_to_string(&log).expect("log readable");
    assert!(log_text.contains("six"), "{log_text}");

    // Tests run with the network off and find `six` in the venv.
    let sandbox = DockerSandbox::connect(&cold.image, Limits::default())
        .await
        .expect("sandbox")
        .with_label(TEST_LABEL, case);
    let plan = ValidationPlan::new(
        vec![TestStep::new("pytest", "python -m pytest -q")],
        Duration::from_secs(60),
    );
    let report = sandbox.validate(dir.path(), &plan).await.expect("validate");
    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");

    // The same manifests, even with the sources changed: the cached image, and no install.
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
    // Alone it takes a few milliseconds (two image inspections and a hash); the
    // bound leaves room for an engine busy with the rest of the suite on 2 cores.
    assert!(warm.duration < Duration::from_secs(1), "{warm:?}");

    // Neither the CA bundle's variables nor the proxy's are in the image; the venv is first on PATH.
    let env = image_env(&cold.image).await;
    let leaked: Vec<&String> = env
        .iter()
        .filter(|kv| {
            let key = kv.split('=').next().unwrap_or_default();
            CA_ENV_VARS.contains(&key) || PROXY_ENV_VARS.contains(&key)
        })
        .collect();
    assert_eq!(leaked, Vec::<&String>::new(), "{env:?}");
    assert!(env.contains(&format!("VIRTUAL_ENV={VENV_DIR}")), "{env:?}");
    assert!(
        env.iter()
            .any(|kv| kv.starts_with(&format!("PATH={VENV_DIR}/bin:"))),
        "{env:?}"
    );
    #[allow(
        clippy::print_stderr,
        reason = "the measured times are part of the report"
    )]
    {
        eprintln!(
            "install cold {:?}, cached {:?}, log {}",
            cold.duration,
            warm.duration,
            log.display()
        );
    }
    assert_no_container_left(case).await;
    remove_image(&cold.image).await;
}

#[tokio::test]
async fn a_changed_requirements_file_is_a_new_image_without_the_ca_file() {
    let case = "install-changed";
    let Some((installer, ca)) = installer(case).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    six_project(dir.path(), "");
    let spec = detect_install(dir.path()).expect("detected");
    let first = installer
        .prepare(dir.path(), &spec, ca.as_deref())
        .await
        .expect("first install (hint: PyPI must be reachable)");
    six_project(dir.path(), "iniconfig==2.0.0\n");
    let second = installer
        .prepare(dir.path(), &spec, ca.as_deref())
        .await
        .expect("second install");
    assert!(!second.cached, "{second:?}");
    assert_ne!(first.image, second.image);

    // The CA bundle and the secret environment were deleted before the commit.
    let sandbox = DockerSandbox::connect(&second.image, Limits::default())
        .await
        .expect("sandbox")
        .with_label(TEST_LABEL, case);
    let plan = ValidationPlan::new(
        vec![TestStep::new(
            "check",
            "test ! -e /etc/selfheal/ca.crt && test ! -e /etc/selfheal/env && python -c 'import iniconfig, six' && test -f /work/requirements.txt",
        )],
        Duration::from_secs(60),
    );
    let report = sandbox.validate(dir.path(), &plan).await.expect("validate");
    assert_eq!(report.outcome, ValidationOutcome::Passed, "{report:#?}");
    assert_no_container_left(case).await;
    remove_image(&first.image).await;
    remove_image(&second.image).await;
}

#[tokio::test]
async fn a_failing_install_names_the_command_and_a_log_that_exists() {
    let case = "install-failing";
    let Some((installer, ca)) = installer(case).await else {
        return;
    };
    let logs = tempfile::tempdir().expect("tempdir");
    let installer = installer.with_log_dir(logs.path());
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "requirements.txt",
        "selfheal-no-such-package-7f3a9c==1.0\n",
    );
    let spec = detect_install(dir.path()).expect("detected");
    let err = installer
        .prepare(dir.path(), &spec, ca.as_deref())
        .await
        .expect_err("a package that does not exist cannot install");
    let message = err.to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(
        message.contains("pip\" install -r requirements.txt"),
        "{message}"
    );
    assert!(message.contains(DEFAULT_IMAGE), "{message}");
    assert!(
        message.contains("selfheal-no-such-package-7f3a9c"),
        "{message}"
    );
    let log = message
        .split("full output in ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .map_or_else(|| panic!("no log path in {message}"), PathBuf::from);
    assert!(log.starts_with(logs.path()), "{message}");
    let text = std::fs::read_to_string(&log).expect("log exists");
    assert!(text.contains("No matching distribution"), "{text}");
    assert_no_container_left(case).await;
}
