//! Shared by the tests: the repository's paths, git, the built binary,
//! Docker, and a scripted OpenAI-compatible server.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

pub fn samples_dir() -> PathBuf {
    workspace_root().join("sample_projects")
}

/// `git -C dir args...`, trimmed stdout; panics with stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The `selfheal` binary cargo built beside this test binary.
pub fn selfheal_exe() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/all-<hash> → target/<profile>/selfheal
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = profile_dir.join("selfheal");
    assert!(
        bin.is_file(),
        "{} is missing; hint: cargo build -p selfheal-cli (cargo test --workspace builds it)",
        bin.display()
    );
    // `cargo test -p selfheal-bench` alone does not rebuild the binary; an
    // old one would test old bench code.
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .expect("mtime");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).expect("src/") {
        let path = entry.expect("entry").path();
        let changed = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .expect("mtime");
        assert!(
            changed <= built,
            "{} is older than {}; hint: cargo build -p selfheal-cli",
            bin.display(),
            path.display()
        );
    }
    bin
}

/// Panics with a hint when Docker or the sandbox image is missing: these
/// tests validate in the real sandbox, and a silent skip would prove nothing.
pub fn require_docker() {
    let info = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output();
    match info {
        Ok(out) if out.status.success() => {}
        _ => panic!(
            "end-to-end tests need Docker: the engine does not answer; hint: run scripts/ensure-docker.sh"
        ),
    }
    let image = Command::new("docker")
        .args(["image", "inspect", "selfheal-sandbox-python:bookworm"])
        .output();
    assert!(
        image.is_ok_and(|o| o.status.success()),
        "end-to-end tests need the sandbox image selfheal-sandbox-python:bookworm; hint: run scripts/build-sandbox-image.sh"
    );
}

/// Replies keyed by a text the prompt must contain (a file the case's fix
/// changes), each popped in turn: the bench runs cases one after another,
/// but a case's reply must not depend on the order.
struct ByPrompt {
    model: String,
    replies: Mutex<Vec<(String, Vec<String>)>>,
}

impl Respond for ByPrompt {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&request.body);
        let mut replies = self.replies.lock().expect("not poisoned");
        let next = replies
            .iter_mut()
            .find(|(marker, queue)| body.contains(marker.as_str()) && !queue.is_empty())
            .map(|(_, queue)| queue.remove(0));
        let Some(content) = next else {
            return ResponseTemplate::new(500).set_body_json(json!({
                "error": {"message": "no scripted reply for this prompt", "type": "server_error", "param": null, "code": null}
            }));
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1_794_000_000,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": null},
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "usage": {
                "prompt_tokens": (request.body.len() / 4).max(1),
                "completion_tokens": (content.len() / 4).max(1),
                "total_tokens": (request.body.len() / 4).max(1) + (content.len() / 4).max(1)
            }
        }))
    }
}

pub struct ModelServer {
    server: MockServer,
}

impl ModelServer {
    pub async fn start(model: &str, replies: Vec<(String, Vec<String>)>) -> ModelServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "object": "list",
                "data": [{"id": model, "object": "model", "created": 1_790_000_000, "owned_by": "bench"}]
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(ByPrompt {
                model: model.to_owned(),
                replies: Mutex::new(replies),
            })
            .mount(&server)
            .await;
        ModelServer { server }
    }

    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }
}

/// A sample's known fix, as the model replies that make it: the marker is
/// the first file the fix edits, which the prompt names.
pub fn sample_replies(name: &str) -> (String, Vec<String>) {
    let dir = samples_dir().join(name);
    let files = selfheal_bench::suite::fix_files(&dir);
    let replies: Vec<String> = files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("fix file"))
        .collect();
    let first: Value = serde_json::from_str(&replies[0]).expect("fix is JSON");
    let marker = first["edits"][0]["file"]
        .as_str()
        .expect("an edit names its file")
        .to_owned();
    (marker, replies)
}

/// The binary with a clean environment: the model server, a fresh HOME.
pub fn selfheal(home: &Path, base_url: &str, model: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(selfheal_exe());
    cmd.env_clear()
        .env(
            "PATH",
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".to_owned()),
        )
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("OPENAI_BASE_URL", base_url)
        .env("OPENAI_API_KEY", "sk-bench-test")
        .env("SELFHEAL_MODEL", model)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Ok(host) = std::env::var("DOCKER_HOST") {
        cmd.env("DOCKER_HOST", host);
    }
    cmd
}
