//! `GithubClient` against `selfheal-fakehub`, a stateful fake of GitHub on loopback.

mod access;
mod errors;
mod forge;
mod logs;
mod resilience;
mod runs;

use std::path::Path;
use std::time::Duration;

use selfheal_fakehub::{FakeHub, FakeHubBuilder, FakeToken, Permissions};
use selfheal_github::{GithubClient, GithubSettings, RetryPolicy};

/// A classic token with every scope selfheal uses.
pub const FULL: &str = "ghp_FullAccessToken0123456789abcdefABCD";
/// A fine-grained token that may read everything and write nothing.
pub const READ_ONLY: &str = "github_pat_ReadOnly0123456789abcdefABCD";
/// An installation token, as Actions' `GITHUB_TOKEN` is.
pub const ACTIONS: &str = "ghs_InstallationToken0123456789abcdefAB";
/// A fine-grained token without `actions: read`.
pub const NO_ACTIONS: &str = "github_pat_NoActions0123456789abcdefABCD";

pub const REPO: &str = "octo/widgets";

/// A fake of `octo/widgets` that knows the four tokens above.
pub fn hub() -> FakeHubBuilder {
    FakeHub::builder(REPO)
        .token(FULL, FakeToken::classic("mona", &["repo", "workflow"]))
        .token(
            READ_ONLY,
            FakeToken::fine_grained("reader", Permissions::read_only()),
        )
        .token(ACTIONS, FakeToken::installation(Permissions::all_write()))
        .token(
            NO_ACTIONS,
            FakeToken::fine_grained(
                "outsider",
                Permissions {
                    actions: selfheal_fakehub::Access::None,
                    ..Permissions::read_only()
                },
            ),
        )
}

/// Retries quick enough for tests: backoff is capped by `max_wait`.
pub fn quick(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        max_wait: Duration::from_millis(20),
    }
}

pub fn client_for(
    hub: &FakeHub,
    token: Option<&str>,
    retry: RetryPolicy,
    cache_root: &Path,
) -> GithubClient {
    GithubClient::new(GithubSettings {
        api_url: hub.url(),
        repository: REPO.to_owned(),
        token: token.map(str::to_owned),
        cache_root: cache_root.to_path_buf(),
        retry,
    })
    .expect("valid settings")
}

/// A client with the full token, quick retries, and a cache in a folder nobody reads.
pub fn client(hub: &FakeHub, token: &str) -> GithubClient {
    // Never written: only `fetch_logs` uses the cache, and its tests pass their own.
    client_for(
        hub,
        Some(token),
        quick(2),
        Path::new("/nonexistent/selfheal-cache"),
    )
}
