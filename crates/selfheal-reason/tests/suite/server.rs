use std::time::Duration;

use selfheal_reason::{PreviousAttempt, Prompts, ReasonError, Reasoner, reply_json_schema};
use selfheal_types::{Diagnosis, TokenUsage};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::{request, settings};

fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A chat completion as `OpenAI` (and llama.cpp, vLLM, `Ollama`) sends it.
fn completion(content: &str, usage: Option<(u64, u64)>) -> Value {
    let mut body = json!({
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": "qwen2.5-coder",
        "system_fingerprint": "b1",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "logprobs": null,
            "finish_reason": "stop"
        }]
    });
    if let Some((p, c)) = usage {
        body["usage"] = json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c});
    }
    body
}

async fn server_answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

fn reasoner(server: &MockServer) -> Reasoner {
    init();
    Reasoner::new(
        settings(&format!("{}/v1", server.uri())),
        Prompts::builtin(),
    )
    .expect("reasoner")
}

async fn only_request(server: &MockServer) -> Request {
    let mut received = server.received_requests().await.expect("recording is on");
    assert_eq!(received.len(), 1, "exactly one request");
    received.remove(0)
}

const STRUCTURED: &str = r#"{"diagnosis":{"summary":"remove the stray + 1 in add","root_cause":"add() returns a + b + 1."},"edits":[{"file":"src/calc.py","old":"    return a + b + 1\n","new":"    return a + b\n"}]}"#;

