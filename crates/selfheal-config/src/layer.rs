//! One layer of configuration: every key optional, so a layer says only what it sets.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Merge two layers, `self` winning wherever it has a value (uv's `Combine`).
pub trait Combine {
    #[must_use]
    fn combine(self, lower: Self) -> Self;
}

impl<T: Combine> Combine for Option<T> {
    fn combine(self, lower: Self) -> Self {
        match (self, lower) {
            (Some(a), Some(b)) => Some(a.combine(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Field-wise `Option::or`, so adding a key to a section cannot be forgotten in the merge.
macro_rules! combine_fields {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl Combine for $ty {
            fn combine(self, lower: Self) -> Self {
                Self { $($field: self.$field.or(lower.$field)),* }
            }
        }
    };
}

/// A whole `selfheal.toml`, or the part of the command line or environment that sets config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    /// Top-level `dry_run`: repair and validate, but publish nothing (no push,
    /// pull request or comment). First in the struct because TOML wants bare
    /// keys before any `[section]`.
    pub dry_run: Option<bool>,
    /// Top-level `disabled`: the kill switch; selfheal does nothing at all.
    pub disabled: Option<bool>,
    pub llm: Option<LlmLayer>,
    pub repair: Option<RepairLayer>,
    pub validate: Option<ValidateLayer>,
    pub git: Option<GitLayer>,
    pub prompts: Option<PromptsLayer>,
    pub github: Option<GithubLayer>,
    pub policy: Option<PolicyLayer>,
    pub redact: Option<RedactLayer>,
}

impl Combine for ConfigLayer {
    fn combine(self, lower: Self) -> Self {
        Self {
            dry_run: self.dry_run.or(lower.dry_run),
            disabled: self.disabled.or(lower.disabled),
            llm: self.llm.combine(lower.llm),
            repair: self.repair.combine(lower.repair),
            validate: self.validate.combine(lower.validate),
            git: self.git.combine(lower.git),
            prompts: self.prompts.combine(lower.prompts),
            github: self.github.combine(lower.github),
            policy: self.policy.combine(lower.policy),
            redact: self.redact.combine(lower.redact),
        }
    }
}

/// `[llm]`: which OpenAI-compatible server and model to ask, and how.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmLayer {
    pub base_url: Option<String>,
    /// The NAME of the variable holding the key; keys never live in the file.
    pub api_key_env: Option<String>,
    pub model: Option<String>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub timeout_secs: Option<u64>,
    /// Send `response_format: json_schema` (servers that reject it need `false`).
    pub structured_output: Option<bool>,
    /// Answers asked for per attempt, validated in turn (`--candidates`).
    pub candidates: Option<u32>,
    /// The temperature the answers after the first are sampled at.
    pub candidate_temperature: Option<f32>,
    /// A second model, asked when the first fails all its attempts.
    pub escalate_to: Option<EscalateLayer>,
}

impl Combine for LlmLayer {
    fn combine(self, lower: Self) -> Self {
        Self {
            base_url: self.base_url.or(lower.base_url),
            api_key_env: self.api_key_env.or(lower.api_key_env),
            model: self.model.or(lower.model),
            temperature: self.temperature.or(lower.temperature),
            max_tokens: self.max_tokens.or(lower.max_tokens),
            timeout_secs: self.timeout_secs.or(lower.timeout_secs),
            structured_output: self.structured_output.or(lower.structured_output),
            candidates: self.candidates.or(lower.candidates),
            candidate_temperature: self.candidate_temperature.or(lower.candidate_temperature),
            escalate_to: self.escalate_to.combine(lower.escalate_to),
        }
    }
}

/// `[llm.escalate_to]`: the model of the ladder's second rung. Its
/// `base_url` and `api_key_env` route a credential: only the user's own
/// layers may set them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalateLayer {
    pub model: Option<String>,
    /// Unset: the first model's server.
    pub base_url: Option<String>,
    /// The NAME of the variable holding its key; unset: the first model's variable.
    pub api_key_env: Option<String>,
}
combine_fields!(EscalateLayer {
    model,
    base_url,
    api_key_env
});

/// `[repair]`: how hard to try.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepairLayer {
    pub max_attempts: Option<u32>,
    pub context_token_budget: Option<usize>,
    pub total_token_budget: Option<u64>,
    /// Stop before a model call that would make the invocation cost more than this.
    pub cost_limit_usd: Option<f64>,
    /// The model's prices, for the cost limit.
    pub usd_per_million_prompt: Option<f64>,
    pub usd_per_million_completion: Option<f64>,
    /// Times a rate-limited or failing model server is asked again without using up an attempt.
    pub model_retries: Option<u32>,
    /// Try the remedy for a missing name before asking the model.
    pub remedies: Option<bool>,
    /// Among the remedies, the revert of the lines the failure runs through.
    pub reverts: Option<bool>,
}
combine_fields!(RepairLayer {
    max_attempts,
    context_token_budget,
    total_token_budget,
    cost_limit_usd,
    usd_per_million_prompt,
    usd_per_million_completion,
    model_retries,
    remedies,
    reverts
});

