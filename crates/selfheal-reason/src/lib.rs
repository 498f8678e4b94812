//! The reasoner: turns a failure and its source into a question for a language
//! model, and its answer into a [`Proposal`].
//!
//! One attempt is one chat-completion call through async-openai, so any
//! OpenAI-compatible server works (`OpenAI`, vLLM, llama.cpp, `Ollama`). The
//! prompt comes from three Markdown templates (`config/prompts/`, compiled in,
//! overridable per file from a folder) filled by `{{placeholder}}`
//! substitution. The model is asked for one JSON object, `{diagnosis, edits}`,
//! enforced with `response_format: json_schema` where the server supports it.
//!
//! This crate reads only the diagnosis out of the reply. The edits stay in
//! [`Proposal::reply`] as raw text for `selfheal-patch`, which parses them
//! leniently; keeping the two apart means a server that ignores the schema
//! and answers in prose or diffs still yields a usable proposal.
//!
//! [`collect_context`] picks which source the model sees, within a token budget.

mod client;
mod context;
mod error;
mod prompt;
mod reply;

use std::time::Duration;

pub use client::Reasoner;
pub use context::collect_context;
pub use context::collect_context_in;
pub use error::ReasonError;
pub use prompt::{PLACEHOLDERS, Prompts};
pub use reply::reply_json_schema;

/// Whatever answers a [`RepairRequest`] with a [`Proposal`]: the
/// OpenAI-compatible [`Reasoner`] in the binary, scripted models in tests,
/// and later a ladder of models or a cache of recorded replies.
#[async_trait::async_trait]
pub trait RepairModel: Send + Sync {
    /// The model's name, for the record.
    fn name(&self) -> &str;

    /// One answer to one request. [`ReasonError::is_retryable`] tells the
    /// loop whether another attempt may get a better answer.
    async fn propose(&self, req: &RepairRequest) -> Result<Proposal, ReasonError>;
}

/// How to reach the model and how to ask it.
#[derive(Clone, PartialEq)]
pub struct LlmSettings {
    /// Up to and including the API version (`http://127.0.0.1:8080/v1`).
    pub base_url: String,
    /// `None` sends no `Authorization` header, as local servers expect.
    pub api_key: Option<String>,
    pub model: String,
    pub temperature: f32,
    pub max_tokens: u32,
    /// For the whole request, reply included.
    pub timeout: Duration,
    /// Send `response_format: json_schema`.
    pub structured_output: bool,
}

// Hand-written so that the key never reaches a log line.
impl std::fmt::Debug for LlmSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("temperature", &self.temperature)
            .field("max_tokens", &self.max_tokens)
            .field("timeout", &self.timeout)
            .field("structured_output", &self.structured_output)
            .finish()
    }
}

/// A source file, or an excerpt of one, to show the model.
///
/// An excerpt marks the lines it leaves out with one line of the form
/// `... [lines A-B not shown]`, so the prompt still numbers lines as in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Relative to the repository root, `/`-separated.
    pub path: String,
    pub content: String,
}

/// What an earlier attempt did and why it was not enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousAttempt {
    pub number: u32,
    /// The unified diff it applied, if it got that far.
    pub diff: Option<String>,
    /// One line: why it failed.
    pub outcome: String,
    /// The part of the validation output where it failed.
    pub validation_excerpt: Option<String>,
    /// Its change stayed in the tree (it made progress); otherwise it was undone.
    pub kept: bool,
}

/// What the commit CI tested changed, as the model is shown it: most red
/// runs are regressions, and this diff is where a reviewer looks first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentChange {
    /// The commit's abbreviated sha.
    pub commit: String,
    /// The first line of its message.
    pub subject: String,
    /// A unified diff against its first parent, already cut to fit the
    /// prompt: whole files, the ones the failure involves first.
    pub diff: String,
    /// Files the commit changed that `diff` leaves out (budget, binary, size).
    pub not_shown: Vec<String>,
    /// Every file the commit changed is a test: the code under test is as
    /// it was before it, so a test it added that fails may expect the wrong thing.
    pub only_tests: bool,
}

/// Everything the model is shown for one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct RepairRequest {
    pub failure: selfheal_types::Failure,
    /// The log lines that show the failure.
    pub excerpt: String,
    pub files: Vec<SourceFile>,
    /// Earlier attempts, oldest first; empty on the first.
    pub previous: Vec<PreviousAttempt>,
    /// What the commit CI tested changed, when the repository has its parent.
    pub recent_change: Option<RecentChange>,
    /// Sampling temperature for this request; `None`: the configured one.
    /// Candidates after the first are sampled above zero.
    pub temperature: Option<f32>,
}

/// The model's answer to one [`RepairRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// From the reply's JSON, or its first sentences when it was prose;
    /// empty strings when it had none.
    pub diagnosis: selfheal_types::Diagnosis,
    /// The raw text, parsed for edits by selfheal-patch.
    pub reply: String,
    /// From the response's `usage`; zero when the server sent none.
    pub tokens: selfheal_types::TokenUsage,
    /// Milliseconds the server says it spent on the prompt (`timings.prompt_ms`
    /// of llama.cpp), when it says.
    pub prompt_ms: Option<u64>,
}
