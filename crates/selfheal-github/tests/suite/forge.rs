//! Pull requests and comments.

use selfheal_fakehub::{FakePull, Fault};
use selfheal_monitor::{Comment, Forge, NewPullRequest, PullRequest};

use super::{FULL, client, hub};

const MARKER: &str = "<!-- selfheal:run-42 -->";

fn new_pull(labels: &[&str], draft: bool) -> NewPullRequest {
    NewPullRequest {
        title: "Fix test_parser".to_owned(),
        body: format!("The parser test failed.\n\n{MARKER}"),
        head_branch: "selfheal/fix-42".to_owned(),
        base_branch: "main".to_owned(),
        draft,
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
    }
}

#[tokio::test]
async fn a_pull_request_is_opened_then_labelled() {
    let hub = hub().start().expect("the fake starts");
    let opened = client(&hub, FULL)
        .open_pull_request(&new_pull(&["selfheal", "ci-fix"], true))
        .await
        .expect("opened");
    let stored = hub.pull_requests();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        opened,
        PullRequest {
            number: 1,
            url: "https://github.com/octo/widgets/pull/1".to_owned(),
            title: "Fix test_parser".to_owned(),
            body: format!("The parser test failed.\n\n{MARKER}"),
            head_branch: "selfheal/fix-42".to_owned(),
            head_sha: stored[0].head_sha.clone(),
            head_repository: Some("octo/widgets".to_owned()),
            base_branch: "main".to_owned(),
        }
    );
    assert_eq!(stored[0].labels, vec!["selfheal", "ci-fix"]);
    assert!(stored[0].draft);
    assert_eq!(stored[0].author, "mona");
    let sent = hub.requests_to("POST", "/repos/octo/widgets/pulls")[0]
        .body_json()
        .expect("a JSON body");
    assert_eq!(
        sent,
        serde_json::json!({
            "title": "Fix test_parser",
            "body": format!("The parser test failed.\n\n{MARKER}"),
            "head": "selfheal/fix-42",
            "base": "main",
            "draft": true
        })
    );
}

#[tokio::test]
async fn a_labels_failure_is_a_warning_not_an_error() {
    let hub = hub().start().expect("the fake starts");
    hub.fail_next("/repos/octo/widgets/issues/1/labels", 1, Fault::Status(422));
    let opened = client(&hub, FULL)
        .open_pull_request(&new_pull(&["selfheal"], false))
        .await
        .expect("opened despite the labels");
    assert_eq!(opened.number, 1);
    assert_eq!(hub.pull_requests()[0].labels, Vec::<String>::new());
    assert_eq!(
        hub.requests_to("POST", "/repos/octo/widgets/issues/1/labels")
            .len(),
        1
    );
}

#[tokio::test]
async fn draft_refused_by_the_plan_opens_a_ready_pull_request() {
    let hub = hub().start().expect("the fake starts");
    hub.fail_next(
        "/repos/octo/widgets/pulls",
        1,
        Fault::Message {
            status: 422,
            message: "Draft pull requests are not supported in this repository.",
        },
    );
    let opened = client(&hub, FULL)
        .open_pull_request(&new_pull(&[], true))
        .await
        .expect("opened");
    assert_eq!(opened.number, 1);
    assert!(!hub.pull_requests()[0].draft);
}

#[tokio::test]
async fn open_pull_requests_are_found_by_marker_newest_first() {
    let hub = hub()
        .pull_request(
            FakePull::new(1, "selfheal/a")
                .body(&format!("old\n{MARKER}"))
                .created_at("2026-01-01T00:00:00Z"),
        )
        .pull_request(FakePull::new(2, "feature").body("unrelated"))
        .pull_request(
            FakePull::new(3, "selfheal/b")
                .body(&format!("new\n{MARKER}"))
                .created_at("2026-02-01T00:00:00Z"),
        )
        .pull_request(
            FakePull::new(4, "selfheal/c")
                .body(MARKER)
                .created_at("2026-03-01T00:00:00Z")
                .closed(),
        )
        .start()
        .expect("the fake starts");
    let found = client(&hub, FULL)
        .find_open_pull_requests(MARKER)
        .await
        .expect("found");
    assert_eq!(
        found.iter().map(|p| p.number).collect::<Vec<_>>(),
        vec![3, 1]
    );
    assert_eq!(found[0].body, format!("new\n{MARKER}"));
}

#[tokio::test]
async fn open_pull_requests_are_read_across_pages() {
    let mut builder = hub();
    for n in 1..=130_u64 {
        let body = if n.is_multiple_of(2) { MARKER } else { "other" };
        builder = builder.pull_request(FakePull::new(n, &format!("b{n}")).body(body));
    }
    let hub = builder.start().expect("the fake starts");
    let found = client(&hub, FULL)
        .find_open_pull_requests(MARKER)
        .await
        .expect("found");
    assert_eq!(found.len(), 65);
    assert_eq!(found[0].number, 130);
    assert_eq!(found[64].number, 2);
    assert_eq!(hub.requests_to("GET", "/repos/octo/widgets/pulls").len(), 2);
}