/// `[validate]`: the sandbox the tests run in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateLayer {
    pub image: Option<String>,
    pub timeout_secs: Option<u64>,
    pub memory_mb: Option<u64>,
    pub cpus: Option<f64>,
    pub pids: Option<i64>,
    pub test_command: Option<String>,
    pub failing_test_command: Option<String>,
    /// Install the project's dependencies into a cached image before validating.
    pub install: Option<bool>,
    /// The CA bundle the install phase trusts (copied into its container).
    pub ca_bundle: Option<PathBuf>,
    /// A shell script that installs the project's dependencies, run with the
    /// network on before any patch, instead of the detected install.
    pub setup_command: Option<String>,
    /// `docker` (the default) or `local`: a temporary copy run as a plain
    /// subprocess, not isolated, for machines without Docker.
    pub sandbox: Option<String>,
    /// The repository's own Dockerfile (repo-relative), built as the base image.
    pub dockerfile: Option<String>,
}
combine_fields!(ValidateLayer {
    image,
    timeout_secs,
    memory_mb,
    cpus,
    pids,
    test_command,
    failing_test_command,
    install,
    ca_bundle,
    setup_command,
    sandbox,
    dockerfile
});

/// `[git]`: how fixes are committed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitLayer {
    pub branch_prefix: Option<String>,
    pub signoff: Option<bool>,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
}
combine_fields!(GitLayer {
    branch_prefix,
    signoff,
    author_name,
    author_email
});

/// `[prompts]`: where to find template overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptsLayer {
    pub dir: Option<PathBuf>,
}
combine_fields!(PromptsLayer { dir });

/// `[github]`: which repository's runs to repair, and how fixes are published.
///
/// `api_url`, `token_env` and `pr_token_env` route credentials: a repository's
/// own `selfheal.toml` may not set them (see [`crate::load_layers`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubLayer {
    /// `owner/name`; unset: the CLI derives it from the remote.
    pub repository: Option<String>,
    pub api_url: Option<String>,
    /// The NAME of the variable holding the token; tokens never live in the file.
    pub token_env: Option<String>,
    /// The NAME of the variable holding the token used to push and open pull requests.
    pub pr_token_env: Option<String>,
    /// The git remote fixes are pushed to.
    pub remote: Option<String>,
    /// Only runs of these workflows (names or file names); empty or unset: all.
    pub workflows: Option<Vec<String>>,
    /// Never runs of these workflows (names or file names).
    pub exclude_workflows: Option<Vec<String>>,
    /// Only runs on this branch.
    pub branch: Option<String>,
    /// Only runs started by this event (`push`, `pull_request`, ...).
    pub event: Option<String>,
    /// Failing runs repaired per invocation.
    pub max_runs: Option<u32>,
    /// Open pull requests as drafts.
    pub draft: Option<bool>,
    pub labels: Option<Vec<String>>,
    /// Also upsert a comment on the pull request whose run failed.
    pub comment: Option<bool>,
    /// `owner/name`s that automated runs (inside GitHub Actions, or `--ci`)
    /// may publish to. Only the user's own layers may enrol a repository.
    pub enrolled: Option<Vec<String>>,
}
combine_fields!(GithubLayer {
    repository,
    api_url,
    token_env,
    pr_token_env,
    remote,
    workflows,
    exclude_workflows,
    branch,
    event,
    max_runs,
    draft,
    labels,
    comment,
    enrolled
});

