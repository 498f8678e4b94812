//! Turns a model's reply into edits, applies them to a tree in memory, and
//! shows the result as unified diffs.
//!
//! The reply's text is the contract, not the `response_format` we asked for:
//! servers that enforce a JSON schema return `{"diagnosis", "edits": [{file,
//! old, new}]}`, others return whatever the model felt like. So
//! [`parse_reply`] reads, leniently and in or out of Markdown fences, JSON
//! edits, unified diffs (placed by content, not line numbers), aider-style
//! SEARCH/REPLACE blocks and whole files in fences labelled with their path.
//! Every place that forgives sloppy model output says so in a comment.
//!
//! [`plan`] then reads the files under a root (a temporary checkout, never
//! the user's), applies every edit in memory and returns a [`ChangeSet`]:
//! all edits or none, with every failure's reason in one error so the next
//! attempt can be told. Paths are checked before any read: absolute paths,
//! `..` above the root, `.git` and symlinks that lead out are refused by
//! name. [`ChangeSet::write_to`] writes the result; the orchestrator shows
//! [`ChangeSet::unified_diff`] for approval and records it.
//!
//! ```
//! let reply = r#"{"edits": [{"file": "calc.py", "old": "a - b", "new": "a + b"}]}"#;
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("calc.py"), "def add(a, b):\n    return a - b\n")?;
//! let edits = selfheal_patch::parse_reply(reply)?;
//! let change = selfheal_patch::plan(dir.path(), &edits)?;
//! assert_eq!(change.paths(), ["calc.py"]);
//! change.write_to(dir.path())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod apply;
mod change;
mod edit;
mod error;
mod matching;
mod parse;
mod safety;

pub use apply::{plan, plan_over};
pub use change::{ChangeSet, DiffStat, FileChange};
pub use edit::{Edit, Hunk, HunkLine};
pub use error::{EditFailure, PatchError};
pub use parse::{ParsedReply, ReplyFormat, parse_reply, parse_reply_full, reply_schema};
