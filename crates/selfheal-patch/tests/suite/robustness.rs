//! Bad input gives error values, never panics.
//!
//! Every scenario reply cut short at every character (the way a reply is cut
//! off by a token limit or a dropped stream), plus hand-picked oddities, goes
//! through parsing and planning; the test fails if anything panics.

use std::path::{Path, PathBuf};

use selfheal_patch::{parse_reply, plan};

fn parse_and_plan(root: &Path, reply: &str) {
    if let Ok(edits) = parse_reply(reply) {
        // Planning reads only; the fixture's input is never written.
        let _ = plan(root, &edits);
    }
}

#[test]
fn truncated_replies_never_panic() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenarios");
    let dirs: Vec<PathBuf> = std::fs::read_dir(&base)
        .expect("scenarios folder")
        .map(|e| e.expect("dir entry").path())
        .collect();
    let mut runs = 0;
    for dir in dirs {
        let Ok(reply) = std::fs::read_to_string(dir.join("reply.txt")) else {
            continue;
        };
        let root = dir.join("input");
        for (cut, _) in reply.char_indices() {
            parse_and_plan(&root, &reply[..cut]);
            runs += 1;
        }
    }
    assert!(runs > 1000, "only {runs} truncations ran");
}

#[test]
fn odd_replies_never_panic() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("é.py"), "ü = 1\n").expect("write");
    let odd = [
        "```",
        "````\n```\n",
        "<<<<<<<",
        "<<<<<<< SEARCH\n=======\n>>>>>>> REPLACE",
        "é.py\n<<<<<<< SEARCH\nü = 1\n=======\n>>>>>>> REPLACE\n",
        "--- \n+++ \n@@",
        "--- a/é.py\n+++ b/é.py\n@@ -99999999999999999999999 @@\n-ü = 1\n+ü = 2\n",
        "--- a/é.py\n+++ b/é.py\n+only an addition\n",
        "{\"edits\": [null, 1, \"x\"]}",
        "[{\"file\": 3, \"new\": []}]",
        "\"{\\\"edits\\\": [{\\\"file\\\": \\\"é.py\\\", \\\"old\\\": \\\"ü\\\", \\\"new\\\": \\\"ö\\\"}]}\"",
        "Fïlé: é.py\n```\nü = 2\n```",
        "```python é.py\n# ...\n```",
        "\u{feff}\r\n\r\n",
        "@@\n-\n+\n",
        "~~~ é.py\n~~~",
        "{{{{{{{{{{[[[[[[[[[[",
    ];
    for reply in odd {
        parse_and_plan(tmp.path(), reply);
    }
}
