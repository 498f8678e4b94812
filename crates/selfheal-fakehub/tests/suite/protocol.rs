//! The fake's HTTP behaviour, seen through a bare blocking client, which
//! also shows the fake needs no Tokio runtime in the test.

use std::io::{Read, Write};
use std::net::TcpStream;

use selfheal_fakehub::{
    FakeHub, FakePull, FakeRun, FakeToken, Fault, Permissions, RecordedRequest, logs_zip,
};

const TOKEN: &str = "ghp_protocoltesttoken00000000000000000";
const READ_ONLY: &str = "github_pat_readonly0000000000000000000";
const ACTIONS: &str = "ghs_installationtoken000000000000000000";

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// One HTTP/1.1 exchange over a fresh connection; `url` is absolute.
fn send(
    method: &str,
    url: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
    body: &str,
) -> Answer {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let target = if target.is_empty() { "/" } else { target };
    let mut stream = TcpStream::connect(authority).expect("the fake accepts connections");
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(token) = token {
        request = request + "Authorization: Bearer " + token + "\r\n";
    }
    for (name, value) in extra {
        request = request + name + ": " + value + "\r\n";
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("request sent");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("answer read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn get(hub: &FakeHub, path: &str, token: Option<&str>) -> Answer {
    send("GET", &format!("{}{path}", hub.url()), token, &[], "")
}

fn hub_with_runs(count: u64) -> FakeHub {
    let mut builder = FakeHub::builder("octo/widgets")
        .token(TOKEN, FakeToken::classic("mona", &["repo"]))
        .token(
            READ_ONLY,
            FakeToken::fine_grained("reader", Permissions::read_only()),
        )
        .token(ACTIONS, FakeToken::installation(Permissions::all_write()));
    for id in 1..=count {
        let run = FakeRun::new(id).head_branch(if id % 2 == 0 { "main" } else { "dev" });
        builder = builder.run(run);
    }
    builder.start().expect("the fake starts")
}

fn ids(answer: &Answer) -> Vec<u64> {
    answer.json()["workflow_runs"]
        .as_array()
        .map(|runs| runs.iter().filter_map(|r| r["id"].as_u64()).collect())
        .unwrap_or_default()
}

#[test]
fn runs_paginate_newest_first_with_link_headers() {
    let hub = hub_with_runs(5);
    let first = get(
        &hub,
        "/repos/octo/widgets/actions/runs?per_page=2",
        Some(TOKEN),
    );
    assert_eq!(first.status, 200);
    assert_eq!(ids(&first), vec![5, 4]);
    assert_eq!(first.json()["total_count"], 5);
    let base = format!("{}/repos/octo/widgets/actions/runs", hub.url());
    assert_eq!(
        first.header("link"),
        Some(
            format!(
                "<{base}?per_page=2&page=2>; rel=\"next\", <{base}?per_page=2&page=3>; rel=\"last\""
            )
            .as_str()
        )
    );
    let last = get(
        &hub,
        "/repos/octo/widgets/actions/runs?per_page=2&page=3",
        Some(TOKEN),
    );
    assert_eq!(ids(&last), vec![1]);
    assert_eq!(
        last.header("link"),
        Some(
            format!(
                "<{base}?per_page=2&page=2>; rel=\"prev\", <{base}?per_page=2&page=1>; rel=\"first\""
            )
            .as_str()
        )
    );
    let filtered = get(
        &hub,
        "/repos/octo/widgets/actions/runs?branch=dev&status=failure",
        Some(TOKEN),
    );
    assert_eq!(ids(&filtered), vec![5, 3, 1]);
}

#[test]
fn tokens_are_checked_and_permissions_enforced() {
    let hub = hub_with_runs(1);
    let missing = get(&hub, "/repos/octo/widgets", None);
    assert_eq!(
        (missing.status, missing.json()["message"].as_str()),
        (401, Some("Requires authentication"))
    );
    let wrong = get(&hub, "/repos/octo/widgets", Some("ghp_wrong"));
    assert_eq!(
        (wrong.status, wrong.json()["message"].as_str()),
        (401, Some("Bad credentials"))
    );

    let repo = get(&hub, "/repos/octo/widgets", Some(READ_ONLY));
    assert_eq!(repo.json()["permissions"]["push"], false);
    let create = send(
        "POST",
        &format!("{}/repos/octo/widgets/pulls", hub.url()),
        Some(READ_ONLY),
        &[],
        r#"{"title":"t","head":"fix","base":"main"}"#,
    );
    assert_eq!(create.status, 403);
    assert_eq!(
        create.json()["message"],
        "Resource not accessible by personal access token"
    );
    assert_eq!(
        create.header("x-accepted-github-permissions"),
        Some("pull_requests=write")
    );

    // Actions' token: no /user, and no pull requests while the repository forbids it.
    let user = get(&hub, "/user", Some(ACTIONS));
    assert_eq!(
        (user.status, user.json()["message"].as_str()),
        (403, Some("Resource not accessible by integration"))
    );
    let create = send(
        "POST",
        &format!("{}/repos/octo/widgets/pulls", hub.url()),
        Some(ACTIONS),
        &[],
        r#"{"title":"t","head":"fix","base":"main"}"#,
    );
    assert_eq!(create.status, 403);
    assert_eq!(
        create.json()["message"],
        "GitHub Actions is not permitted to create or approve pull requests."
    );

    let classic = get(&hub, "/repos/octo/widgets", Some(TOKEN));
    assert_eq!(classic.header("x-oauth-scopes"), Some("repo"));
    assert_eq!(get(&hub, "/repos/octo/other", Some(TOKEN)).status, 404);
}

#[test]
fn missing_repository_answers_404_everywhere_below_it() {
    let hub = FakeHub::builder("octo/gone")
        .token(TOKEN, FakeToken::classic("mona", &["repo"]))
        .repository_missing()
        .start()
        .expect("the fake starts");
    assert_eq!(get(&hub, "/repos/octo/gone", Some(TOKEN)).status, 404);
    assert_eq!(
        get(&hub, "/repos/octo/gone/actions/runs", Some(TOKEN)).status,
        404
    );
    assert_eq!(get(&hub, "/user", Some(TOKEN)).status, 200);
}

#[test]
fn faults_answer_the_next_requests_to_their_path_then_stop() {
    let hub = hub_with_runs(1);
    let path = "/repos/octo/widgets/actions/runs";
    hub.fail_next(path, 1, Fault::TooManyRequests { retry_after: 1 });
    hub.fail_next(path, 1, Fault::SecondaryRateLimit { retry_after: 2 });
    hub.fail_next(path, 1, Fault::RateLimitExhausted { reset_in: 30 });
    hub.fail_next(path, 1, Fault::BadGateway);
    let first = get(&hub, path, Some(TOKEN));
    assert_eq!(
        (first.status, first.header("retry-after")),
        (429, Some("1"))
    );
    let second = get(&hub, path, Some(TOKEN));
    assert_eq!(
        (second.status, second.header("retry-after")),
        (403, Some("2"))
    );
    assert!(second.body.contains("secondary rate limit"));
    let third = get(&hub, path, Some(TOKEN));
    assert_eq!(
        (third.status, third.header("x-ratelimit-remaining")),
        (403, Some("0"))
    );
    let reset: i64 = third
        .header("x-ratelimit-reset")
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    assert!(reset > 1_700_000_000);
    assert_eq!(get(&hub, path, Some(TOKEN)).status, 502);
    assert_eq!(get(&hub, path, Some(TOKEN)).status, 200);
    // Each fault was used once, in order, and recorded with its status.
    assert_eq!(
        hub.requests().iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![429, 403, 403, 502, 200]
    );
}

#[test]
fn a_disconnect_fault_closes_the_connection_unanswered() {
    let hub = hub_with_runs(1);
    hub.fail_next("/repos/octo/widgets", 1, Fault::Disconnect);
    assert_eq!(get(&hub, "/repos/octo/widgets", Some(TOKEN)).status, 0);
    assert_eq!(get(&hub, "/repos/octo/widgets", Some(TOKEN)).status, 200);
}

#[test]
fn a_repeated_get_with_the_etag_is_answered_304_without_a_body() {
    let hub = hub_with_runs(1);
    let first = get(&hub, "/repos/octo/widgets", Some(TOKEN));
    let etag = first.header("etag").expect("an etag").to_owned();
    let again = send(
        "GET",
        &format!("{}/repos/octo/widgets", hub.url()),
        Some(TOKEN),
        &[("If-None-Match", &etag)],
        "",
    );
    assert_eq!((again.status, again.body.as_str()), (304, ""));
    assert_eq!(
        again.header("x-ratelimit-used"),
        first.header("x-ratelimit-used")
    );
}

#[test]
fn logs_redirect_to_a_short_lived_url_on_the_second_listener() {
    let zip = logs_zip(&[("0_build.txt", "error: boom\n")]);
    let hub = FakeHub::builder("octo/widgets")
        .token(TOKEN, FakeToken::classic("mona", &["repo"]))
        .run(FakeRun::new(9).logs_zip(zip))
        .run(FakeRun::new(8).logs_expired())
        .run(FakeRun::new(7))
        .start()
        .expect("the fake starts");
    let redirect = get(&hub, "/repos/octo/widgets/actions/runs/9/logs", Some(TOKEN));
    assert_eq!(redirect.status, 302);
    let location = redirect.header("location").expect("a location").to_owned();
    assert!(location.starts_with(&hub.downloads_url()), "{location}");
    assert_ne!(hub.api_addr().port(), hub.downloads_addr().port());

    let with_token = send("GET", &location, Some(TOKEN), &[], "");
    assert_eq!(with_token.status, 400);
    let plain = send("GET", &location, None, &[], "");
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-type"), Some("application/zip"));

    let seen: Vec<(u16, Option<String>)> = hub
        .download_requests()
        .iter()
        .map(|r: &RecordedRequest| (r.status, r.header("authorization").map(str::to_owned)))
        .collect();
    assert_eq!(
        seen,
        vec![(400, Some(format!("Bearer {TOKEN}"))), (200, None)]
    );
    assert_eq!(
        get(&hub, "/repos/octo/widgets/actions/runs/8/logs", Some(TOKEN)).status,
        410
    );
    assert_eq!(
        get(&hub, "/repos/octo/widgets/actions/runs/7/logs", Some(TOKEN)).status,
        404
    );
}

#[test]
fn a_path_prefix_is_served_and_links_keep_it() {
    let hub = FakeHub::builder("octo/widgets")
        .path_prefix("/api/v3")
        .token(TOKEN, FakeToken::classic("mona", &["repo"]))
        .pull_request(FakePull::new(1, "a"))
        .pull_request(FakePull::new(2, "b"))
        .start()
        .expect("the fake starts");
    assert!(hub.url().ends_with("/api/v3"));
    let page = get(&hub, "/repos/octo/widgets/pulls?per_page=1", Some(TOKEN));
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("link"),
        Some(format!("<{}/repos/octo/widgets/pulls?per_page=1&page=2>; rel=\"next\", <{}/repos/octo/widgets/pulls?per_page=1&page=2>; rel=\"last\"", hub.url(), hub.url()).as_str())
    );
    let outside = send(
        "GET",
        &format!(
            "{}/repos/octo/widgets",
            hub.downloads_url().replace(
                &hub.downloads_addr().port().to_string(),
                &hub.api_addr().port().to_string(),
            )
        ),
        Some(TOKEN),
        &[],
        "",
    );
    assert_eq!(outside.status, 404);
    let recorded = hub.requests();
    assert_eq!(recorded[0].path, "/repos/octo/widgets/pulls");
    assert_eq!(recorded[0].query_param("per_page").as_deref(), Some("1"));
}

#[test]
fn pull_requests_filter_by_head_owner_and_state_and_refuse_duplicates() {
    let hub = FakeHub::builder("octo/widgets")
        .token(TOKEN, FakeToken::classic("mona", &["repo"]))
        .pull_request(FakePull::new(1, "fix").head_repository("forker/widgets"))
        .pull_request(FakePull::new(2, "fix"))
        .pull_request(FakePull::new(3, "old").closed())
        .start()
        .expect("the fake starts");
    let numbers = |answer: Answer| -> Vec<u64> {
        answer
            .json()
            .as_array()
            .map(|a| a.iter().filter_map(|p| p["number"].as_u64()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        numbers(get(
            &hub,
            "/repos/octo/widgets/pulls?head=forker:fix",
            Some(TOKEN)
        )),
        vec![1]
    );
    assert_eq!(
        numbers(get(
            &hub,
            "/repos/octo/widgets/pulls?head=octo%3Afix&state=open",
            Some(TOKEN)
        )),
        vec![2]
    );
    assert_eq!(
        numbers(get(
            &hub,
            "/repos/octo/widgets/pulls?state=all",
            Some(TOKEN)
        )),
        vec![3, 2, 1]
    );
    let duplicate = send(
        "POST",
        &format!("{}/repos/octo/widgets/pulls", hub.url()),
        Some(TOKEN),
        &[],
        r#"{"title":"t","head":"fix","base":"main"}"#,
    );
    assert_eq!(duplicate.status, 422);
    assert!(
        duplicate
            .body
            .contains("A pull request already exists for octo:fix.")
    );
    let created = send(
        "POST",
        &format!("{}/repos/octo/widgets/pulls", hub.url()),
        Some(TOKEN),
        &[],
        r#"{"title":"t","head":"other","base":"main","draft":true}"#,
    );
    assert_eq!(
        (created.status, created.json()["number"].as_u64()),
        (201, Some(4))
    );
    assert_eq!(created.json()["draft"], true);
}
