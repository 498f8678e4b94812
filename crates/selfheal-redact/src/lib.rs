//! Secrets out of every text that leaves the machine or lands on disk.
//!
//! CI logs carry credentials: a test that prints its configuration, a
//! `curl -v` with its `Authorization` header, a clone URL with a token in it,
//! a key dumped by a failing deploy step. Whatever selfheal reads from a log
//! it may send to a model, store in a cache or a result file, quote in a pull
//! request or print on a terminal, so every one of those texts goes through
//! one [`Redactor`] first. Each secret is replaced by `[REDACTED:<kind>]`,
//! and the [`Finding`]s say what was found where (never the secret itself).
//!
//! ```
//! use selfheal_redact::Redactor;
//!
//! // The environment is passed in (e.g. `std::env::vars()`), never read here.
//! let env = [("DEPLOY_TOKEN".to_owned(), "opaque-deploy-value".to_owned())];
//! let redactor = Redactor::builder()
//!     .env(env)
//!     .extra_pattern("ticket", r"TICKET-[0-9]{6}")
//!     .build()?;
//! let out = redactor.redact("push with opaque-deploy-value to postgres://ci:hunter22@db/x, TICKET-123456");
//! assert_eq!(
//!     out.text,
//!     "push with [REDACTED:env:DEPLOY_TOKEN] to postgres://ci:[REDACTED:url-password]@db/x, [REDACTED:ticket]"
//! );
//! assert_eq!(out.findings.len(), 3);
//! # Ok::<(), selfheal_redact::RedactError>(())
//! ```
//!
//! # What is covered
//!
//! * **Known formats**, by prefix, length and charset: GitHub tokens
//!   (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, fine-grained `github_pat_`),
//!   `GitLab` `glpat-`, `OpenAI` (`sk-`, `sk-proj-`, `sk-svcacct-`,
//!   `sk-admin-`), Anthropic (`sk-ant-`), AWS access key ids
//!   (`AKIA`/`ASIA`...) and secret keys (40 characters after an
//!   `aws_secret_access_key` key), Google API keys (`AIza`), Slack tokens
//!   (`xoxb-`, `xoxp-`, `xapp-`...) and webhook URLs, Stripe secret and
//!   restricted keys, PEM private key blocks (multi-line, or cut short by a
//!   truncated log), JWTs whose header decodes to JSON naming `alg`, npm,
//!   `PyPI` and crates.io tokens.
//! * **Structure**: the password of `scheme://user:password@host` (scheme,
//!   user and host stay), `Authorization:` header values, and the value of
//!   `password=`, `"db_passwd": "..."`, `secret: ...`, `api_key=`-style
//!   assignments (the key stays, so the log still reads).
//! * **Known values**: [`RedactorBuilder::env`] takes the environment as
//!   pairs and keeps the values of variables whose name marks them secret
//!   ([`is_secret_name`]); [`RedactorBuilder::secret`] adds one by hand (a
//!   token from the config file). Each is looked for plain, URL-encoded and
//!   base64-encoded (standard and URL-safe, padded or not, at the three byte
//!   offsets it can take inside a longer encoded string such as
//!   `base64("user:" + token)`).
//! * **The user's own**: [`RedactorBuilder::extra_pattern`] adds a regex
//!   from the configuration (a capture group named `secret` narrows what is
//!   replaced); [`RedactorBuilder::allow`] names a literal that must never be
//!   redacted (a known false positive).
//!
//! Precision matters as much as recall: logs are full of commit shas,
//! UUIDs, base64 blobs and the word "password" in prose, and a redactor that
//! eats them makes logs unreadable to the model. So rules are tight (exact
//! prefixes and lengths, edges that may not touch more token characters,
//! placeholders such as `${{ secrets.X }}`, `$PASS` and `***` left alone),
//! and the test suite measures the rate of altered lines on real CI logs
//! (below 1 per 10,000 lines).
//!
//! # How it works
//!
//! One [`regex::RegexSet`] pass tells which rules occur in the text at all;
//! only those run to find positions, each with its own literal prefilter.
//! Known values are one Aho-Corasick automaton. Overlapping findings are
//! merged (the union is replaced, so no part of a secret survives), then the
//! text is rebuilt once. Text without findings is returned borrowed.
//!
//! # Where it is used
//!
//! Build one `Redactor` per run from the process environment, the config's
//! own secrets and `[redact]` patterns, and pass it by reference to every
//! place that writes outward: the prompt sent to the model, results and
//! caches on disk, pull request bodies and comments, terminal and `--json`
//! output.
//!
//! # What it cannot promise
//!
//! * A secret in a format it does not know, in a variable whose name does
//!   not say so, and not written as an assignment, goes through.
//! * Encodings beyond base64 and URL encoding (hex, gzip, split across
//!   lines or `***`-masked in part) are not undone.
//! * Text redacted in pieces (line by line) can miss what spans pieces: a
//!   private key block is caught whole, or from its `BEGIN` line over the
//!   base64 lines that follow it in the same piece; its END line is looked
//!   for within 64 KiB.
//!   Redact whole texts where possible.
//! * Base64 forms of a known value leave the one or two characters at each
//!   edge that mix in neighbouring bytes; they carry a few bits, not the
//!   secret.

