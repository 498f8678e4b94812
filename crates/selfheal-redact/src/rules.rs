//! The built-in catalogue: one entry per secret format.
//!
//! Every rule is a regex plus the checks a regex cannot express in the
//! `regex` crate (no look-around): which bytes may not touch the match on
//! either side, which capture group holds the secret, and a validator for
//! formats that carry structure (a JWT header must decode to JSON with
//! `alg`; an assignment's value must not be a placeholder).

use base64::Engine as _;

/// What must hold around and inside a match before it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Nothing beyond the regex.
    None,
    /// The header (first part) decodes to a JSON object naming `alg`.
    Jwt,
    /// The captured value is a real value, not a placeholder, a mask or a
    /// variable reference (`${{ secrets.X }}`, `$PASS`, `***`, `<password>`).
    Value,
    /// [`Check::Value`], and the key is a config key rather than a type
    /// name in prose: `RemoveAccessPassword: migrating` (a Rails migration
    /// log) is not an assignment.
    Assignment,
    /// The match is a PEM header; the secret runs to its END line, or, when
    /// the log was cut before it, over the base64 lines that follow.
    PemBlock,
}

/// Bytes that may not sit right before or right after a match: a token
/// glued to more token characters is part of something longer (a hash, a
/// base64 blob) and is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edge {
    /// No check.
    Any,
    /// Not `[A-Za-z0-9_]`.
    Word,
    /// Not `[A-Za-z0-9_-]`.
    WordDash,
    /// Not `[A-Za-z0-9+/=]`.
    Base64,
    /// Not `[A-Za-z0-9_/]`: a key right after `//` is a URL's user name
    /// (`https://x-access-token:<token>@host`), not an assignment.
    WordSlash,
}

impl Edge {
    fn forbids(self, b: u8) -> bool {
        match self {
            Edge::Any => false,
            Edge::Word => b.is_ascii_alphanumeric() || b == b'_',
            Edge::WordDash => b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
            Edge::Base64 => b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='),
            Edge::WordSlash => b.is_ascii_alphanumeric() || matches!(b, b'_' | b'/'),
        }
    }
}

pub(crate) struct Spec {
    pub kind: &'static str,
    pub pattern: &'static str,
    /// Capture groups that may hold the secret; the first that took part is
    /// redacted. Empty: the whole match.
    pub groups: &'static [usize],
    pub before: Edge,
    pub after: Edge,
    pub check: Check,
}

const fn token(kind: &'static str, pattern: &'static str, edge: Edge) -> Spec {
    Spec {
        kind,
        pattern,
        groups: &[],
        before: edge,
        after: edge,
        check: Check::None,
    }
}