/// `[policy]`: what a repair may change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyLayer {
    /// Globs of paths a repair may not touch, added to the built-in ones
    /// (CI definitions, lock files, vendored code, credentials), never replacing them.
    pub deny: Option<Vec<String>>,
    /// When set, the only paths a repair may touch.
    pub allow: Option<Vec<String>>,
    pub max_files: Option<usize>,
    pub max_changed_lines: Option<usize>,
    /// Let a repair declare a dependency the manifests did not have.
    pub allow_new_dependencies: Option<bool>,
    /// Consent beforehand to changes to tests that the model says are wrong (`--allow-test-edits`).
    pub allow_test_edits: Option<bool>,
}
combine_fields!(PolicyLayer {
    deny,
    allow,
    max_files,
    max_changed_lines,
    allow_new_dependencies,
    allow_test_edits
});

/// `[redact]`: secrets of the user's own formats, and known false positives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactLayer {
    /// Regular expressions of secrets to redact besides the built-in formats.
    pub patterns: Option<Vec<String>>,
    /// Exact strings never to redact (a test fixture's fake key, say).
    pub allow: Option<Vec<String>>,
}
combine_fields!(RedactLayer { patterns, allow });

/// A `section.key` whose value says where a credential is sent or which
/// variable it is read from. Only the user's own layers may set these.
struct RoutingKey {
    /// As the user would write it: `[llm] base_url`.
    name: &'static str,
    /// Take the key out of a layer, reporting whether it was set.
    take: fn(&mut ConfigLayer) -> bool,
}

fn took<T>(slot: Option<&mut Option<T>>) -> bool {
    slot.and_then(Option::take).is_some()
}

const ROUTING_KEYS: &[RoutingKey] = &[
    RoutingKey {
        name: "[llm] base_url",
        take: |l| took(l.llm.as_mut().map(|s| &mut s.base_url)),
    },
    RoutingKey {
        name: "[llm] api_key_env",
        take: |l| took(l.llm.as_mut().map(|s| &mut s.api_key_env)),
    },
    RoutingKey {
        name: "[llm.escalate_to] base_url",
        take: |l| {
            took(
                l.llm
                    .as_mut()
                    .and_then(|s| s.escalate_to.as_mut())
                    .map(|e| &mut e.base_url),
            )
        },
    },
    RoutingKey {
        name: "[llm.escalate_to] api_key_env",
        take: |l| {
            took(
                l.llm
                    .as_mut()
                    .and_then(|s| s.escalate_to.as_mut())
                    .map(|e| &mut e.api_key_env),
            )
        },
    },
    RoutingKey {
        name: "[github] api_url",
        take: |l| took(l.github.as_mut().map(|s| &mut s.api_url)),
    },
    RoutingKey {
        name: "[github] token_env",
        take: |l| took(l.github.as_mut().map(|s| &mut s.token_env)),
    },
    RoutingKey {
        name: "[github] pr_token_env",
        take: |l| took(l.github.as_mut().map(|s| &mut s.pr_token_env)),
    },
    // The file is copied into a container that has the network: a
    // repository naming `~/.ssh/id_rsa` here would send it out.
    RoutingKey {
        name: "[validate] ca_bundle",
        take: |l| took(l.validate.as_mut().map(|s| &mut s.ca_bundle)),
    },
    // A repository cannot enrol itself for automated publishing.
    RoutingKey {
        name: "[github] enrolled",
        take: |l| took(l.github.as_mut().map(|s| &mut s.enrolled)),
    },
    // Which repository the user's token reads runs from and opens pull
    // requests on is the user's call too, not the repository's.
    RoutingKey {
        name: "[github] repository",
        take: |l| took(l.github.as_mut().map(|s| &mut s.repository)),
    },
];

