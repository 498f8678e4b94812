//! The reply: the JSON shape asked for, and reading a diagnosis out of what came back.

use selfheal_types::Diagnosis;
use serde_json::{Value, json};

/// Longest summary kept: it becomes a commit subject.
const SUMMARY_MAX: usize = 100;
/// Longest root cause kept from a prose reply.
const ROOT_CAUSE_MAX: usize = 1200;

/// The JSON schema sent as `response_format` (strict: every key required, no others):
/// `{diagnosis: {summary, root_cause, test_is_wrong}, edits: [{file, old, new}]}`.
pub fn reply_json_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "diagnosis": {
                "type": "object",
                "properties": {
                    "summary": {
                        "type": "string",
                        "description": "One line saying what the fix does, fit for a commit subject."
                    },
                    "root_cause": {
                        "type": "string",
                        "description": "Why the failure happens and what the fix changes."
                    },
                    "test_is_wrong": {
                        "type": "string",
                        "description": "Empty when the code under test is wrong (the usual case). Only when the failing test itself is wrong: why."
                    }
                },
                "required": ["summary", "root_cause", "test_is_wrong"],
                "additionalProperties": false
            },
            "edits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "description": "Path of a file shown in the prompt, exactly as shown."
                        },
                        "old": {
                            "type": "string",
                            "description": "Text copied exactly from the file, occurring once in it."
                        },
                        "new": {
                            "type": "string",
                            "description": "The replacement text."
                        }
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

/// The diagnosis in a reply, as well as it can be made out; empty strings when
/// the reply holds none. Never an error: the edits matter more than the words,
/// and a missing diagnosis must not throw away a usable patch.
pub(crate) fn extract_diagnosis(reply: &str) -> Diagnosis {
    if let Some(d) = json_object(reply).and_then(|v| from_json(&v)) {
        return d;
    }
    from_prose(reply)
}

/// The reply's JSON object, leniently: bare, inside a code fence, or between
/// the first `{` and the last `}` when a model wrapped it in chatter.
pub(crate) fn json_object(reply: &str) -> Option<Value> {
    let trimmed = reply.trim();
    let candidates = [
        Some(trimmed),
        strip_fence(trimmed),
        trimmed
            .find('{')
            .zip(trimmed.rfind('}'))
            .filter(|(a, b)| a < b)
            .map(|(a, b)| &trimmed[a..=b]),
    ];
    candidates.into_iter().flatten().find_map(|c| {
        serde_json::from_str::<Value>(c)
            .ok()
            .filter(Value::is_object)
    })
}

fn strip_fence(text: &str) -> Option<&str> {
    let body = text.strip_prefix("```")?;
    let body = &body[body.find('\n')? + 1..];
    Some(body.trim_end().strip_suffix("```")?.trim())
}

fn from_json(v: &Value) -> Option<Diagnosis> {
    fn text(v: Option<&Value>) -> &str {
        v.and_then(Value::as_str).map_or("", str::trim)
    }
    // Accept the asked-for nesting, a flattened object, or a bare string diagnosis.
    let (summary, root_cause, test_is_wrong) = match v.get("diagnosis") {
        Some(Value::Object(d)) => (
            text(d.get("summary")),
            text(d.get("root_cause")),
            text(d.get("test_is_wrong")),
        ),
        Some(Value::String(s)) => ("", s.trim(), ""),
        _ => (
            text(v.get("summary")),
            text(v.get("root_cause")),
            text(v.get("test_is_wrong")),
        ),
    };
    if summary.is_empty() && root_cause.is_empty() {
        return None;
    }
    let summary = if summary.is_empty() {
        first_sentence(root_cause)
    } else {
        one_line(summary)
    };
    Some(Diagnosis {
        summary,
        root_cause: root_cause.to_owned(),
        test_is_wrong: (!test_is_wrong.is_empty()).then(|| test_is_wrong.to_owned()),
    })
}

/// Labels models put before the text that matters; a line that is only a label says nothing.
const LABELS: &[&str] = &[
    "diagnosis",
    "summary",
    "root cause",
    "analysis",
    "explanation",
    "problem",
    "issue",
    "cause",
    "fix",
    "the fix",
    "solution",
    "proposed fix",
    "patch",
    "edits",
    "changes",
];

/// Prose replies (a server that ignored `response_format`, or structured
/// output switched off): the first paragraph of text outside code blocks and
/// diffs is the root cause, its first sentence the summary.
fn from_prose(reply: &str) -> Diagnosis {
    let mut in_fence = false;
    // An unfenced diff runs to the next blank line; its `-` lines are code, not bullets.
    let mut in_diff = false;
    let mut paragraph: Vec<String> = Vec::new();
    for raw in reply.lines() {
        let line = raw.trim();
        if line.starts_with("```") || line.starts_with("~~~") {
            in_fence = !in_fence;
            if !paragraph.is_empty() {
                break;
            }
            continue;
        }
        if ["--- ", "+++ ", "@@", "diff --git"]
            .iter()
            .any(|p| line.starts_with(p))
        {
            in_diff = true;
        } else if line.is_empty() {
            in_diff = false;
        }
        if in_fence || in_diff || line.is_empty() {
            if paragraph.is_empty() {
                continue;
            }
            break;
        }
        let text = strip_label(&strip_markup(line));
        if text.is_empty() {
            // A heading or label on its own ends nothing yet: the text follows it.
            if paragraph.is_empty() {
                continue;
            }
            break;
        }
        paragraph.push(text);
    }
    let root_cause = truncate(&paragraph.join(" "), ROOT_CAUSE_MAX);
    Diagnosis {
        summary: first_sentence(&root_cause),
        root_cause,
        test_is_wrong: None,
    }
}

