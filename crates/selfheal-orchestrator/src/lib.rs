//! The repair loop: analyze, reason, patch, approve, validate, retry, commit
