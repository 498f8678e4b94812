//! Safety against loops and cost: a stuck loop stops early, a busy model
//! server does not use up attempts, and the token budget and the cost limit
//! are checked before each call with the call's prompt counted.

use std::time::{Duration, Instant};

use selfheal_orchestrator::{CostLimit, estimate_prompt_tokens};
use selfheal_reason::{Proposal, ReasonError, RepairRequest};
use selfheal_types::{AttemptOutcome, Outcome, TokenUsage};

use super::{
    Events, FIRST_FIX_DIFF, FURTHER_FAILURE_OUTPUT, OPS_FIXED, OPS_HALF_FIXED, Result,
    SAME_FAILURE_OUTPUT, ScriptedModel, ScriptedSandbox, Setup, failed, first_fix, passed, project,
    proposal, second_fix, tokens, tree_with, whole_fix,
};

/// Still a `NameError`: the sandbox answers [`SAME_FAILURE_OUTPUT`].
fn int_bb(new: &str, used: TokenUsage) -> Proposal {
    proposal(
        "Convert bb to an int in add()",
        &[("calc/ops.py", "a + bb - 1", new)],
        used,
    )
}

/// A reply with no edit: costs tokens, is never validated.
fn prose(used: TokenUsage) -> Proposal {
    Proposal {
        diagnosis: super::diagnosis("Something is off in add()"),
        reply: "Something is off in add(), but I cannot tell what.".to_owned(),
        tokens: used,
        prompt_ms: None,
    }
}

fn status(status: u16) -> ReasonError {
    ReasonError::Status {
        status,
        url: "http://127.0.0.1:9/v1/chat/completions".to_owned(),
        body: "slow down".to_owned(),
    }
}

/// The attempts' numbers, outcomes and whether they were validated.
fn summary(record: &selfheal_types::RepairRecord) -> Vec<(u32, AttemptOutcome, bool)> {
    record
        .attempts
        .iter()
        .map(|a| (a.number, a.outcome, a.validation.is_some()))
        .collect()
}

const HINT: &str = "hint: a larger [repair] context_token_budget or another model may get further";

#[tokio::test]
async fn the_same_change_twice_stops_before_it_is_validated_again() -> Result<()> {
    let project = project()?;
    // The second reply differs only in whitespace at the end of the line,
    // and asked again, sampled, the model says the same.
    let model = ScriptedModel::new([
        Ok(int_bb("a + int(bb) - 1", tokens(300, 40))),
        Ok(int_bb("a + int(bb) - 1  ", tokens(400, 40))),
        Ok(int_bb("a + int(bb) - 1", tokens(100, 10))),
        Ok(whole_fix(tokens(300, 40))),
    ]);
    let sandbox = ScriptedSandbox::new([Ok(failed(SAME_FAILURE_OUTPUT)), Ok(passed())]);
    let events = Events::default();

    let record = Setup::new(&project, &model, &sandbox, &events)
        .run()
        .await?;

    let reason = format!(
        "stuck: attempt 2 proposed the same change as attempt 1, which did not work; {HINT}"
    );
    assert_eq!(
        record.outcome,
        Outcome::NotFixed {
            reason: reason.clone()
        }
    );
    assert_eq!(
        summary(&record),
        [
            (1, AttemptOutcome::ValidationFailed, true),
            (2, AttemptOutcome::NoUsableEdit, false),
        ]
    );
    assert_eq!(record.attempts[1].reason.as_deref(), Some(reason.as_str()));
    // The repeated replies' tokens count; nothing after them was asked for.
    assert_eq!(record.tokens, tokens(800, 90));
    assert_eq!((model.requests().len(), model.unused()), (3, 1));
    assert_eq!(
        model.requests()[2].temperature,
        Some(0.7),
        "asked again, sampled"
    );
    assert_eq!(sandbox.seen().len(), 1);
    Ok(())
}

/// A repeated answer is asked for once more, sampled; a different change
/// then goes ahead in the same attempt.
#[tokio::test]
async fn a_repeated_change_is_asked_again_sampled_before_the_loop_gives_up() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([
        Ok(int_bb("a + int(bb) - 1", tokens(300, 40))),
        Ok(int_bb("a + int(bb) - 1", tokens(300, 40))),
        Ok(whole_fix(tokens(300, 40))),
    ]);
    let sandbox = ScriptedSandbox::new([Ok(failed(SAME_FAILURE_OUTPUT)), Ok(passed())]);
    let events = Events::default();

    let record = Setup::new(&project, &model, &sandbox, &events)
        .run()
        .await?;

    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    assert_eq!(
        summary(&record),
        [
            (1, AttemptOutcome::ValidationFailed, true),
            (2, AttemptOutcome::Validated, true),
        ]
    );
    assert_eq!(
        record.attempts[1].tokens,
        tokens(600, 80),
        "both answers count"
    );
    Ok(())
}

