//! An OpenAI-compatible server on loopback that answers from a script.
//!
//! `/v1/chat/completions` pops the next scripted reply and wraps it in a
//! complete `chat.completion` body, `usage` included, the way a real server
//! answers. When the script runs out it answers 500, so a model call the test
//! did not expect shows up as a failed attempt and a wrong call count instead
//! of a quiet pass. `/v1/models` lists the models the test names.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Model replies, written the way the binary asks for them.
pub struct Reply;

impl Reply {
    /// `{"diagnosis": {...}, "edits": [{"file", "old", "new"}, ...]}`.
    pub fn edits(summary: &str, root_cause: &str, edits: &[(&str, &str, &str)]) -> String {
        let edits: Vec<Value> = edits
            .iter()
            .map(|(file, old, new)| json!({"file": file, "old": old, "new": new}))
            .collect();
        json!({
            "diagnosis": {"summary": summary, "root_cause": root_cause},
            "edits": edits,
        })
        .to_string()
    }
}

struct Scripted {
    model: String,
    replies: Mutex<VecDeque<String>>,
    served: AtomicU64,
}

impl Respond for Scripted {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let next = self
            .replies
            .lock()
            .expect("the script lock is never poisoned")
            .pop_front();
        let Some(content) = next else {
            return ResponseTemplate::new(500).set_body_json(json!({
                "error": {
                    "message": "the test scripted no more replies",
                    "type": "server_error",
                    "param": null,
                    "code": null
                }
            }));
        };
        let n = self.served.fetch_add(1, Ordering::SeqCst) + 1;
        // Rough token counts, like a tokenizer would give: about 4 bytes each.
        let prompt_tokens = (request.body.len() as u64 / 4).max(1);
        let completion_tokens = (content.len() as u64 / 4).max(1);
        ResponseTemplate::new(200).set_body_json(json!({
            "id": format!("chatcmpl-e2e{n:06}"),
            "object": "chat.completion",
            "created": 1_794_000_000 + n,
            "model": self.model,
            "system_fingerprint": "fp_e2e",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": null},
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens
            }
        }))
    }
}

/// A running scripted server; stops when dropped.
pub struct ModelServer {
    server: MockServer,
    pub model: String,
}

impl ModelServer {
    /// Serves `model` (and lists it) with `replies` in order.
    pub async fn start(model: &str, replies: Vec<String>) -> ModelServer {
        Self::start_listing(model, &[model], replies).await
    }

    /// Like [`ModelServer::start`], but `/v1/models` lists `listed` instead.
    pub async fn start_listing(model: &str, listed: &[&str], replies: Vec<String>) -> ModelServer {
        let server = MockServer::start().await;
        let data: Vec<Value> = listed
            .iter()
            .map(|id| json!({"id": id, "object": "model", "created": 1_790_000_000, "owned_by": "e2e"}))
            .collect();
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "object": "list",
                "data": data
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(Scripted {
                model: model.to_owned(),
                replies: Mutex::new(replies.into()),
                served: AtomicU64::new(0),
            })
            .mount(&server)
            .await;
        ModelServer {
            server,
            model: model.to_owned(),
        }
    }

    /// What `OPENAI_BASE_URL` should be.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    /// The bodies of every chat-completion request, in the order they came.
    pub async fn chat_requests(&self) -> Vec<Value> {
        self.server
            .received_requests()
            .await
            .expect("request recording is on")
            .iter()
            .filter(|r| r.url.path().ends_with("/chat/completions"))
            .map(|r| {
                serde_json::from_slice(&r.body).unwrap_or_else(|e| {
                    panic!(
                        "a chat request body is not JSON ({e}): {}",
                        String::from_utf8_lossy(&r.body)
                    )
                })
            })
            .collect()
    }

    /// Every request as text (method, path, headers, body), to check that
    /// nothing meant for another server (a GitHub token) reached this one.
    pub async fn all_requests_text(&self) -> String {
        let mut text = String::new();
        for r in self
            .server
            .received_requests()
            .await
            .expect("request recording is on")
        {
            let _ = writeln!(text, "{} {}", r.method, r.url);
            for (name, value) in &r.headers {
                let _ = writeln!(text, "{name}: {}", value.to_str().unwrap_or("<binary>"));
            }
            text.push_str(&String::from_utf8_lossy(&r.body));
            text.push('\n');
        }
        text
    }

    /// How many times `/v1/models` was asked.
    pub async fn model_list_requests(&self) -> usize {
        self.server
            .received_requests()
            .await
            .expect("request recording is on")
            .iter()
            .filter(|r| r.url.path().ends_with("/models"))
            .count()
    }
}

/// All message text of a chat request, joined: what the model was shown.
/// Content may be a string or a list of parts, as the API allows both.
pub fn prompt_text(request: &Value) -> String {
    let mut text = String::new();
    for message in request["messages"].as_array().into_iter().flatten() {
        match &message["content"] {
            Value::String(s) => text.push_str(s),
            Value::Array(parts) => {
                for part in parts {
                    if let Some(s) = part["text"].as_str() {
                        text.push_str(s);
                    }
                }
            }
            _ => {}
        }
        text.push('\n');
    }
    text
}
