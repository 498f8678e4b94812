//! The chat-completion call, through async-openai, against any OpenAI-compatible server.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::Config;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, ResponseFormat,
    ResponseFormatJsonSchema,
};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::SecretString;
use selfheal_types::TokenUsage;
use serde_json::Value;

use crate::reply::{extract_diagnosis, reply_json_schema};
use crate::{LlmSettings, Prompts, Proposal, ReasonError, RepairRequest};

/// Server address and key, and nothing else.
///
/// async-openai's `OpenAIConfig` always sends `Authorization: Bearer ...`
/// (empty when there is no key) and reads `OPENAI_*` variables from the
/// process itself. Local servers want no header at all, and selfheal resolves
/// its environment in one place (`selfheal-config`), so this small `Config`
/// sends the header only when there is a key and reads nothing.
#[derive(Clone, Debug)]
struct ServerConfig {
    api_base: String,
    api_key: SecretString,
    auth: Option<HeaderValue>,
}

impl Config for ServerConfig {
    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(auth) = &self.auth {
            headers.insert(AUTHORIZATION, auth.clone());
        }
        headers
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_base)
    }

    fn query(&self) -> Vec<(&str, &str)> {
        Vec::new()
    }

    fn api_base(&self) -> &str {
        &self.api_base
    }

    fn api_key(&self) -> &SecretString {
        &self.api_key
    }
}

/// Asks the model for a diagnosis and edits, one chat completion per attempt.
#[derive(Debug)]
pub struct Reasoner {
    client: Client<ServerConfig>,
    settings: LlmSettings,
    prompts: Prompts,
}