#[tokio::test]
async fn the_same_failure_after_two_reverted_attempts_stops_the_loop() -> Result<()> {
    let project = project()?;
    // Two different changes that leave the same NameError in the same line.
    let model = ScriptedModel::new([
        Ok(int_bb("a + int(bb) - 1", tokens(300, 40))),
        Ok(int_bb("a + float(bb) - 1", tokens(300, 40))),
        Ok(whole_fix(tokens(300, 40))),
    ]);
    let sandbox = ScriptedSandbox::new([
        Ok(failed(SAME_FAILURE_OUTPUT)),
        Ok(failed(SAME_FAILURE_OUTPUT)),
        Ok(passed()),
    ]);
    let events = Events::default();

    let record = Setup::new(&project, &model, &sandbox, &events)
        .run()
        .await?;

    assert_eq!(
        record.outcome,
        Outcome::NotFixed {
            reason: format!(
                "stuck: attempts 1 and 2 both failed with NameError: name 'bb' is not defined at calc/ops.py:2; {HINT}"
            )
        }
    );
    assert_eq!(
        summary(&record),
        [
            (1, AttemptOutcome::ValidationFailed, true),
            (2, AttemptOutcome::ValidationFailed, true),
        ]
    );
    assert_eq!((model.unused(), sandbox.seen().len()), (1, 2));
    Ok(())
}

#[tokio::test]
async fn a_failure_after_a_kept_attempt_is_progress_not_a_loop() -> Result<()> {
    let project = project()?;
    // Attempt 1 is kept and leaves `assert 4 == 5`; attempt 2 leaves the same
    // failure and is reverted; attempt 3 fixes it. Neither failure repeats a
    // reverted attempt's, and no change repeats one on the same tree.
    let detour = proposal(
        "Add one more in add()",
        &[("calc/ops.py", "a + b - 1", "a + b - 1 + 0")],
        tokens(300, 40),
    );
    let model = ScriptedModel::new([
        Ok(first_fix(tokens(300, 40))),
        Ok(detour),
        Ok(second_fix(tokens(300, 40))),
    ]);
    let sandbox = ScriptedSandbox::new([
        Ok(failed(FURTHER_FAILURE_OUTPUT)),
        Ok(failed(FURTHER_FAILURE_OUTPUT)),
        Ok(passed()),
    ]);
    let events = Events::default();

    let record = Setup::new(&project, &model, &sandbox, &events)
        .run()
        .await?;

    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    assert_eq!(
        summary(&record),
        [
            (1, AttemptOutcome::ValidationFailed, true),
            (2, AttemptOutcome::ValidationFailed, true),
            (3, AttemptOutcome::Validated, true),
        ]
    );
    assert_eq!(record.attempts[0].diff.as_deref(), Some(FIRST_FIX_DIFF));
    let seen = sandbox.seen();
    assert_eq!(
        [&seen[0].files, &seen[2].files],
        [&tree_with(OPS_HALF_FIXED), &tree_with(OPS_FIXED)]
    );
    Ok(())
}