#[tokio::test]
async fn asks_for_structured_output_and_reads_the_diagnosis() {
    let server = server_answering(
        ResponseTemplate::new(200).set_body_json(completion(STRUCTURED, Some((321, 45)))),
    )
    .await;
    let proposal = reasoner(&server)
        .propose(&request())
        .await
        .expect("proposal");

    assert_eq!(
        proposal.diagnosis,
        Diagnosis {
            summary: "remove the stray + 1 in add".into(),
            root_cause: "add() returns a + b + 1.".into(),
            test_is_wrong: None,
        }
    );
    assert_eq!(proposal.reply, STRUCTURED);
    assert_eq!(
        proposal.tokens,
        TokenUsage {
            prompt: 321,
            completion: 45
        }
    );

    let sent = only_request(&server).await;
    assert!(
        sent.headers.get("authorization").is_none(),
        "no key, so no Authorization header"
    );
    let body: Value = sent.body_json().expect("json body");
    assert_eq!(body["model"], "qwen2.5-coder");
    assert_eq!(body["max_tokens"], 512);
    assert_eq!(body["temperature"], 0.0);
    assert!(body.get("stream").is_none() || body["stream"] == false);
    let messages = body["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "system");
    assert!(
        messages[0]["content"]
            .as_str()
            .expect("text")
            .contains("minimal change")
    );
    assert_eq!(messages[1]["role"], "user");
    let user = messages[1]["content"].as_str().expect("text");
    assert!(
        user.contains("E       assert 5 == 4"),
        "excerpt shown:\n{user}"
    );
    assert!(
        user.contains("src/calc.py:\n```\n1 | def add(a, b):\n2 |     return a + b + 1\n```"),
        "file shown with line numbers:\n{user}"
    );
    assert!(
        user.contains("Failing test: tests/test_calc.py::test_add"),
        "{user}"
    );
    assert!(user.contains("Locations: src/calc.py:2"), "{user}");
    assert!(!user.contains("{{"), "every placeholder filled:\n{user}");
    assert_eq!(
        body["response_format"],
        json!({
            "type": "json_schema",
            "json_schema": {
                "description": "A diagnosis of the CI failure and the edits that fix it",
                "name": "selfheal_repair",
                "schema": reply_json_schema(),
                "strict": true
            }
        })
    );
}

#[tokio::test]
async fn plain_mode_sends_no_response_format_and_reads_prose() {
    let prose = "The bug: `add` adds one too many.\n\n```diff\n--- a/src/calc.py\n+++ b/src/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a + b + 1\n+    return a + b\n```\n";
    let server =
        server_answering(ResponseTemplate::new(200).set_body_json(completion(prose, None))).await;
    init();
    let mut s = settings(&format!("{}/v1/", server.uri()));
    s.structured_output = false;
    let proposal = Reasoner::new(s, Prompts::builtin())
        .expect("reasoner")
        .propose(&request())
        .await
        .expect("a prose reply is still a proposal");
    assert_eq!(
        proposal.diagnosis.summary,
        "The bug: `add` adds one too many"
    );
    assert_eq!(proposal.reply, prose);
    assert_eq!(
        proposal.tokens,
        TokenUsage::default(),
        "no usage, no tokens"
    );

    let body: Value = only_request(&server).await.body_json().expect("json");
    assert!(body.get("response_format").is_none(), "{body}");
}

#[tokio::test]
async fn a_key_is_sent_as_a_bearer_token() {
    let server =
        server_answering(ResponseTemplate::new(200).set_body_json(completion(STRUCTURED, None)))
            .await;
    init();
    let mut s = settings(&format!("{}/v1", server.uri()));
    s.api_key = Some("sk-test-123".into());
    Reasoner::new(s, Prompts::builtin())
        .expect("reasoner")
        .propose(&request())
        .await
        .expect("proposal");
    let sent = only_request(&server).await;
    assert_eq!(
        sent.headers
            .get("authorization")
            .map(|v| v.to_str().expect("ascii")),
        Some("Bearer sk-test-123")
    );
}

#[tokio::test]
async fn retry_prompt_shows_the_last_diff_and_where_validation_failed() {
    let server =
        server_answering(ResponseTemplate::new(200).set_body_json(completion(STRUCTURED, None)))
            .await;
    let mut req = request();
    req.previous = vec![PreviousAttempt {
        number: 1,
        diff: Some("--- a/src/calc.py\n+++ b/src/calc.py\n@@ -2 +2 @@\n-    return a + b + 1\n+    return a + b + 2\n".into()),
        outcome: "the failing test still fails".into(),
        validation_excerpt: Some("E       assert 6 == 4".into()),
        kept: false,
    }];
    reasoner(&server).propose(&req).await.expect("proposal");
    let body: Value = only_request(&server).await.body_json().expect("json");
    let user = body["messages"][1]["content"].as_str().expect("text");
    assert!(user.contains("This is attempt 2."), "{user}");
    assert!(
        user.contains("- attempt 1: the failing test still fails"),
        "{user}"
    );
    assert!(user.contains("```diff\n--- a/src/calc.py\n+++ b/src/calc.py\n@@ -2 +2 @@\n-    return a + b + 1\n+    return a + b + 2\n```"), "{user}");
    assert!(
        user.contains("```text\nE       assert 6 == 4\n```"),
        "{user}"
    );
    assert!(
        user.contains("Its change was undone: the files above are as they were before it."),
        "the model knows the tree is back as it was: {user}"
    );
    // The failure itself is still shown, before the retry notes.
    let failure_at = user.find("E       assert 5 == 4").expect("excerpt");
    assert!(failure_at < user.find("This is attempt 2.").expect("retry"));
}

#[tokio::test]
async fn server_error_is_retryable_and_quotes_the_body() {
    let server =
        server_answering(ResponseTemplate::new(500).set_body_string("upstream model crashed"))
            .await;
    let err = reasoner(&server)
        .propose(&request())
        .await
        .expect_err("500");
    assert!(
        matches!(err, ReasonError::Status { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(err.to_string().contains("upstream model crashed"), "{err}");
}

#[tokio::test]
async fn unauthorized_hints_at_the_key_and_is_final() {
    let server = server_answering(ResponseTemplate::new(401).set_body_json(json!({
        "error": {"message": "Incorrect API key provided: sk-bad.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}
    })))
    .await;
    let err = reasoner(&server)
        .propose(&request())
        .await
        .expect_err("401");
    assert!(
        matches!(err, ReasonError::Status { status: 401, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    let msg = err.to_string();
    assert!(msg.contains("Incorrect API key provided"), "{msg}");
    assert!(msg.contains("hint: set OPENAI_API_KEY"), "{msg}");
}

#[tokio::test]
async fn unknown_model_hints_at_selfheal_model() {
    let server = server_answering(ResponseTemplate::new(404).set_body_json(json!({
        "error": {"message": "The model `gpt-9` does not exist", "type": "invalid_request_error", "param": null, "code": "model_not_found"}
    })))
    .await;
    let err = reasoner(&server)
        .propose(&request())
        .await
        .expect_err("404");
    assert!(
        matches!(err, ReasonError::Status { status: 404, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("SELFHEAL_MODEL"), "{err}");

    // Ollama's shape: the error is a bare string, which async-openai cannot parse.
    let server = server_answering(
        ResponseTemplate::new(404)
            .set_body_json(json!({"error": "model \"qwen9\" not found, try pulling it first"})),
    )
    .await;
    let err = reasoner(&server)
        .propose(&request())
        .await
        .expect_err("404");
    assert!(matches!(err, ReasonError::Server { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("model \"qwen9\" not found"), "{msg}");
    assert!(msg.contains("SELFHEAL_MODEL"), "{msg}");
}

#[tokio::test]
async fn slow_server_times_out() {
    let server = server_answering(
        ResponseTemplate::new(200)
            .set_body_json(completion(STRUCTURED, None))
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    init();
    let mut s = settings(&format!("{}/v1", server.uri()));
    s.timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let err = Reasoner::new(s, Prompts::builtin())
        .expect("reasoner")
        .propose(&request())
        .await
        .expect_err("timeout");
    assert!(matches!(err, ReasonError::Timeout { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up on time"
    );
}

#[tokio::test]
async fn garbage_body_is_a_bad_reply() {
    let server = server_answering(
        ResponseTemplate::new(200).set_body_string("<html><body>Welcome to nginx!</body></html>"),
    )
    .await;
    let err = reasoner(&server)
        .propose(&request())
        .await
        .expect_err("garbage");
    assert!(matches!(err, ReasonError::BadReply { .. }), "{err:?}");
    assert!(err.to_string().contains("Welcome to nginx"), "{err}");
    assert!(err.to_string().contains("hint:"), "{err}");

    let server =
        server_answering(ResponseTemplate::new(200).set_body_json(json!({"ok": true}))).await;
    let err = reasoner(&server)
        .propose(&request())
        .await
        .expect_err("not a completion");
    assert!(matches!(err, ReasonError::BadReply { .. }), "{err:?}");
}

#[tokio::test]
async fn empty_content_is_an_empty_reply() {
    let mut body = completion("", Some((100, 0)));
    body["choices"][0]["message"]["content"] = Value::Null;
    body["choices"][0]["finish_reason"] = json!("length");
    let server = server_answering(ResponseTemplate::new(200).set_body_json(body)).await;
    let err = reasoner(&server)
        .propose(&request())
        .await
        .expect_err("empty");
    match &err {
        ReasonError::EmptyReply { finish_reason, .. } => {
            assert_eq!(finish_reason.as_deref(), Some("length"));
        }
        other => panic!("expected an empty reply, got {other:?}"),
    }
    assert!(err.is_retryable());
}

#[tokio::test]
async fn closed_port_is_unreachable() {
    init();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}/v1");
    let err = Reasoner::new(settings(&url), Prompts::builtin())
        .expect("reasoner")
        .propose(&request())
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, ReasonError::Unreachable { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(
        err.to_string().starts_with(&format!(
            "cannot reach the model server at {url}/chat/completions"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn lists_models() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [
                {"id": "local-model", "object": "model", "created": 1_764_000_000, "owned_by": "llamacpp", "meta": {"n_params": 494_032_768}},
                {"id": "qwen2.5-coder:1.5b", "object": "model"}
            ]
        })))
        .mount(&server)
        .await;
    let models = reasoner(&server).list_models().await.expect("models");
    assert_eq!(models, ["local-model", "qwen2.5-coder:1.5b"]);
}

#[test]
fn settings_that_cannot_work_are_refused() {
    init();
    let bad_url =
        Reasoner::new(settings("localhost:8080"), Prompts::builtin()).expect_err("no scheme");
    assert!(matches!(bad_url, ReasonError::Settings(_)), "{bad_url:?}");
    let mut s = settings("http://127.0.0.1:1/v1");
    s.timeout = Duration::ZERO;
    assert!(Reasoner::new(s, Prompts::builtin()).is_err());
    let mut s = settings("http://127.0.0.1:1/v1");
    s.api_key = Some("sk-\nline".into());
    assert!(
        Reasoner::new(s, Prompts::builtin()).is_err(),
        "a key with a line break never reaches a header"
    );
}

/// A rate-limited server that says when to come back is asked again after
/// that long, and the answer it then gives is the proposal.
#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_then_answered() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "2")
                .set_body_json(json!({"error": {"message": "slow down", "type": "rate_limit_error", "param": null, "code": null}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(completion(STRUCTURED, Some((10, 5)))),
        )
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let proposal = reasoner(&server)
        .propose(&request())
        .await
        .expect("answered after the wait");
    let waited = started.elapsed();
    assert_eq!(
        proposal.tokens,
        TokenUsage {
            prompt: 10,
            completion: 5
        }
    );
    assert!(
        waited >= Duration::from_secs(2),
        "Retry-After: 2 was honoured (waited {waited:?})"
    );
    let received = server.received_requests().await.expect("recording is on");
    assert_eq!(received.len(), 2, "one refusal, one answer");
}