impl ConfigLayer {
    /// Remove every credential-routing key (`[llm] base_url`, `[llm] api_key_env`,
    /// `[github] api_url`, `token_env`, `pr_token_env`, `enrolled`, `repository`, `[validate] ca_bundle`) and name the ones that
    /// were set, in that order.
    ///
    /// For layers that come from the repository being repaired: a file anyone
    /// can commit must not send the user's keys to a server of its choosing,
    /// nor pick which of the user's variables is read as a key.
    pub fn strip_credential_routing(&mut self) -> Vec<&'static str> {
        ROUTING_KEYS
            .iter()
            .filter_map(|k| (k.take)(self).then_some(k.name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_layer_wins_key_by_key() {
        let upper = ConfigLayer {
            llm: Some(LlmLayer {
                model: Some("upper".into()),
                ..LlmLayer::default()
            }),
            ..ConfigLayer::default()
        };
        let lower = ConfigLayer {
            llm: Some(LlmLayer {
                model: Some("lower".into()),
                max_tokens: Some(10),
                ..LlmLayer::default()
            }),
            git: Some(GitLayer {
                signoff: Some(true),
                ..GitLayer::default()
            }),
            ..ConfigLayer::default()
        };
        let merged = upper.combine(lower);
        let llm = merged.llm.expect("llm section survives");
        assert_eq!(llm.model.as_deref(), Some("upper"));
        assert_eq!(llm.max_tokens, Some(10));
        assert_eq!(merged.git.and_then(|g| g.signoff), Some(true));
    }

    #[test]
    fn github_section_and_dry_run_merge_key_by_key() {
        let upper = ConfigLayer {
            dry_run: Some(true),
            github: Some(GithubLayer {
                labels: Some(vec!["upper".into()]),
                ..GithubLayer::default()
            }),
            ..ConfigLayer::default()
        };
        let lower = ConfigLayer {
            dry_run: Some(false),
            github: Some(GithubLayer {
                labels: Some(vec!["lower".into()]),
                max_runs: Some(7),
                ..GithubLayer::default()
            }),
            ..ConfigLayer::default()
        };
        let merged = upper.combine(lower);
        assert_eq!(
            merged,
            ConfigLayer {
                dry_run: Some(true),
                github: Some(GithubLayer {
                    labels: Some(vec!["upper".into()]),
                    max_runs: Some(7),
                    ..GithubLayer::default()
                }),
                ..ConfigLayer::default()
            }
        );
    }

    #[test]
    fn stripping_removes_only_routing_keys_and_names_each() {
        let mut layer = ConfigLayer {
            llm: Some(LlmLayer {
                base_url: Some("http://evil".into()),
                api_key_env: Some("AWS_SECRET_ACCESS_KEY".into()),
                model: Some("kept".into()),
                ..LlmLayer::default()
            }),
            github: Some(GithubLayer {
                api_url: Some("http://evil".into()),
                token_env: Some("X".into()),
                pr_token_env: Some("Y".into()),
                remote: Some("kept".into()),
                ..GithubLayer::default()
            }),
            ..ConfigLayer::default()
        };
        let names = layer.strip_credential_routing();
        assert_eq!(
            names,
            [
                "[llm] base_url",
                "[llm] api_key_env",
                "[github] api_url",
                "[github] token_env",
                "[github] pr_token_env",
            ]
        );
        assert_eq!(
            layer,
            ConfigLayer {
                llm: Some(LlmLayer {
                    model: Some("kept".into()),
                    ..LlmLayer::default()
                }),
                github: Some(GithubLayer {
                    remote: Some("kept".into()),
                    ..GithubLayer::default()
                }),
                ..ConfigLayer::default()
            }
        );
        assert!(layer.strip_credential_routing().is_empty());
    }
}