#[tokio::test]
async fn a_pull_request_is_updated() {
    let hub = hub()
        .pull_request(FakePull::new(5, "selfheal/fix").body("v1"))
        .start()
        .expect("the fake starts");
    let updated = client(&hub, FULL)
        .update_pull_request(5, "Fix, take two", "v2")
        .await
        .expect("updated");
    assert_eq!(
        (updated.title.as_str(), updated.body.as_str()),
        ("Fix, take two", "v2")
    );
    let stored = &hub.pull_requests()[0];
    assert_eq!(
        (stored.title.as_str(), stored.body.as_str()),
        ("Fix, take two", "v2")
    );
    assert_eq!(
        hub.requests_to("PATCH", "/repos/octo/widgets/pulls/5")[0].body_json(),
        Some(serde_json::json!({"title": "Fix, take two", "body": "v2"}))
    );
}

#[tokio::test]
async fn the_pull_request_for_a_branch_is_looked_up_by_owner_and_branch() {
    let hub = hub()
        .pull_request(FakePull::new(1, "fix").head_repository("forker/widgets"))
        .pull_request(FakePull::new(2, "fix"))
        .pull_request(FakePull::new(3, "old").closed())
        .start()
        .expect("the fake starts");
    let client = client(&hub, FULL);
    let fork = client
        .pull_request_for_branch("forker", "fix")
        .await
        .expect("looked up");
    assert_eq!(
        fork.map(|p| (p.number, p.head_repository)),
        Some((1, Some("forker/widgets".to_owned())))
    );
    let own = client
        .pull_request_for_branch("octo", "fix")
        .await
        .expect("looked up");
    assert_eq!(own.map(|p| p.number), Some(2));
    assert_eq!(
        client
            .pull_request_for_branch("octo", "old")
            .await
            .expect("looked up"),
        None
    );
    let asked: Vec<Option<String>> = hub
        .requests_to("GET", "/repos/octo/widgets/pulls")
        .iter()
        .map(|r| r.query_param("head"))
        .collect();
    assert_eq!(
        asked,
        vec![
            Some("forker:fix".to_owned()),
            Some("octo:fix".to_owned()),
            Some("octo:old".to_owned())
        ]
    );
}

#[tokio::test]
async fn upserting_a_comment_twice_leaves_one_comment() {
    let hub = hub()
        .pull_request(FakePull::new(7, "fix"))
        .comment(7, "someone", "looks flaky to me")
        .start()
        .expect("the fake starts");
    let client = client(&hub, FULL);
    let first = client
        .upsert_comment(7, MARKER, &format!("attempt 1\n{MARKER}"))
        .await
        .expect("created");
    let second = client
        .upsert_comment(7, MARKER, &format!("attempt 2\n{MARKER}"))
        .await
        .expect("edited");
    assert_eq!(first.id, second.id);
    assert_eq!(
        second,
        Comment {
            id: first.id,
            url: format!(
                "https://github.com/octo/widgets/pull/7#issuecomment-{}",
                first.id
            ),
            body: format!("attempt 2\n{MARKER}"),
        }
    );
    let bodies: Vec<String> = hub.comments(7).into_iter().map(|c| c.body).collect();
    assert_eq!(
        bodies,
        vec![
            "looks flaky to me".to_owned(),
            format!("attempt 2\n{MARKER}")
        ]
    );
    assert_eq!(
        hub.requests_to(
            "PATCH",
            &format!("/repos/octo/widgets/issues/comments/{}", first.id)
        )
        .len(),
        1
    );

    // The same text again changes nothing, so nobody is notified.
    client
        .upsert_comment(7, MARKER, &format!("attempt 2\n{MARKER}"))
        .await
        .expect("unchanged");
    assert_eq!(
        hub.requests_to(
            "PATCH",
            &format!("/repos/octo/widgets/issues/comments/{}", first.id)
        )
        .len(),
        1
    );
}

#[tokio::test]
async fn a_comment_without_its_marker_gets_it_appended() {
    let hub = hub()
        .pull_request(FakePull::new(7, "fix"))
        .start()
        .expect("the fake starts");
    let client = client(&hub, FULL);
    client
        .upsert_comment(7, MARKER, "plain")
        .await
        .expect("created");
    client
        .upsert_comment(7, MARKER, "plainer")
        .await
        .expect("edited");
    let bodies: Vec<String> = hub.comments(7).into_iter().map(|c| c.body).collect();
    assert_eq!(bodies, vec![format!("plainer\n\n{MARKER}")]);
}

#[tokio::test]
async fn an_empty_marker_is_refused() {
    let hub = hub().start().expect("the fake starts");
    let client = client(&hub, FULL);
    assert!(client.find_open_pull_requests(" ").await.is_err());
    assert!(client.upsert_comment(1, "", "x").await.is_err());
    assert_eq!(hub.requests().len(), 0);
}

#[tokio::test]
async fn the_default_branch_is_the_repository_s() {
    let hub = hub()
        .default_branch("trunk")
        .start()
        .expect("the fake starts");
    assert_eq!(
        client(&hub, FULL).default_branch().await.expect("read"),
        "trunk"
    );
}
