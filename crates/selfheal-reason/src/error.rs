use std::path::PathBuf;

/// Why the reasoner could not produce a proposal.
///
/// [`ReasonError::is_retryable`] says which are worth another call: network
/// trouble, time-outs, rate limits, server errors and empty replies. Note that
/// async-openai already retries connect errors, 429 and 5xx three times with
/// back-off (100, 200, 400 ms), or after the server's `Retry-After` seconds
/// when it sends one, before any of these reaches the caller.
#[derive(Debug, thiserror::Error)]
pub enum ReasonError {
    /// No TCP connection (refused, DNS, TLS handshake).
    #[error(
        "cannot reach the model server at {url}: {detail}; hint: is the server running? set OPENAI_BASE_URL or [llm] base_url"
    )]
    Unreachable { url: String, detail: String },
    /// The server answered with a non-success status.
    #[error("model server answered {status} for {url}: {body}{}", status_hint(*status))]
    Status {
        status: u16,
        url: String,
        /// The start of the error body or message.
        body: String,
    },
    /// The server answered with an error object whose status the client could not keep.
    #[error(
        "model server returned an error for {url}: {message}{}",
        message_hint(message)
    )]
    Server { url: String, message: String },
    #[error(
        "model server at {url} did not answer within {secs}s; hint: raise [llm] timeout_secs or use a smaller model"
    )]
    Timeout { url: String, secs: u64 },
    /// Some other transport failure while sending or receiving.
    #[error("request to the model server at {url} failed: {detail}")]
    Http { url: String, detail: String },
    /// The body was not a chat completion at all.
    #[error(
        "model server at {url} sent something that is not a chat completion: {excerpt}; hint: check that base_url points at the OpenAI-compatible API (it usually ends in /v1)"
    )]
    BadReply { url: String, excerpt: String },
    /// A chat completion with no text in it.
    #[error("model {model} sent an empty reply (finish reason: {})", finish_reason.as_deref().unwrap_or("none"))]
    EmptyReply {
        model: String,
        finish_reason: Option<String>,
    },
    /// The model declined to answer.
    #[error("model {model} refused: {message}")]
    Refused { model: String, message: String },
    /// [`crate::LlmSettings`] that cannot work (bad URL, zero timeout, key with line breaks).
    #[error("invalid model settings: {0}")]
    Settings(String),
    #[error("cannot read prompt template {}: {source}", path.display())]
    PromptRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("prompt folder {} does not exist; hint: fix [prompts] dir or remove it to use the built-in templates", path.display())]
    PromptDir { path: PathBuf },
    #[error(
        "unknown placeholder {{{{{placeholder}}}}} in {template} line {line}; hint: known placeholders are {}",
        crate::prompt::PLACEHOLDERS.join(", ")
    )]
    UnknownPlaceholder {
        /// The template's path, or `built-in NAME`.
        template: String,
        placeholder: String,
        line: usize,
    },
}

impl ReasonError {
    /// Whether calling again, unchanged, may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ReasonError::Unreachable { .. }
            | ReasonError::Timeout { .. }
            | ReasonError::Http { .. }
            | ReasonError::EmptyReply { .. } => true,
            ReasonError::Status { status, .. } => {
                matches!(status, 408 | 409 | 425 | 429) || *status >= 500
            }
            ReasonError::Server { .. }
            | ReasonError::BadReply { .. }
            | ReasonError::Refused { .. }
            | ReasonError::Settings(_)
            | ReasonError::PromptRead { .. }
            | ReasonError::PromptDir { .. }
            | ReasonError::UnknownPlaceholder { .. } => false,
        }
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        400 => "; hint: if the server rejects response_format, set [llm] structured_output = false",
        401 | 403 => {
            "; hint: set OPENAI_API_KEY (or the variable named by [llm] api_key_env) to a valid key"
        }
        404 => {
            "; hint: check the model name (SELFHEAL_MODEL or [llm] model) and that base_url ends in /v1"
        }
        429 => "; hint: rate limited or out of quota; wait, or check the account's limits",
        _ => "",
    }
}

/// Servers that do not follow `OpenAI`'s error shape (`Ollama` says
/// `{"error": "model \"x\" not found"}`) lose their status on the way through
/// async-openai, so the hint is guessed from the words instead.
fn message_hint(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("model") && (m.contains("not found") || m.contains("does not exist")) {
        status_hint(404)
    } else if m.contains("api key") || m.contains("unauthorized") || m.contains("authentication") {
        status_hint(401)
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_follow_the_status() {
        let e = ReasonError::Status {
            status: 401,
            url: "http://h/v1/chat/completions".into(),
            body: "bad key".into(),
        };
        assert!(e.to_string().contains("hint: set OPENAI_API_KEY"), "{e}");
        assert!(!e.is_retryable());
        let e = ReasonError::Status {
            status: 503,
            url: "u".into(),
            body: String::new(),
        };
        assert!(e.is_retryable());
        let e = ReasonError::Server {
            url: "u".into(),
            message: "model \"qwen\" not found, try pulling it first".into(),
        };
        assert!(e.to_string().contains("SELFHEAL_MODEL"), "{e}");
    }

    #[test]
    fn placeholder_error_shows_braces() {
        let e = ReasonError::UnknownPlaceholder {
            template: "built-in repair.md".into(),
            placeholder: "mesage".into(),
            line: 3,
        };
        assert!(
            e.to_string()
                .starts_with("unknown placeholder {{mesage}} in built-in repair.md line 3; hint: known placeholders are message, "),
            "{e}"
        );
    }
}
