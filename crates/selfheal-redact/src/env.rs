//! Known secret values (from the environment or given by name) and the
//! encoded forms in which they turn up in logs.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Values shorter than this are not redacted: too many ordinary words and
/// numbers would go with them.
pub const MIN_SECRET_LEN: usize = 8;

/// Whether a variable's name says its value is a secret.
///
/// Substrings, upper-cased: `GITHUB_TOKEN`, `NPM_AUTH_TOKEN`, `DB_PASSWORD`,
/// `OPENAI_API_KEY`, `AWS_SECRET_ACCESS_KEY`. `AUTH` counts only as a word
/// part that is not `AUTHOR` (`GIT_AUTHOR_EMAIL` is not a secret), and names
/// that point at a secret rather than hold it (`*_FILE`, `*_PATH`,
/// `SSH_AUTH_SOCK`) are skipped.
pub fn is_secret_name(name: &str) -> bool {
    const MARKS: &[&str] = &[
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "ACCESS_KEY",
        "SESSION_KEY",
        "SIGNING_KEY",
        "ENCRYPTION_KEY",
        "MASTER_KEY",
        "CLIENT_KEY",
        "DEPLOY_KEY",
        "WEBHOOK_URL",
    ];
    const POINTERS: &[&str] = &[
        "_FILE", "_PATH", "_DIR", "_SOCK", "_TYPE", "_METHOD", "_MODE", "_ENABLED", "_NAME",
    ];
    let up = name.to_ascii_uppercase();
    if POINTERS.iter().any(|s| up.ends_with(s)) {
        return false;
    }
    if MARKS.iter().any(|m| up.contains(m)) {
        return true;
    }
    up.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|part| part.contains("AUTH") && !part.contains("AUTHOR"))
}

/// The texts to look for in place of `value`: the value itself, its
/// URL-encoded forms and its base64 forms (standard and URL-safe, padded or
/// not, and at each of the three byte offsets at which it can sit inside a
/// longer encoded string, as in `base64("user:" + token)`).
pub fn forms(value: &str) -> Vec<String> {
    let mut out = vec![value.to_owned()];
    // A multi-line value (a key file in a variable) is also looked for line
    // by line, since logs often show only part of it.
    if value.contains('\n') {
        out.extend(
            value
                .lines()
                .map(str::trim)
                .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
                .map(str::to_owned),
        );
    }
    for upper in [true, false] {
        out.push(percent_encode(value, upper, false));
        out.push(percent_encode(value, upper, true));
    }
    let bytes = value.as_bytes();
    for engine in [&STANDARD, &URL_SAFE] {
        out.push(engine.encode(bytes));
    }
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        out.push(engine.encode(bytes));
        for offset in 0..3usize {
            // Encode behind `offset` filler bytes and keep only the
            // characters that depend on the value alone: the first ones mix
            // in the filler, the last one mixes in whatever follows.
            let mut buf = vec![0u8; offset];
            buf.extend_from_slice(bytes);
            let enc = engine.encode(&buf);
            let first = (8 * offset).div_ceil(6);
            let last = 8 * (offset + bytes.len()) / 6;
            if last > first && last - first >= MIN_SECRET_LEN {
                out.push(enc[first..last].to_owned());
            }
        }
    }
    out.retain(|f| f.len() >= MIN_SECRET_LEN);
    out.sort();
    out.dedup();
    out
}

fn percent_encode(value: &str, upper: bool, plus_for_space: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(value.len() * 3);
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else if b == b' ' && plus_for_space {
            out.push('+');
        } else if upper {
            let _ = write!(out, "%{b:02X}");
        } else {
            let _ = write!(out, "%{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for n in [
            "GITHUB_TOKEN",
            "NPM_AUTH",
            "db_password",
            "OPENAI_API_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "GOOGLE_CREDENTIALS",
            "OAUTH_CLIENT",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "GIT_AUTHOR_NAME",
            "GIT_AUTHOR_EMAIL",
            "SSH_AUTH_SOCK",
            "PATH",
            "HOME",
            "TOKEN_FILE",
            "PWD",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn base64_forms_found_at_every_offset() {
        let value = "opaque-value-1234";
        let forms = forms(value);
        for prefix in ["", "a", "ab", "abc", "user:"] {
            for suffix in ["", "z", "zz"] {
                let whole = format!("{prefix}{value}{suffix}");
                for engine in [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD] {
                    let enc = engine.encode(whole.as_bytes());
                    assert!(
                        forms.iter().any(|f| enc.contains(f.as_str())),
                        "{whole} {enc}"
                    );
                }
            }
        }
    }
}
