//! The fixed split of a labelled corpus into a tuning part and a held-out
//! part, by repository.
//!
//! Logs of one repository share build scripts, tools and often the very same
//! failure, so splitting by log would let a rule tuned on one log be scored
//! on its twin. The rule is a pure function of the repository name, so it
//! never changes with the order or the size of the corpus, and a repository
//! added later falls on a side without anyone choosing: a repository is held
//! out when the first 8 bytes of the SHA-256 of its name (`owner/name`, as
//! `labels.jsonl` spells it), read as a big-endian `u64`, are divisible by 3.
//! `eval/SPLIT.md` lists the repositories this puts aside.

use sha2::{Digest, Sha256};

/// Whether `repo` (`owner/name`) belongs to the held-out part.
#[doc(hidden)]
pub fn is_held_out(repo: &str) -> bool {
    let digest = Sha256::digest(repo.as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(head) % 3 == 0
}

#[cfg(test)]
mod tests {
    use super::is_held_out;

    #[test]
    fn the_rule_is_sha256_of_the_name_mod_3() {
        // Pinned against an independent computation (Python's hashlib), so a
        // change of rule cannot pass silently.
        assert!(is_held_out("NancyFx/Nancy"));
        assert!(is_held_out("scala/scala"));
        assert!(!is_held_out("BurntSushi/ripgrep"));
        assert!(!is_held_out("pallets/flask"));
    }
}
