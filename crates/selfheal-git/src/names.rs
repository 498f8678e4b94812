//! Branch names and commit-message trailers: pure string work, no repository.

use crate::Signature;

/// `<prefix>/<run-id>-<short fingerprint>`, made a valid branch name.
///
/// Run ids and fingerprints come from CI and from cache folder names, so
/// anything is possible. Each part keeps only ASCII letters, digits, `.`, `_`
/// and `-` (anything else becomes `-`), and then the rules of
/// `git check-ref-format` that can still bite are applied: no `..`, no part
/// starting with `.` or ending in `.` or `.lock`. The prefix may hold `/` to
/// nest branches (`bots/selfheal`); empty parts fall back to `selfheal` and
/// `local`, and an empty fingerprint is left out.
pub fn fix_branch_name(prefix: &str, run_id: &str, short_fingerprint: &str) -> String {
    let mut parts: Vec<String> = prefix
        .split('/')
        .map(sanitize_component)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        parts.push("selfheal".to_owned());
    }
    let run = sanitize_component(run_id);
    let fingerprint = sanitize_component(short_fingerprint);
    let leaf = match (run.is_empty(), fingerprint.is_empty()) {
        (true, true) => "local".to_owned(),
        (true, false) => format!("local-{fingerprint}"),
        (false, true) => run,
        (false, false) => format!("{run}-{fingerprint}"),
    };
    parts.push(leaf);
    parts.join("/")
}

fn sanitize_component(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            c
        } else {
            '-'
        };
        // Squeeze runs of `-` (readability) and of `.` (`..` is forbidden).
        if (c == '-' || c == '.') && out.ends_with(c) {
            continue;
        }
        out.push(c);
    }
    loop {
        let before = out.len();
        out = out
            .trim_start_matches(['.', '-'])
            .trim_end_matches(['.', '-'])
            .to_owned();
        if let Some(stripped) = out.strip_suffix(".lock") {
            out = stripped.to_owned();
        }
        if out.len() == before {
            return out;
        }
    }
}

/// Appends a `Signed-off-by` trailer for `sig`, the way `git commit -s` does.
///
/// The trailer joins the message's trailer block when its last paragraph
/// already is one (`Key: value` lines after the subject); otherwise a blank
/// line starts a new block. A message that already carries this exact
/// sign-off in its trailer block is returned unchanged apart from trailing
/// whitespace. The result ends with a newline.
pub fn with_signoff(message: &str, sig: &Signature) -> String {
    let trailer = format!("Signed-off-by: {} <{}>", sig.name, sig.email);
    let body = message.trim_end();
    if body.is_empty() {
        return format!("{trailer}\n");
    }
    let paragraphs: Vec<&str> = split_paragraphs(body);
    let last = paragraphs.last().copied().unwrap_or_default();
    // The first paragraph is the subject, never a trailer block, even when it
    // looks like one (`fix: handle empty input`).
    let has_block = paragraphs.len() > 1 && is_trailer_block(last);
    if has_block && last.lines().any(|l| l.trim_end() == trailer) {
        return format!("{body}\n");
    }
    if has_block {
        format!("{body}\n{trailer}\n")
    } else {
        format!("{body}\n\n{trailer}\n")
    }
}

/// Paragraphs separated by lines that are blank or only whitespace.
fn split_paragraphs(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut end = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim().is_empty() {
            if let Some(s) = start.take() {
                out.push(&text[s..end]);
            }
        } else {
            if start.is_none() {
                start = Some(offset);
            }
            end = offset + line.trim_end_matches(['\n', '\r']).len();
        }
        offset += line.len();
    }
    if let Some(s) = start {
        out.push(&text[s..end]);
    }
    out
}