/// Only the parts of a chat completion selfheal uses, every one optional:
/// servers differ in what else they send and in what they leave out.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct WireReply {
    choices: Option<Vec<WireChoice>>,
    usage: Option<WireUsage>,
    /// llama.cpp's own measurements (`prompt_ms`, `predicted_ms`, ...).
    timings: Option<WireTimings>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct WireTimings {
    prompt_ms: Option<f64>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct WireChoice {
    message: WireMessage,
    finish_reason: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct WireMessage {
    /// A string, or (some servers) a list of `{type: "text", text}` parts.
    content: Value,
    refusal: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct WireUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

impl Reasoner {
    pub fn new(settings: LlmSettings, prompts: Prompts) -> Result<Self, ReasonError> {
        let api_base = settings.base_url.trim().trim_end_matches('/').to_owned();
        match url::Url::parse(&api_base) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(ReasonError::Settings(format!(
                    "base URL {api_base:?} is not an http or https URL"
                )));
            }
        }
        if settings.timeout.is_zero() {
            return Err(ReasonError::Settings(
                "the timeout must be greater than 0".into(),
            ));
        }
        if settings.model.trim().is_empty() {
            return Err(ReasonError::Settings(
                "no model name; hint: set SELFHEAL_MODEL or [llm] model".into(),
            ));
        }
        let key = settings
            .api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty());
        let auth = match key {
            None => None,
            Some(k) => {
                let mut v = HeaderValue::from_str(&format!("Bearer {k}")).map_err(|_| {
                    ReasonError::Settings(
                        "the API key holds characters an HTTP header cannot carry".into(),
                    )
                })?;
                v.set_sensitive(true);
                Some(v)
            }
        };
        // reqwest is built without a default crypto provider (no aws-lc); it
        // panics without one, so make sure ring is installed. A provider the
        // binary installed first stays: this call then returns Err and is ignored.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| ReasonError::Settings(format!("cannot build the HTTP client: {e}")))?;
        let config = ServerConfig {
            api_base,
            api_key: SecretString::from(key.unwrap_or_default().to_owned()),
            auth,
        };
        Ok(Self {
            client: Client::build(http, config),
            settings,
            prompts,
        })
    }

    pub fn settings(&self) -> &LlmSettings {
        &self.settings
    }

    fn url(&self, path: &str) -> String {
        self.client.config().url(path)
    }

    /// The request [`Reasoner::propose`] sends, for `--dry-run` style inspection and tests.
    pub fn build_request(
        &self,
        req: &RepairRequest,
    ) -> Result<CreateChatCompletionRequest, ReasonError> {
        let (system, user) = self.prompts.render(req)?;
        let messages: Vec<ChatCompletionRequestMessage> = vec![
            ChatCompletionRequestSystemMessage::from(system.as_str()).into(),
            ChatCompletionRequestUserMessage::from(user).into(),
        ];
        let response_format = self
            .settings
            .structured_output
            .then(|| ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: Some(
                        "A diagnosis of the CI failure and the edits that fix it".into(),
                    ),
                    name: "selfheal_repair".into(),
                    schema: reply_json_schema(),
                    strict: Some(true),
                },
            });
        // `max_tokens` rather than `max_completion_tokens`: every compatible
        // server (vLLM, llama.cpp, Ollama) understands it, the newer name not yet.
        #[allow(deprecated)]
        let request = CreateChatCompletionRequest {
            model: self.settings.model.trim().to_owned(),
            messages,
            temperature: Some(req.temperature.unwrap_or(self.settings.temperature)),
            max_tokens: Some(self.settings.max_tokens),
            response_format,
            ..CreateChatCompletionRequest::default()
        };
        Ok(request)
    }

    /// One chat completion: the diagnosis, the raw reply (for `selfheal-patch`
    /// to read edits from) and the tokens spent.
    pub async fn propose(&self, req: &RepairRequest) -> Result<Proposal, ReasonError> {
        let request = self.build_request(req)?;
        let url = self.url("/chat/completions");
        tracing::debug!(
            model = %request.model,
            files = req.files.len(),
            previous = req.previous.len(),
            "asking the model"
        );
        let body: Value = self
            .client
            .chat()
            .create_byot(&request)
            .await
            .map_err(|e| self.map_error(e, &url))?;
        let wire: WireReply =
            serde_json::from_value(body.clone()).map_err(|_| ReasonError::BadReply {
                url: url.clone(),
                excerpt: excerpt(&body.to_string()),
            })?;
        let tokens = wire.usage.map_or_else(TokenUsage::default, |u| TokenUsage {
            prompt: u.prompt_tokens,
            completion: u.completion_tokens,
        });
        let Some(choices) = wire.choices else {
            // Some servers answer 200 with an error object instead of a status.
            if let Some(err) = body.get("error") {
                return Err(ReasonError::Server {
                    url,
                    message: error_message(err),
                });
            }
            return Err(ReasonError::BadReply {
                url,
                excerpt: excerpt(&body.to_string()),
            });
        };
        let model = request.model.clone();
        let Some(choice) = choices.into_iter().next() else {
            return Err(ReasonError::EmptyReply {
                model,
                finish_reason: None,
            });
        };
        let reply = content_text(&choice.message.content);
        if reply.trim().is_empty() {
            if let Some(message) = choice.message.refusal.filter(|r| !r.trim().is_empty()) {
                return Err(ReasonError::Refused { model, message });
            }
            return Err(ReasonError::EmptyReply {
                model,
                finish_reason: choice.finish_reason,
            });
        }
        if choice.finish_reason.as_deref() == Some("length") {
            tracing::warn!(
                max_tokens = self.settings.max_tokens,
                "the reply was cut off at max_tokens; its last edit may be incomplete"
            );
        }
        Ok(Proposal {
            diagnosis: extract_diagnosis(&reply),
            reply,
            tokens,
            prompt_ms: wire
                .timings
                .and_then(|t| t.prompt_ms)
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                // Whole milliseconds are plenty; the cast saturates.
                .map(|ms| ms.round() as u64),
        })
    }

    /// The model ids the server offers (`GET /models`), for `selfheal check`.
    pub async fn list_models(&self) -> Result<Vec<String>, ReasonError> {
        let url = self.url("/models");
        let body: Value = self
            .client
            .models()
            .list_byot()
            .await
            .map_err(|e| self.map_error(e, &url))?;
        let Some(data) = body.get("data").and_then(Value::as_array) else {
            return Err(ReasonError::BadReply {
                url,
                excerpt: excerpt(&body.to_string()),
            });
        };
        Ok(data
            .iter()
            .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect())
    }

    fn map_error(&self, e: OpenAIError, url: &str) -> ReasonError {
        let url = url.to_owned();
        match e {
            OpenAIError::Reqwest(e) if e.is_timeout() => ReasonError::Timeout {
                url,
                secs: self.settings.timeout.as_secs().max(1),
            },
            OpenAIError::Reqwest(e) if e.is_connect() => ReasonError::Unreachable {
                url,
                detail: error_chain(&e),
            },
            OpenAIError::Reqwest(e) => ReasonError::Http {
                url,
                detail: error_chain(&e),
            },
            OpenAIError::ApiError(api) => ReasonError::Status {
                status: api.status_code.as_u16(),
                url,
                body: excerpt(&api.api_error.to_string()),
            },
            // async-openai reports an error body it could not parse, and a
            // success body that is not JSON, the same way; an `error` or
            // `detail` key tells the first apart.
            OpenAIError::JSONDeserialize(_, content) => {
                match serde_json::from_str::<Value>(&content) {
                    Ok(v) if v.get("error").is_some() || v.get("detail").is_some() => {
                        let err = v.get("error").or_else(|| v.get("detail")).unwrap_or(&v);
                        ReasonError::Server {
                            url,
                            message: error_message(err),
                        }
                    }
                    _ => ReasonError::BadReply {
                        url,
                        excerpt: excerpt(&content),
                    },
                }
            }
            other => ReasonError::Http {
                url,
                detail: other.to_string(),
            },
        }
    }
}

/// The text of a message's content, whichever shape the server used.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str).or_else(|| p.as_str()))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

fn error_message(err: &Value) -> String {
    let text = match err {
        Value::String(s) => s.clone(),
        other => other
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| other.to_string(), str::to_owned),
    };
    excerpt(&text)
}

/// reqwest's own message is terse ("error sending request"); the causes say what happened.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// The start of a body, on one line, for error messages.
fn excerpt(text: &str) -> String {
    const MAX: usize = 300;
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.len() <= MAX {
        return flat;
    }
    let mut cut = MAX;
    while !flat.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &flat[..cut])
}

#[async_trait::async_trait]
impl crate::RepairModel for Reasoner {
    fn name(&self) -> &str {
        &self.settings.model
    }

    async fn propose(&self, req: &RepairRequest) -> Result<Proposal, ReasonError> {
        Reasoner::propose(self, req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_parts_are_joined() {
        let parts =
            serde_json::json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]);
        assert_eq!(content_text(&parts), "ab");
        assert_eq!(content_text(&Value::Null), "");
    }

    #[test]
    fn excerpts_are_one_bounded_line() {
        let long = "x\n".repeat(500);
        let e = excerpt(&long);
        assert!(!e.contains('\n'));
        assert!(e.chars().count() <= 301);
    }
}