mod env;
mod rules;

use std::borrow::Cow;
use std::fmt;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Regex, RegexSet};
use serde::Serialize;

pub use env::{MIN_SECRET_LEN, is_secret_name};
use rules::{Check, Edge};

/// Why a [`Redactor`] could not be built. None of these is retryable: they
/// come from the configuration and need a change to it.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// A pattern from `extra_pattern` does not compile.
    #[error(
        "redact pattern `{name}` is not a valid regex: {source}\nhint: patterns use the syntax of the Rust `regex` crate (no look-around)"
    )]
    Pattern {
        name: String,
        #[source]
        source: regex::Error,
    },
    /// A pattern from `extra_pattern` has an empty name, or one that cannot
    /// go into a placeholder.
    #[error(
        "redact pattern name `{name}` must be non-empty and use only letters, digits, `-`, `_`, `.` and `:`"
    )]
    PatternName { name: String },
    /// A pattern matches the empty string, which would redact nothing and
    /// everything.
    #[error("redact pattern `{name}` matches the empty string")]
    EmptyMatch { name: String },
}

/// One secret found: its kind and where it was in the input (byte offsets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's kind (`github-token`, `password`, ...), `env:<NAME>` for a
    /// known value, or the name given to a user pattern.
    pub kind: String,
    pub start: usize,
    pub end: usize,
}

/// The redacted text and what was taken out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted<'a> {
    /// Borrowed when nothing was found.
    pub text: Cow<'a, str>,
    pub findings: Vec<Finding>,
}

impl Redacted<'_> {
    pub fn into_string(self) -> String {
        self.text.into_owned()
    }

    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

struct Rule {
    kind: String,
    regex: Regex,
    groups: Vec<usize>,
    before: Edge,
    after: Edge,
    check: Check,
}

/// Finds and replaces secrets. Cheap to share (`&Redactor` across threads);
/// build once per run.
pub struct Redactor {
    set: RegexSet,
    rules: Vec<Rule>,
    /// Known values and the kind each is reported as.
    values: Option<AhoCorasick>,
    value_kinds: Vec<String>,
    allow: Vec<String>,
}

