//! The reasoner against real HTTP (wiremock on loopback, answering like an
//! OpenAI-compatible server) and real files on disk.

mod context;
mod prompts;
mod server;

use std::time::Duration;

use selfheal_reason::{LlmSettings, RepairRequest, SourceFile};
use selfheal_types::{Category, Failure, LineSpan, Location};

pub fn failure() -> Failure {
    Failure {
        category: Category::TestFailure,
        tool: "pytest".into(),
        message: "assert add(2, 2) == 4".into(),
        test: Some("tests/test_calc.py::test_add".into()),
        locations: vec![Location {
            file: "src/calc.py".into(),
            line: Some(2),
            column: None,
        }],
        job: Some("test".into()),
        step: Some("Run pytest".into()),
        log_file: None,
        log_span: LineSpan::new(10, 20),
        fingerprint: "0123456789abcdef".into(),
        flaky: None,
    }
}

pub fn request() -> RepairRequest {
    RepairRequest {
        failure: failure(),
        excerpt: "E       assert 5 == 4\nE        +  where 5 = add(2, 2)".into(),
        files: vec![SourceFile {
            path: "src/calc.py".into(),
            content: "def add(a, b):\n    return a + b + 1\n".into(),
        }],
        previous: Vec::new(),
        recent_change: None,
        temperature: None,
    }
}

pub fn settings(base_url: &str) -> LlmSettings {
    LlmSettings {
        base_url: base_url.into(),
        api_key: None,
        model: "qwen2.5-coder".into(),
        temperature: 0.0,
        max_tokens: 512,
        timeout: Duration::from_secs(10),
        structured_output: true,
    }
}
