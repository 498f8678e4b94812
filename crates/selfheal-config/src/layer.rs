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
    pub llm: Option<LlmLayer>,
    pub repair: Option<RepairLayer>,
    pub validate: Option<ValidateLayer>,
    pub git: Option<GitLayer>,
    pub prompts: Option<PromptsLayer>,
}

impl Combine for ConfigLayer {
    fn combine(self, lower: Self) -> Self {
        Self {
            llm: self.llm.combine(lower.llm),
            repair: self.repair.combine(lower.repair),
            validate: self.validate.combine(lower.validate),
            git: self.git.combine(lower.git),
            prompts: self.prompts.combine(lower.prompts),
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
}
combine_fields!(LlmLayer {
    base_url,
    api_key_env,
    model,
    temperature,
    max_tokens,
    timeout_secs,
    structured_output
});

/// `[repair]`: how hard to try.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepairLayer {
    pub max_attempts: Option<u32>,
    pub context_token_budget: Option<usize>,
    pub total_token_budget: Option<u64>,
}
combine_fields!(RepairLayer {
    max_attempts,
    context_token_budget,
    total_token_budget
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
}
combine_fields!(ValidateLayer {
    image,
    timeout_secs,
    memory_mb,
    cpus,
    pids,
    test_command,
    failing_test_command
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
}