/// The catalogue. Order matters only for ties: when two rules claim the
/// same span, the earlier one names it.
pub(crate) const BUILTIN: &[Spec] = &[
    // GitHub: classic tokens are prefix + 36 base62 (the last 6 a CRC32 of
    // the first 30, which we do not require: a token that fits the shape is
    // redacted whether or not it is genuine).
    token("github-token", r"gh[pousr]_[A-Za-z0-9]{36}", Edge::Word),
    token(
        "github-pat",
        r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
        Edge::Word,
    ),
    token("gitlab-token", r"glpat-[A-Za-z0-9_-]{20}", Edge::WordDash),
    // Anthropic before OpenAI: both start with `sk-`.
    token(
        "anthropic-key",
        r"sk-ant-[a-z]{2,8}[0-9]{0,3}-[A-Za-z0-9_-]{32,}",
        Edge::WordDash,
    ),
    token(
        "openai-key",
        r"sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{32,}|sk-[A-Za-z0-9]{48}|sk-[A-Za-z0-9_-]{8,}T3BlbkFJ[A-Za-z0-9_-]{8,}",
        Edge::WordDash,
    ),
    token(
        "aws-access-key-id",
        r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}",
        Edge::Word,
    ),
    Spec {
        kind: "aws-secret-key",
        pattern: r#"(?i:aws[_-]?secret[_-]?access[_-]?key|aws[_-]?secret[_-]?key|secret[_-]?access[_-]?key)["']?[ \t]*(?:=>|=|:)[ \t]*["']?([A-Za-z0-9/+]{40})"#,
        groups: &[1],
        before: Edge::Word,
        after: Edge::Base64,
        check: Check::None,
    },
    token("google-api-key", r"AIza[0-9A-Za-z_-]{35}", Edge::WordDash),
    token(
        "slack-token",
        r"xox[abposre]-[0-9]+-[0-9A-Za-z-]{16,}|xapp-[0-9]+-[A-Za-z0-9-]{20,}",
        Edge::WordDash,
    ),
    Spec {
        kind: "slack-webhook",
        pattern: r"hooks\.slack\.com/(?:services|workflows|triggers)/(T[A-Z0-9]{6,}/[A-Za-z0-9/]{16,})",
        groups: &[1],
        before: Edge::Any,
        after: Edge::Word,
        check: Check::None,
    },
    token(
        "stripe-key",
        r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}",
        Edge::Word,
    ),
    // The header only; the block's end is found in code (`pem_end`), so that
    // a header without an END line costs a bounded look-ahead rather than a
    // scan to the end of the text.
    Spec {
        kind: "private-key",
        pattern: r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----",
        groups: &[],
        before: Edge::Any,
        after: Edge::Any,
        check: Check::PemBlock,
    },
    Spec {
        kind: "jwt",
        pattern: r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        groups: &[],
        before: Edge::WordDash,
        after: Edge::WordDash,
        check: Check::Jwt,
    },
    token("npm-token", r"npm_[A-Za-z0-9]{36}", Edge::Word),
    token("pypi-token", r"pypi-Ag[A-Za-z0-9_-]{50,}", Edge::WordDash),
    token("crates-io-token", r"cio[A-Za-z0-9]{32}", Edge::Word),
    // `scheme://user:password@host`: scheme and user stay, the password goes.
    Spec {
        kind: "url-password",
        pattern: r"[A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9._~%!$&*+,;=-]+:([A-Za-z0-9._~%!$&*+,;=:()\[\]{}|^#?-]+)@",
        groups: &[1],
        before: Edge::Any,
        after: Edge::Any,
        check: Check::Value,
    },
    // `Authorization: Bearer <x>`; without a scheme word the value must be
    // long enough not to be prose ("authorization: required").
    Spec {
        kind: "authorization",
        pattern: r#"(?i:(?:proxy-)?authorization)["']?[ \t]*[:=][ \t]*["']?(?:(?i:bearer|basic|token|bot|oauth|apikey|key)[ \t]+([A-Za-z0-9._~+/=-]{6,})|([A-Za-z0-9._~+/=-]{20,}))"#,
        groups: &[1, 2],
        before: Edge::Word,
        after: Edge::Any,
        check: Check::Value,
    },
    // `password=...`, `"db_passwd": "..."`, `secret: ...`: the key stays,
    // the value goes. The separator must be on the same line as a value.
    Spec {
        kind: "password",
        pattern: r#"(?i:[A-Za-z0-9_.-]*(?:password|passwd|passphrase|secret|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret|private[_-]?key))["']?[ \t]*(?:=|:)[ \t]*(?:"([^"\s]{3,})"|'([^'\s]{3,})'|([^\s"',;&]{3,}))"#,
        groups: &[1, 2, 3],
        before: Edge::WordSlash,
        after: Edge::Any,
        check: Check::Assignment,
    },
];

pub(crate) fn edges_ok(text: &[u8], start: usize, end: usize, before: Edge, after: Edge) -> bool {
    let before_ok = start == 0 || !before.forbids(text[start - 1]);
    let after_ok = end >= text.len() || !after.forbids(text[end]);
    before_ok && after_ok
}