#[tokio::test]
async fn a_rate_limited_server_is_asked_again_without_using_an_attempt() -> Result<()> {
    let project = project()?;
    let model = ScriptedModel::new([
        Err(status(429)),
        Err(status(429)),
        Ok(whole_fix(tokens(300, 40))),
    ]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.settings.max_attempts = 1;
    setup.settings.model_retry.base_delay = Duration::from_millis(20);

    let started = Instant::now();
    let record = setup.run().await?;
    let elapsed = started.elapsed();

    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    assert_eq!(summary(&record), [(1, AttemptOutcome::Validated, true)]);
    assert_eq!(record.tokens, tokens(300, 40));
    // The same request three times, after waiting 20 ms and then 40 ms.
    let requests = model.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!((&requests[0], &requests[0]), (&requests[1], &requests[2]));
    assert!(elapsed >= Duration::from_millis(60), "{elapsed:?}");
    Ok(())
}

#[tokio::test]
async fn a_server_that_keeps_failing_fails_the_attempt_once_retries_run_out() -> Result<()> {
    let project = project()?;
    let mut replies: Vec<std::result::Result<Proposal, ReasonError>> =
        (0..4).map(|_| Err(status(503))).collect();
    replies.push(Ok(whole_fix(tokens(300, 40))));
    let model = ScriptedModel::new(replies);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();

    let record = Setup::new(&project, &model, &sandbox, &events)
        .run()
        .await?;

    // One call and three retries, then the attempt fails as a retryable
    // model error always did, and the next attempt starts afresh.
    assert_eq!(
        record.attempts[0].reason.as_deref(),
        Some(format!("model: {}", status(503)).as_str())
    );
    assert_eq!(
        summary(&record),
        [
            (1, AttemptOutcome::Error, false),
            (2, AttemptOutcome::Validated, true),
        ]
    );
    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    assert_eq!(model.requests().len(), 5);
    Ok(())
}

/// The request of a second attempt that follows a reply without an edit,
/// as a repair with room to spare sends it.
async fn second_request() -> Result<RepairRequest> {
    let project = project()?;
    // An answer without an edit is asked for again, sampled, within the
    // attempt; the third request is attempt 2's.
    let model = ScriptedModel::new([
        Ok(prose(tokens(10_000, 1_000))),
        Ok(prose(tokens(0, 0))),
        Ok(whole_fix(tokens(1, 1))),
    ]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();
    let record = Setup::new(&project, &model, &sandbox, &events)
        .run()
        .await?;
    assert!(record.outcome.is_fixed(), "{:?}", record.outcome);
    let mut requests = model.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests[1].previous.is_empty());
    Ok(requests.remove(2))
}

/// A repair whose first reply has no edit, under `budget` tokens and `cost`.
async fn capped(budget: u64, cost: Option<CostLimit>) -> Result<(Outcome, usize)> {
    let project = project()?;
    // The answer asked for again within attempt 1 is free here, so that
    // the arithmetic is the first call's.
    let model = ScriptedModel::new([
        Ok(prose(tokens(10_000, 1_000))),
        Ok(prose(tokens(0, 0))),
        Ok(whole_fix(tokens(1, 1))),
    ]);
    let sandbox = ScriptedSandbox::new([Ok(passed())]);
    let events = Events::default();
    let mut setup = Setup::new(&project, &model, &sandbox, &events);
    setup.settings.total_token_budget = budget;
    setup.settings.cost = cost;
    let record = setup.run().await?;
    Ok((record.outcome, model.requests().len()))
}

#[tokio::test]
async fn the_next_prompt_is_counted_before_the_call_against_the_budget() -> Result<()> {
    let estimate = estimate_prompt_tokens(&second_request().await?);
    // The earlier attempt's outcome is part of the prompt, so more than the
    // first request's few hundred tokens of excerpt and files.
    assert!(estimate > 100, "{estimate}");

    // 11,000 spent: one token short of room for the second prompt.
    let budget = 11_000 + estimate - 1;
    let (outcome, calls) = capped(budget, None).await?;
    assert_eq!(
        (outcome, calls),
        (
            Outcome::NotFixed {
                reason: format!(
                    "token budget of {budget} would be exceeded by attempt 2: 11000 tokens used, and its prompt is about {estimate} more; hint: raise [repair] total_token_budget"
                )
            },
            2
        )
    );
    // Exactly enough room: the call is made.
    let (outcome, calls) = capped(11_000 + estimate, None).await?;
    assert!(outcome.is_fixed(), "{outcome:?}");
    assert_eq!(calls, 3);
    Ok(())
}

#[tokio::test]
async fn the_cost_limit_stops_before_a_call_that_would_cost_too_much() -> Result<()> {
    let estimate = estimate_prompt_tokens(&second_request().await?);
    // $10 per million prompt tokens, $30 per million completion tokens: the
    // first call cost $0.13; the limit leaves less than the next prompt's cost.
    let prices = CostLimit {
        max_usd: 0.1305,
        usd_per_million_prompt: 10.0,
        usd_per_million_completion: 30.0,
    };
    let next = estimate as f64 * 10.0 / 1e6;
    assert!(
        0.13 + next > 0.1305,
        "the next prompt must cost over $0.0005: {estimate}"
    );
    // Four decimals, trailing zeros dropped down to cents.
    let next = format!("{next:.4}");
    let next = next
        .strip_suffix("00")
        .or_else(|| next.strip_suffix('0'))
        .unwrap_or(&next);

    // No room either for asking attempt 1's answer again: one call.
    let (outcome, calls) = capped(100_000, Some(prices)).await?;
    assert_eq!(
        (outcome, calls),
        (
            Outcome::NotFixed {
                reason: format!(
                    "cost limit of $0.1305 would be exceeded by attempt 2: $0.13 spent (10000 prompt and 1000 completion tokens), and its prompt costs about ${next} more; hint: raise [repair] cost_limit_usd"
                )
            },
            1
        )
    );
    // A limit with room for the second call lets it happen.
    let roomy = CostLimit {
        max_usd: 1.0,
        ..prices
    };
    let (outcome, calls) = capped(100_000, Some(roomy)).await?;
    assert!(outcome.is_fixed(), "{outcome:?}");
    assert_eq!(calls, 3);
    Ok(())
}