fn strip_markup(line: &str) -> String {
    let line = line.trim_start_matches('#').trim_start();
    let line = line
        .strip_prefix("- ")
        .or_else(|| line.strip_prefix("* "))
        .or_else(|| line.strip_prefix("> "))
        .unwrap_or(line);
    line.replace("**", "").replace("__", "").trim().to_owned()
}

fn strip_label(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    for label in LABELS {
        if let Some(rest) = lower.strip_prefix(label) {
            let rest_trim = rest.trim_start();
            if rest_trim.is_empty() {
                return String::new();
            }
            if let Some(after) = rest_trim.strip_prefix(':') {
                let skip = line.len() - after.len();
                return line[skip..].trim().to_owned();
            }
        }
    }
    line.to_owned()
}

fn first_sentence(text: &str) -> String {
    let text = one_line(text);
    let end = text
        .char_indices()
        .find(|&(i, c)| matches!(c, '.' | '!' | '?') && text[i + c.len_utf8()..].starts_with(' '))
        .map_or(text.len(), |(i, _)| i);
    let sentence = text[..end].trim_end_matches(['.', '!', '?']).trim();
    truncate(sentence, SUMMARY_MAX)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cut at a word boundary, never inside a character.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &text[..cut];
    let head = head.rfind(' ').map_or(head, |i| &head[..i]);
    format!("{}…", head.trim_end_matches([',', ';', ':', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(summary: &str, root_cause: &str) -> Diagnosis {
        Diagnosis {
            summary: summary.into(),
            root_cause: root_cause.into(),
            test_is_wrong: None,
        }
    }

    #[test]
    fn structured_reply_gives_its_diagnosis() {
        let reply = r#"{"diagnosis":{"summary":"use subtraction in sub","root_cause":"sub() adds."},"edits":[]}"#;
        assert_eq!(
            extract_diagnosis(reply),
            diag("use subtraction in sub", "sub() adds.")
        );
    }

    #[test]
    fn fenced_and_wrapped_json_is_found() {
        let fenced =
            "```json\n{\"diagnosis\":{\"summary\":\"s\",\"root_cause\":\"r\"},\"edits\":[]}\n```";
        assert_eq!(extract_diagnosis(fenced), diag("s", "r"));
        let chatty =
            "Sure! Here it is: {\"summary\": \"s2\", \"root_cause\": \"r2\"} Hope this helps.";
        assert_eq!(extract_diagnosis(chatty), diag("s2", "r2"));
    }

    #[test]
    fn missing_summary_is_taken_from_the_root_cause() {
        let reply = r#"{"diagnosis":{"summary":"","root_cause":"The loop stops early. It skips the last item."},"edits":[]}"#;
        assert_eq!(extract_diagnosis(reply).summary, "The loop stops early");
    }

    #[test]
    fn prose_reply_gives_first_sentence_as_summary() {
        let reply = "## Diagnosis\n\n**Root cause:** `sub` adds its arguments instead of subtracting them. The test expects 1.\n\n```diff\n--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-    return a + b\n+    return a - b\n```\n";
        assert_eq!(
            extract_diagnosis(reply),
            diag(
                "`sub` adds its arguments instead of subtracting them",
                "`sub` adds its arguments instead of subtracting them. The test expects 1."
            )
        );
    }

    #[test]
    fn reply_with_only_a_diff_has_an_empty_diagnosis() {
        let reply = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n";
        assert_eq!(extract_diagnosis(reply), Diagnosis::default());
        assert_eq!(extract_diagnosis(""), Diagnosis::default());
    }

    #[test]
    fn the_reason_a_test_is_wrong_is_kept_and_an_empty_one_is_none() {
        let says = r#"{"diagnosis": {"summary": "s", "root_cause": "r", "test_is_wrong": " The spec says 10%. "}, "edits": []}"#;
        assert_eq!(
            extract_diagnosis(says).test_is_wrong.as_deref(),
            Some("The spec says 10%.")
        );
        let silent = r#"{"diagnosis": {"summary": "s", "root_cause": "r", "test_is_wrong": "  "}, "edits": []}"#;
        assert_eq!(extract_diagnosis(silent).test_is_wrong, None);
        let flat = r#"{"summary": "s", "root_cause": "r", "test_is_wrong": "wrong fixture name"}"#;
        assert_eq!(
            extract_diagnosis(flat).test_is_wrong.as_deref(),
            Some("wrong fixture name")
        );
    }

    #[test]
    fn long_summaries_are_cut_at_a_word() {
        let long = format!("{} end", "word ".repeat(40));
        let s = first_sentence(&long);
        assert!(s.len() <= SUMMARY_MAX + '…'.len_utf8(), "{s}");
        assert!(s.ends_with("word…"), "{s}");
    }

    #[test]
    fn schema_is_strict_everywhere() {
        let schema = reply_json_schema();
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["properties"]["diagnosis"]["additionalProperties"],
            false
        );
        assert_eq!(
            schema["properties"]["edits"]["items"]["additionalProperties"],
            false
        );
        assert_eq!(
            schema["properties"]["edits"]["items"]["required"],
            json!(["file", "old", "new"])
        );
    }
}
