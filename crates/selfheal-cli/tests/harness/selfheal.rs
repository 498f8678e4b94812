//! Running the `selfheal` binary the way a user (or CI) would, but with an
//! environment the test spells out in full.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use selfheal_types::RepairRecord;

use super::ModelServer;

/// Long enough for a few sandbox runs on a busy 2-core machine; a hung
/// binary still fails the test instead of hanging the suite.
const TIMEOUT_SECS: u64 = 480;

/// One invocation of the binary: `env_clear()` and then only what is named,
/// so neither the developer's shell nor another test leaks into it.
pub struct Selfheal {
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    cwd: Option<std::path::PathBuf>,
}

impl Selfheal {
    /// PATH, HOME and `NO_COLOR=1`; `DOCKER_HOST` too when the test process has
    /// one, since the sandbox must reach the same engine the test checked.
    pub fn new(home: &Path) -> Selfheal {
        let mut env = vec![
            (
                "PATH".to_owned(),
                std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".to_owned()),
            ),
            ("HOME".to_owned(), home.display().to_string()),
            ("NO_COLOR".to_owned(), "1".to_owned()),
        ];
        if let Ok(host) = std::env::var("DOCKER_HOST") {
            env.push(("DOCKER_HOST".to_owned(), host));
        }
        Selfheal {
            args: Vec::new(),
            env,
            cwd: None,
        }
    }

    /// Points the binary at `server` and its model.
    pub fn model(self, server: &ModelServer) -> Selfheal {
        self.model_at(&server.base_url(), &server.model)
    }

    /// Points the binary at any OpenAI-compatible base URL.
    pub fn model_at(self, base_url: &str, model: &str) -> Selfheal {
        self.env("OPENAI_BASE_URL", base_url)
            .env("OPENAI_API_KEY", "sk-e2e-test")
            .env("SELFHEAL_MODEL", model)
    }

    pub fn env(mut self, key: &str, value: &str) -> Selfheal {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Selfheal {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Selfheal
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Selfheal {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    /// Runs to completion with stdin closed (no terminal: nobody can be asked).
    pub async fn run(self) -> Output {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_selfheal"));
        cmd.env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        let shown = format!("selfheal {}", shown_args(&self.args));
        let child = cmd.spawn().expect("the selfheal binary starts");
        let out = tokio::time::timeout(Duration::from_secs(TIMEOUT_SECS), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("{shown} ran longer than {TIMEOUT_SECS}s"))
            .expect("waiting for selfheal");
        Output {
            command: shown,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

fn shown_args(args: &[OsString]) -> String {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a finished invocation left behind.
#[derive(Debug)]
pub struct Output {
    pub command: String,
    /// `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts the exit code, showing both streams when it is wrong.
    #[track_caller]
    pub fn assert_code(&self, expected: i32) -> &Output {
        assert_eq!(
            self.code,
            Some(expected),
            "{} exited with {:?}, expected {expected}\n--- stdout\n{}\n--- stderr\n{}",
            self.command,
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// The `--json` record on stdout, parsed strictly into the shared type.
    #[track_caller]
    pub fn record(&self) -> RepairRecord {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout of {} is not a repair record ({e})\n--- stdout\n{}\n--- stderr\n{}",
                self.command, self.stdout, self.stderr
            )
        })
    }

    /// Stdout as JSON of any shape.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout of {} is not JSON ({e})\n--- stdout\n{}\n--- stderr\n{}",
                self.command, self.stdout, self.stderr
            )
        })
    }
}
