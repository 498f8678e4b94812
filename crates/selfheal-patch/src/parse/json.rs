//! The preferred form: `{"diagnosis": {...}, "edits": [{"file", "old", "new"}]}`.
//!
//! Lenient on purpose, because servers that ignore `response_format` wrap
//! the JSON in prose or fences, and models rename keys: the first JSON value
//! anywhere in the reply that has the shape of edits wins, and each key has
//! aliases.

use selfheal_types::Diagnosis;
use serde_json::{Map, Value};

use crate::PatchError;
use crate::edit::Edit;

const LIST_KEYS: [&str; 4] = ["edits", "changes", "patches", "replacements"];
const FILE_KEYS: [&str; 5] = ["file", "path", "filename", "file_path", "filepath"];
const OLD_KEYS: [&str; 6] = ["old", "search", "original", "old_text", "find", "before"];
const NEW_KEYS: [&str; 6] = [
    "new",
    "replace",
    "updated",
    "new_text",
    "replacement",
    "after",
];
const CONTENT_KEYS: [&str; 3] = ["content", "contents", "new_content"];

/// JSON edits found in the reply; no edits when the JSON held only a
/// diagnosis.
pub(super) struct JsonReply {
    pub diagnosis: Option<Diagnosis>,
    pub edits: Vec<Edit>,
}

/// `None` when the reply holds no JSON shaped like edits, so other formats
/// get their turn.
pub(super) fn parse(text: &str) -> Option<Result<JsonReply, PatchError>> {
    // A reply that is one JSON string was encoded twice by the server or model.
    if text.trim_start().starts_with('"')
        && let Ok(inner) = serde_json::from_str::<String>(text.trim())
    {
        return parse(&inner);
    }
    let mut from = 0;
    let mut tries = 0;
    while let Some(offset) = text[from..].find(['{', '[']) {
        let start = from + offset;
        tries += 1;
        if tries > 500 {
            break;
        }
        let mut values = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        match values.next() {
            Some(Ok(value)) => {
                if let Some(found) = interpret(&value, 0) {
                    return Some(found);
                }
                // Skip the whole value: its inner braces were part of it.
                from = start + values.byte_offset().max(1);
            }
            _ => from = start + 1,
        }
    }
    None
}

fn interpret(value: &Value, depth: usize) -> Option<Result<JsonReply, PatchError>> {
    match value {
        Value::Object(obj) => {
            if let Some(list) = LIST_KEYS
                .iter()
                .find_map(|k| obj.get(*k).and_then(Value::as_array))
            {
                return Some(edits_from(list).map(|edits| JsonReply {
                    diagnosis: diagnosis(obj),
                    edits,
                }));
            }
            if is_edit(obj) {
                return Some(edit_from(0, obj).map(|edit| JsonReply {
                    diagnosis: diagnosis(obj),
                    edits: vec![edit],
                }));
            }
            // A diagnosis without edits: the edits may follow in another
            // form, so the caller looks for them in the rest of the text.
            if depth == 0 && obj.contains_key("diagnosis") {
                return Some(Ok(JsonReply {
                    diagnosis: diagnosis(obj),
                    edits: Vec::new(),
                }));
            }
            // Lenient: some servers wrap the answer (`{"result": {...}}`).
            if depth < 2 {
                return obj.values().find_map(|v| interpret(v, depth + 1));
            }
            None
        }
        Value::Array(items) if items.iter().any(|v| v.as_object().is_some_and(is_edit)) => {
            Some(edits_from(items).map(|edits| JsonReply {
                diagnosis: None,
                edits,
            }))
        }
        _ => None,
    }
}

fn get_str<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))
}

/// A text field, also when the model sent it as an array of lines
/// (lenient: some models do, to avoid escaping newlines).
fn get_text(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match obj.get(*k)? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let lines: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            lines.map(|lines| {
                let mut text = lines.join("\n");
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text
            })
        }
        _ => None,
    })
}

fn is_edit(obj: &Map<String, Value>) -> bool {
    get_str(obj, &FILE_KEYS).is_some()
        && (get_text(obj, &NEW_KEYS).is_some() || get_text(obj, &CONTENT_KEYS).is_some())
}

fn edits_from(items: &[Value]) -> Result<Vec<Edit>, PatchError> {
    if items.is_empty() {
        return Err(PatchError::NoEdits {
            reason: "the reply's list of edits is empty".to_owned(),
        });
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item.as_object() {
            Some(obj) => edit_from(i, obj),
            None => Err(PatchError::Malformed {
                reason: format!(
                    "edit {} is not an object with `file`, `old` and `new`",
                    i + 1
                ),
            }),
        })
        .collect()
}

fn edit_from(i: usize, obj: &Map<String, Value>) -> Result<Edit, PatchError> {
    let n = i + 1;
    let Some(file) = get_str(obj, &FILE_KEYS) else {
        return Err(PatchError::Malformed {
            reason: format!("edit {n} has no `file`"),
        });
    };
    let file = file.to_owned();
    if let Some(new) = get_text(obj, &NEW_KEYS) {
        // A missing or null `old` means "create": plan refuses it if the
        // file already has content, so this leniency cannot clobber a file.
        let old = get_text(obj, &OLD_KEYS).unwrap_or_default();
        return Ok(Edit::Replace { file, old, new });
    }
    if let Some(content) = get_text(obj, &CONTENT_KEYS) {
        return Ok(Edit::WholeFile { file, content });
    }
    Err(PatchError::Malformed {
        reason: format!("edit {n} ({file}) has no `new` text"),
    })
}

fn diagnosis(obj: &Map<String, Value>) -> Option<Diagnosis> {
    let text = |o: &Map<String, Value>, keys: &[&str]| get_str(o, keys).map(str::to_owned);
    let summary_keys = ["summary", "title"];
    let cause_keys = ["root_cause", "cause", "explanation", "reason"];
    match obj.get("diagnosis") {
        Some(Value::Object(d)) => Some(Diagnosis {
            summary: text(d, &summary_keys).unwrap_or_default(),
            root_cause: text(d, &cause_keys).unwrap_or_default(),
            test_is_wrong: None,
        }),
        Some(Value::String(s)) => Some(Diagnosis {
            summary: s.lines().next().unwrap_or_default().to_owned(),
            root_cause: s.clone(),
            test_is_wrong: None,
        }),
        _ => {
            let summary = text(obj, &summary_keys);
            let root_cause = text(obj, &cause_keys);
            (summary.is_some() || root_cause.is_some()).then(|| Diagnosis {
                summary: summary.unwrap_or_default(),
                root_cause: root_cause.unwrap_or_default(),
                test_is_wrong: None,
            })
        }
    }
}

/// The JSON schema of the preferred reply, for `response_format:
/// json_schema` (strict mode: every property required, no extras). Kept
/// here so the schema the model is held to and the parser cannot drift apart.
pub fn reply_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "diagnosis": {
                "type": "object",
                "properties": {
                    "summary": {"type": "string", "description": "one line, fit for a commit subject"},
                    "root_cause": {"type": "string", "description": "why it fails and what the fix changes"}
                },
                "required": ["summary", "root_cause"],
                "additionalProperties": false
            },
            "edits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "description": "path relative to the repository root"},
                        "old": {"type": "string", "description": "exact text to replace, copied from the file, enough lines to match once; empty to create a new file"},
                        "new": {"type": "string", "description": "the replacement text"}
                    },
                    "required": ["file", "old", "new"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["diagnosis", "edits"],
        "additionalProperties": false
    })
}