/// `whole` is the rule's whole match, `secret` the part to redact.
pub(crate) fn check(check: Check, whole: &str, secret: &str) -> bool {
    match check {
        Check::None | Check::PemBlock => true,
        Check::Jwt => jwt_header_ok(secret),
        Check::Value => !is_placeholder(secret),
        Check::Assignment => !is_placeholder(secret) && !is_type_name_in_prose(whole),
    }
}

/// How far past a PEM header (ending at `from`) its block goes.
///
/// The END line is looked for within [`PEM_LOOKAHEAD`] bytes. Without one
/// (a truncated log), the block is the rest of the header's line if it is
/// base64 or JSON-escaped newlines, then every following line that is all
/// base64, a `Proc-Type:`/`DEK-Info:` header or a blank line inside the
/// block. The first line of prose ends it, so nothing after the key goes.
pub(crate) fn pem_end(text: &str, from: usize) -> usize {
    let mut limit = text.len().min(from + PEM_LOOKAHEAD);
    while !text.is_char_boundary(limit) {
        limit -= 1;
    }
    let window = &text[from..limit];
    if let Some(at) = window.find("-----END") {
        let after = &window[at + "-----END".len()..];
        let label_len = after
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == ' '))
            .unwrap_or(after.len());
        let label = after[..label_len].trim_end();
        if (label.ends_with("PRIVATE KEY") || label.ends_with("PRIVATE KEY BLOCK"))
            && after[label_len..].starts_with("-----")
        {
            return from + at + "-----END".len() + label_len + "-----".len();
        }
    }
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
    // The rest of the header's own line: `\n`-escaped body in JSON.
    let line_end = text[from..].find('\n').map_or(text.len(), |i| from + i);
    let rest = &text[from..line_end];
    let mut end = from
        + rest
            .find(|c: char| !(is_b64(c) || c == '\\'))
            .unwrap_or(rest.len());
    // A real header stands alone on its line; one followed by prose is
    // talk about keys, and the next lines are not its body.
    if end < line_end && !text[end..line_end].trim().is_empty() {
        return end;
    }
    let body_line = |line: &str| {
        line.rsplit(char::is_whitespace)
            .next()
            .filter(|last| last.chars().all(is_b64))
            .map(str::len)
    };
    let mut pending_blank = false;
    let mut last_was_full = false;
    let mut start = line_end + 1;
    while start < limit {
        let stop = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = text[start..stop].trim();
        let body = body_line(line);
        if line.is_empty() {
            if pending_blank {
                break;
            }
            pending_blank = true;
            start = stop + 1;
            continue;
        }
        pending_blank = false;
        if body.is_some_and(|n| n >= 40)
            || ["Proc-Type:", "DEK-Info:", "Comment:", "Version:"]
                .iter()
                .any(|h| line.starts_with(h))
        {
            last_was_full = body.is_some();
            end = start + text[start..stop].trim_end().len();
        } else if last_was_full && body.is_some() && !line.contains(char::is_whitespace) {
            // The short last line of a body.
            end = start + text[start..stop].trim_end().len();
            break;
        } else {
            break;
        }
        start = stop + 1;
    }
    end
}

/// How far to look for a PEM block's END line; keys are a few KiB.
pub(crate) const PEM_LOOKAHEAD: usize = 64 * 1024;

/// `PascalCaseName: value`: a class, migration or test name followed by a
/// colon, as in `== 20130625 RemoveAccessPassword: migrating`. Config keys
/// in that style are written with `=` (`Password=` in connection strings)
/// or quoted (`"DbPassword": ...` in JSON), which this leaves alone.
fn is_type_name_in_prose(whole: &str) -> bool {
    let key_len = whole
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .unwrap_or(whole.len());
    let (key, rest) = whole.split_at(key_len);
    if !rest.starts_with(':') {
        return false;
    }
    let bytes = key.as_bytes();
    let humps = bytes
        .windows(2)
        .filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
        .count();
    bytes.first().is_some_and(u8::is_ascii_uppercase) && humps >= 1
}