impl fmt::Debug for Redactor {
    // Never prints the known values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field(
                "rules",
                &self
                    .rules
                    .iter()
                    .map(|r| r.kind.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("known_values", &self.value_kinds.len())
            .field("allow", &self.allow.len())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Redactor`]; see the crate docs for what each input does.
#[derive(Default)]
pub struct RedactorBuilder {
    secrets: Vec<(String, String)>,
    patterns: Vec<(String, String)>,
    allow: Vec<String>,
}

impl fmt::Debug for RedactorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactorBuilder")
            .field("secrets", &self.secrets.len())
            .field("patterns", &self.patterns)
            .field("allow", &self.allow.len())
            .finish()
    }
}

impl RedactorBuilder {
    /// The environment as `(name, value)` pairs (e.g. `std::env::vars()`):
    /// values of at least [`MIN_SECRET_LEN`] characters whose variable name
    /// marks them secret ([`is_secret_name`]) are redacted wherever they
    /// appear, reported as `env:<NAME>`.
    #[must_use]
    pub fn env(mut self, pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        for (name, value) in pairs {
            if is_secret_name(&name) {
                self = self.secret(format!("env:{name}"), value);
            }
        }
        self
    }

    /// One known secret value (a token read from the config file), reported
    /// as `kind`. Values shorter than [`MIN_SECRET_LEN`] are ignored.
    #[must_use]
    pub fn secret(mut self, kind: impl Into<String>, value: impl Into<String>) -> Self {
        let value = value.into();
        if value.trim().len() >= MIN_SECRET_LEN {
            self.secrets.push((kind.into(), value));
        }
        self
    }

    /// A user-defined rule. If the regex has a capture group named `secret`,
    /// only that group is replaced; otherwise the whole match.
    #[must_use]
    pub fn extra_pattern(mut self, name: impl Into<String>, regex: impl Into<String>) -> Self {
        self.patterns.push((name.into(), regex.into()));
        self
    }

    /// A literal that is never redacted, even when a rule matches exactly it
    /// (a test fixture's fake key, a public id that looks like a token).
    #[must_use]
    pub fn allow(mut self, literal: impl Into<String>) -> Self {
        let literal = literal.into();
        if !literal.is_empty() {
            self.allow.push(literal);
        }
        self
    }

    pub fn build(self) -> Result<Redactor, RedactError> {
        let mut rules = Vec::new();
        for spec in rules::BUILTIN {
            let regex = Regex::new(spec.pattern).map_err(|source| RedactError::Pattern {
                name: spec.kind.to_owned(),
                source,
            })?;
            rules.push(Rule {
                kind: spec.kind.to_owned(),
                regex,
                groups: spec.groups.to_vec(),
                before: spec.before,
                after: spec.after,
                check: spec.check,
            });
        }
        for (name, pattern) in &self.patterns {
            let name_ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
            if !name_ok {
                return Err(RedactError::PatternName { name: name.clone() });
            }
            let regex = Regex::new(pattern).map_err(|source| RedactError::Pattern {
                name: name.clone(),
                source,
            })?;
            if regex.is_match("") {
                return Err(RedactError::EmptyMatch { name: name.clone() });
            }
            let groups = regex
                .capture_names()
                .position(|n| n == Some("secret"))
                .into_iter()
                .collect();
            rules.push(Rule {
                kind: name.clone(),
                regex,
                groups,
                before: Edge::Any,
                after: Edge::Any,
                check: Check::None,
            });
        }
        let set = RegexSet::new(rules.iter().map(|r| r.regex.as_str())).map_err(|source| {
            RedactError::Pattern {
                name: "<set>".to_owned(),
                source,
            }
        })?;

        let mut needles = Vec::new();
        let mut value_kinds = Vec::new();
        for (kind, value) in &self.secrets {
            if self.allow.iter().any(|a| a == value) {
                continue;
            }
            for form in env::forms(value) {
                needles.push(form);
                value_kinds.push(kind.clone());
            }
        }
        let values = if needles.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&needles)
                    .expect("literal needles always build an automaton"),
            )
        };
        Ok(Redactor {
            set,
            rules,
            values,
            value_kinds,
            allow: self.allow,
        })
    }
}

impl Redactor {
    pub fn builder() -> RedactorBuilder {
        RedactorBuilder::default()
    }

    /// The built-in rules only: no known values, patterns or allow-list.
    pub fn builtin() -> Redactor {
        Redactor::builder()
            .build()
            .expect("the built-in rules compile")
    }

    /// Finds the secrets in `text` without replacing them, sorted by start,
    /// non-overlapping.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        // (start, end, priority): lower priority names a merged span.
        let mut raw: Vec<(usize, usize, usize)> = Vec::new();
        let bytes = text.as_bytes();
        for idx in &self.set.matches(text) {
            let rule = &self.rules[idx];
            if rule.groups.is_empty() && rule.check == Check::None {
                for m in rule.regex.find_iter(text) {
                    self.push(
                        &mut raw,
                        text,
                        rule,
                        idx,
                        m.start(),
                        m.end(),
                        m.start(),
                        m.end(),
                    );
                }
                continue;
            }
            for caps in rule.regex.captures_iter(text) {
                let whole = caps.get(0).expect("group 0 always takes part");
                let secret = if rule.groups.is_empty() {
                    Some(whole)
                } else {
                    rule.groups.iter().find_map(|&g| caps.get(g))
                };
                let Some(secret) = secret else { continue };
                if !rules::check(rule.check, whole.as_str(), secret.as_str()) {
                    continue;
                }
                let end = if rule.check == Check::PemBlock {
                    rules::pem_end(text, secret.end())
                } else {
                    secret.end()
                };
                self.push(
                    &mut raw,
                    text,
                    rule,
                    idx,
                    whole.start(),
                    whole.end(),
                    secret.start(),
                    end,
                );
            }
        }
        if let Some(ac) = &self.values {
            let base = self.rules.len();
            for m in ac.find_iter(bytes) {
                let (s, e) = (m.start(), m.end());
                if !self.allowed(&text[s..e]) {
                    raw.push((s, e, base + m.pattern().as_usize()));
                }
            }
        }
        raw.sort_by_key(|&(s, e, p)| (s, std::cmp::Reverse(e), p));
        let mut out: Vec<Finding> = Vec::with_capacity(raw.len());
        for (s, e, p) in raw {
            if let Some(last) = out.last_mut()
                && s < last.end
            {
                last.end = last.end.max(e);
                continue;
            }
            out.push(Finding {
                kind: self.kind_of(p).to_owned(),
                start: s,
                end: e,
            });
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &self,
        raw: &mut Vec<(usize, usize, usize)>,
        text: &str,
        rule: &Rule,
        idx: usize,
        whole_start: usize,
        whole_end: usize,
        start: usize,
        end: usize,
    ) {
        if start == end
            || !rules::edges_ok(
                text.as_bytes(),
                whole_start,
                whole_end,
                rule.before,
                rule.after,
            )
            || self.allowed(&text[start..end])
        {
            return;
        }
        raw.push((start, end, idx));
    }

    fn allowed(&self, secret: &str) -> bool {
        self.allow.iter().any(|a| a == secret)
    }

    fn kind_of(&self, priority: usize) -> &str {
        match priority.checked_sub(self.rules.len()) {
            None => &self.rules[priority].kind,
            Some(i) => &self.value_kinds[i],
        }
    }

    /// Replaces every secret in `text` by `[REDACTED:<kind>]`.
    pub fn redact<'a>(&self, text: &'a str) -> Redacted<'a> {
        let findings = self.find(text);
        if findings.is_empty() {
            return Redacted {
                text: Cow::Borrowed(text),
                findings,
            };
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in &findings {
            out.push_str(&text[at..f.start]);
            out.push_str("[REDACTED:");
            out.push_str(&f.kind);
            out.push(']');
            at = f.end;
        }
        out.push_str(&text[at..]);
        Redacted {
            text: Cow::Owned(out),
            findings,
        }
    }

    /// [`Redactor::redact`] for an owned string, replaced only if something
    /// was found.
    pub fn redact_in_place(&self, text: &mut String) -> Vec<Finding> {
        let Redacted {
            text: new,
            findings,
        } = self.redact(text);
        let new = match new {
            Cow::Owned(s) => Some(s),
            Cow::Borrowed(_) => None,
        };
        if let Some(new) = new {
            *text = new;
        }
        findings
    }

    /// The redacted text alone.
    pub fn redact_str(&self, text: &str) -> String {
        self.redact(text).into_string()
    }
}
