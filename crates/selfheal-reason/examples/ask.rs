//! One real proposal from a live OpenAI-compatible server, for trying a model by hand:
//!
//! ```text
//! cargo run -p selfheal-reason --example ask -- http://127.0.0.1:8089/v1 local-model [plain]
//! ```
//!
//! Writes a two-file project with an off-by-one bug to a temporary folder,
//! collects its context the way a repair does, and prints what came back.
//!
//! Tried in November 2026 against llama.cpp's `llama-server` (built from source,
//! 2 loaded CPU cores) with Qwen2.5-Coder-1.5B-Instruct (`Q4_K_M`): 578 prompt and
//! about 120 completion tokens, 2.5 to 4 minutes while other builds ran. With
//! `json_schema` the reply was exactly the asked-for object; in `plain` mode it
//! came back fenced and the diagnosis was still read from it. The 1.5B model's
//! edit was wrong both times: the plumbing works, small models guess.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use selfheal_reason::{LlmSettings, Prompts, Reasoner, RepairRequest, collect_context};
use selfheal_types::{Category, Failure, LineSpan, Location};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let base_url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8089/v1".into());
    let model = args.next().unwrap_or_else(|| "local-model".into());
    let structured_output = args.next().as_deref() != Some("plain");
    let _ = rustls::crypto::ring::default_provider().install_default();

    let repo = tempfile::tempdir()?;
    std::fs::create_dir_all(repo.path().join("tests"))?;
    std::fs::write(
        repo.path().join("calc.py"),
        "def total(prices):\n    \"\"\"Sum of all prices.\"\"\"\n    result = 0\n    for i in range(len(prices) - 1):\n        result += prices[i]\n    return result\n",
    )?;
    std::fs::write(
        repo.path().join("tests/test_calc.py"),
        "from calc import total\n\n\ndef test_total():\n    assert total([1, 2, 3]) == 6\n",
    )?;
    let failure = Failure {
        category: Category::TestFailure,
        tool: "pytest".into(),
        message: "assert 3 == 6".into(),
        test: Some("tests/test_calc.py::test_total".into()),
        locations: vec![Location {
            file: "calc.py".into(),
            line: Some(5),
            column: None,
        }],
        job: None,
        step: None,
        log_file: None,
        log_span: LineSpan::new(1, 8),
        fingerprint: "example".into(),
        flaky: None,
    };
    let request = RepairRequest {
        files: collect_context(repo.path(), &failure, 6000),
        failure,
        excerpt: "    def test_total():\n>       assert total([1, 2, 3]) == 6\nE       assert 3 == 6\nE        +  where 3 = total([1, 2, 3])\n\ntests/test_calc.py:5: AssertionError".into(),
        previous: Vec::new(),
        recent_change: None,
        temperature: None,
    };
    let reasoner = Reasoner::new(
        LlmSettings {
            base_url,
            api_key: None,
            model,
            temperature: 0.0,
            max_tokens: 1024,
            timeout: Duration::from_secs(300),
            structured_output,
        },
        Prompts::builtin(),
    )?;
    println!("models: {:?}", reasoner.list_models().await?);
    let started = Instant::now();
    let proposal = reasoner.propose(&request).await?;
    println!("elapsed: {:.1}s", started.elapsed().as_secs_f64());
    println!("tokens: {:?}", proposal.tokens);
    println!("diagnosis: {:#?}", proposal.diagnosis);
    println!("reply:\n{}", proposal.reply);
    Ok(())
}