/// Every line is `Token: value` (token of letters, digits and `-`) or a
/// whitespace-indented continuation of the line before.
fn is_trailer_block(paragraph: &str) -> bool {
    let mut seen_trailer = false;
    for line in paragraph.lines() {
        if line.starts_with([' ', '\t']) {
            if !seen_trailer {
                return false;
            }
            continue;
        }
        let Some((token, _)) = line.split_once(':') else {
            return false;
        };
        if token.is_empty() || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return false;
        }
        seen_trailer = true;
    }
    seen_trailer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig() -> Signature {
        Signature {
            name: "Self Heal".into(),
            email: "bot@example.com".into(),
        }
    }

    #[test]
    fn branch_name_joins_prefix_run_and_fingerprint() {
        assert_eq!(
            fix_branch_name("selfheal", "123456", "abcdef01"),
            "selfheal/123456-abcdef01"
        );
        assert_eq!(
            fix_branch_name("selfheal/", "123456", "abcdef01"),
            "selfheal/123456-abcdef01"
        );
        assert_eq!(fix_branch_name("bots//heal", "7", ""), "bots/heal/7");
        assert_eq!(fix_branch_name("", "", ""), "selfheal/local");
    }

    #[test]
    fn branch_name_sanitises_what_git_refuses() {
        assert_eq!(
            fix_branch_name("selfheal", "run 12: [x]~^?*\\", "ab"),
            "selfheal/run-12-x-ab"
        );
        assert_eq!(
            fix_branch_name(".hidden", "..a..b..", "c.lock"),
            "hidden/a.b-c"
        );
        assert_eq!(fix_branch_name("x", "@{u}", ""), "x/u");
        assert_eq!(fix_branch_name("x", "a.lock.lock", ""), "x/a");
        assert_eq!(fix_branch_name("x", "ünïcode", ""), "x/n-code");
    }

    #[test]
    fn branch_names_from_hostile_inputs_are_valid_refs() {
        let nasty = [
            "",
            ".",
            "..",
            "/",
            "@",
            "@{",
            "a/b",
            "-x",
            "x.",
            ".lock",
            "a..b",
            "a//b",
            "~^:?*[\\",
            "\u{7f}\u{1}",
            "name.lock/x",
            " ",
            "-",
            "---",
            "a.lock.",
            "é",
            "HEAD",
            "-HEAD",
        ];
        for prefix in ["selfheal", "", "/a/", ".x.lock"] {
            for run in nasty {
                for fp in nasty {
                    let name = fix_branch_name(prefix, run, fp);
                    assert!(
                        git2::Branch::name_is_valid(&name).unwrap_or(false),
                        "{prefix:?} {run:?} {fp:?} -> {name:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn signoff_starts_a_trailer_block_after_the_body() {
        assert_eq!(
            with_signoff("Fix the parser\n\nIt dropped the last line.\n\n", &sig()),
            "Fix the parser\n\nIt dropped the last line.\n\nSigned-off-by: Self Heal <bot@example.com>\n"
        );
        assert_eq!(
            with_signoff("fix: subject that looks like a trailer", &sig()),
            "fix: subject that looks like a trailer\n\nSigned-off-by: Self Heal <bot@example.com>\n"
        );
    }

    #[test]
    fn signoff_joins_an_existing_trailer_block() {
        let message = "Fix it\n\nBody.\n\nCo-authored-by: A <a@x>\nRefs: #12\n  continued\n";
        assert_eq!(
            with_signoff(message, &sig()),
            "Fix it\n\nBody.\n\nCo-authored-by: A <a@x>\nRefs: #12\n  continued\nSigned-off-by: Self Heal <bot@example.com>\n"
        );
    }

    #[test]
    fn signoff_is_not_duplicated() {
        let once = with_signoff("Fix it", &sig());
        assert_eq!(with_signoff(&once, &sig()), once);
        // A sign-off quoted in the body is not the trailer block.
        let quoted = "Fix it\n\nSigned-off-by: Self Heal <bot@example.com>\nwas missing\n";
        assert_eq!(
            with_signoff(quoted, &sig()),
            format!(
                "{}\n\nSigned-off-by: Self Heal <bot@example.com>\n",
                quoted.trim_end()
            )
        );
    }

    #[test]
    fn paragraphs_split_on_whitespace_only_lines() {
        assert_eq!(
            split_paragraphs("a\nb\n \n\nc\r\nd"),
            vec!["a\nb", "c\r\nd"]
        );
    }
}
