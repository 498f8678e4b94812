//! From a reply's text to [`Edit`]s.
//!
//! JSON edits are looked for first, since that is what we ask for and what
//! schema-enforcing servers return; when there are none, one pass over the
//! text collects diffs, SEARCH/REPLACE blocks and labelled whole files, in
//! any mix. Anything that looked like an edit but could not be read fails the
//! whole reply: applying the rest would be a patch the model did not write.

mod json;
mod text;

use selfheal_types::Diagnosis;

pub use json::reply_schema;

use crate::PatchError;
use crate::edit::Edit;

/// The form the reply's edits came in, for records and for tuning prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyFormat {
    Json,
    UnifiedDiff,
    SearchReplace,
    WholeFile,
    /// Free-form edits in more than one of the forms above.
    Mixed,
}

impl ReplyFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyFormat::Json => "json",
            ReplyFormat::UnifiedDiff => "unified_diff",
            ReplyFormat::SearchReplace => "search_replace",
            ReplyFormat::WholeFile => "whole_file",
            ReplyFormat::Mixed => "mixed",
        }
    }
}

/// Everything usable in a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedReply {
    /// Only the JSON form carries one.
    pub diagnosis: Option<Diagnosis>,
    pub edits: Vec<Edit>,
    pub format: ReplyFormat,
}

/// The edits in a reply, in whatever form it gave them.
pub fn parse_reply(reply: &str) -> Result<Vec<Edit>, PatchError> {
    parse_reply_full(reply).map(|parsed| parsed.edits)
}

/// Like [`parse_reply`], also returning the diagnosis and the form found.
pub fn parse_reply_full(reply: &str) -> Result<ParsedReply, PatchError> {
    if reply.trim().is_empty() {
        return Err(PatchError::NoEdits {
            reason: "the reply is empty".to_owned(),
        });
    }
    let reply = reply.replace("\r\n", "\n");
    let mut diagnosis = None;
    if let Some(found) = json::parse(&reply) {
        let found = found?;
        if !found.edits.is_empty() {
            return Ok(ParsedReply {
                diagnosis: found.diagnosis,
                edits: found.edits,
                format: ReplyFormat::Json,
            });
        }
        diagnosis = found.diagnosis;
    }
    let found = text::parse(&reply);
    if !found.problems.is_empty() {
        let reason = found.problems.join("; ");
        return Err(if found.edits.is_empty() {
            PatchError::NoEdits { reason }
        } else {
            PatchError::Malformed { reason }
        });
    }
    let Some(first) = found.edits.first().map(|(_, f)| *f) else {
        let reason = match found.unlabelled_blocks {
            0 if diagnosis.is_some() => "the reply's JSON has a diagnosis but no `edits` list".to_owned(),
            0 => "the reply is prose only; answer with JSON edits, a unified diff, SEARCH/REPLACE blocks or a code block labelled with its path".to_owned(),
            n => format!(
                "the reply has {n} code block{} but none names its file; label each block with its path (```python src/app.py) or answer with JSON edits",
                if n == 1 { "" } else { "s" }
            ),
        };
        return Err(PatchError::NoEdits { reason });
    };
    let format = if found.edits.iter().all(|(_, f)| *f == first) {
        first
    } else {
        ReplyFormat::Mixed
    };
    Ok(ParsedReply {
        diagnosis,
        edits: found.edits.into_iter().map(|(e, _)| e).collect(),
        format,
    })
}