fn jwt_header_ok(token: &str) -> bool {
    let header = token.split('.').next().unwrap_or_default();
    let header = header.trim_end_matches('=');
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header) else {
        return false;
    };
    let Ok(json) = std::str::from_utf8(&bytes) else {
        return false;
    };
    let json = json.trim();
    json.starts_with('{') && json.contains("\"alg\"")
}

/// Values that stand for a secret without being one. Logs and configs are
/// full of them, and redacting them would only hide useful context.
pub(crate) fn is_placeholder(value: &str) -> bool {
    const WORDS: &[&str] = &[
        "null",
        "none",
        "nil",
        "true",
        "false",
        "undefined",
        "empty",
        "required",
        "optional",
        "string",
        "str",
        "bool",
        "hidden",
        "redacted",
        "masked",
        "secret",
        "password",
        "passwd",
        "token",
        "value",
        "yes",
        "no",
    ];
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    if v.is_empty() {
        return true;
    }
    if v.starts_with([
        '$', '%', '{', '<', '[', '(', ':', '*', '#', '@', '&', '?', '\\',
    ]) {
        return true;
    }
    if v.chars()
        .all(|c| matches!(c, '*' | 'x' | 'X' | '.' | '-' | '_' | '•'))
    {
        return true;
    }
    // The name of a variable that holds the secret (`server-password:
    // GITHUB_TOKEN` in setup-java's inputs), not the secret.
    let screaming_snake = v.contains('_')
        && v.starts_with(|c: char| c.is_ascii_uppercase())
        && v.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    screaming_snake || WORDS.iter().any(|w| v.eq_ignore_ascii_case(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_not_values() {
        for v in [
            "${{ secrets.TOKEN }}",
            "$DB_PASS",
            "***",
            "<password>",
            "xxxxxxxx",
            "null",
            "%s",
        ] {
            assert!(is_placeholder(v), "{v}");
        }
        assert!(is_placeholder("GITHUB_TOKEN"));
        for v in ["hunter22", "root", "s3cr3t-value", "ABCDEF12"] {
            assert!(!is_placeholder(v), "{v}");
        }
    }

    #[test]
    fn pascal_case_keys_before_a_colon_are_prose() {
        assert!(is_type_name_in_prose("RemoveAccessPassword: migrating"));
        assert!(!is_type_name_in_prose("Password=abc"));
        assert!(!is_type_name_in_prose("password: abc"));
        assert!(!is_type_name_in_prose("DbPassword\": \"abc"));
        assert!(!is_type_name_in_prose("DB_PASSWORD: abc"));
    }

    #[test]
    fn pem_block_ends_at_its_end_line_or_at_the_first_prose() {
        let body = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2";
        let header = "-----BEGIN RSA PRIVATE KEY-----";
        let whole = format!("{header}\n{body}\n{body}\n-----END RSA PRIVATE KEY-----\nnext");
        assert_eq!(pem_end(&whole, header.len()), whole.len() - "\nnext".len());
        let cut = format!("{header}\n{body}\n2024-05-01T10:00:00Z {body}\nBuild failed.\n");
        assert_eq!(
            pem_end(&cut, header.len()),
            cut.find("\nBuild").expect("in text")
        );
        let json = format!("{{\"key\":\"{header}\\n{body}\\n{body}\"}}");
        let from = json.find(header).expect("in text") + header.len();
        assert_eq!(&json[pem_end(&json, from)..], "\"}");
        let prose = format!("{header} is what we look for\nok");
        assert_eq!(pem_end(&prose, header.len()), header.len());
        let short = format!("{header}\n{body}\nAAAA==\nok\n");
        assert_eq!(
            pem_end(&short, header.len()),
            short.find("\nok").expect("in text")
        );
    }

    #[test]
    fn jwt_header_must_name_alg() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let good = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"HS256","typ":"JWT"}"#),
            b64(r#"{"sub":"1"}"#)
        );
        let bad = format!("{}.{}.sig", b64(r#"{"typ":"JWT"}"#), b64(r#"{"sub":"1"}"#));
        assert!(jwt_header_ok(&good));
        assert!(!jwt_header_ok(&bad));
    }
}
