//! The token, and the only place it is handed to libgit2.
//!
//! The token travels in exactly one direction: from [`Credentials`] into
//! libgit2's credentials callback, as the password of `x-access-token`
//! (what GitHub expects from an app or Actions token, and what it accepts
//! for a personal token too). It is never put into a remote URL, so it
//! cannot reach `.git/config`, `FETCH_HEAD`, a reflog message or an error
//! built from a URL; and errors that carry text from libgit2 or the server
//! are scrubbed of it on the way out.

use std::cell::Cell;

use git2::{Cred, CredentialType, RemoteCallbacks};

use crate::url::http_host;

/// How selfheal authenticates to a remote.
///
/// `Debug` never shows the token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// A GitHub token (Actions `GITHUB_TOKEN`, an app installation token or
    /// a personal access token). `None`, or an empty string, means anonymous:
    /// enough for public fetches and local remotes.
    pub token: Option<String>,
}

impl Credentials {
    /// No token.
    pub fn anonymous() -> Self {
        Self { token: None }
    }

    pub fn with_token(token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
        }
    }

    /// The token, when there is a usable one.
    pub(crate) fn secret(&self) -> Option<&str> {
        self.token.as_deref().filter(|t| !t.is_empty())
    }

    /// `text` with every occurrence of the token replaced.
    pub(crate) fn scrub(&self, text: &str) -> String {
        match self.secret() {
            Some(token) => text.replace(token, "***"),
            None => text.to_owned(),
        }
    }

    /// A libgit2 error whose message cannot carry the token.
    pub(crate) fn scrub_error(&self, err: git2::Error) -> git2::Error {
        match self.secret() {
            Some(token) if err.message().contains(token) => {
                git2::Error::new(err.code(), err.class(), self.scrub(err.message()))
            }
            _ => err,
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = match &self.token {
            None => "None",
            Some(t) if t.is_empty() => "Some(\"\")",
            Some(_) => "Some(<redacted>)",
        };
        f.debug_struct("Credentials")
            .field("token", &format_args!("{token}"))
            .finish()
    }
}

/// Why the credentials callback gave up, read after libgit2 returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// The token was offered once and the server asked again.
    Rejected,
    /// The server wants a user and password and there is no token.
    Missing,
    /// The server wants something a token cannot be (an SSH key, a
    /// certificate), or asked from another host after a redirect.
    Unsupported,
}

/// One remote operation's view of the credentials: offers the token at most
/// once and remembers why it stopped.
pub(crate) struct Auth<'c> {
    creds: &'c Credentials,
    /// Only this host gets the token; a redirect elsewhere does not.
    host: Option<String>,
    offered: Cell<bool>,
    failure: Cell<Option<AuthFailure>>,
}

impl<'c> Auth<'c> {
    pub(crate) fn new(creds: &'c Credentials, url: &str) -> Self {
        Self {
            creds,
            host: http_host(url),
            offered: Cell::new(false),
            failure: Cell::new(None),
        }
    }

    pub(crate) fn failure(&self) -> Option<AuthFailure> {
        self.failure.get()
    }

    /// Callbacks with the credentials hook installed; callers add their own.
    pub(crate) fn callbacks(&self) -> RemoteCallbacks<'_> {
        let mut callbacks = RemoteCallbacks::new();
        callbacks.credentials(move |url, _username, allowed| self.credential(url, allowed));
        callbacks
    }

    /// libgit2 calls this again after every 401; answering with an error
    /// the second time is what bounds the retries to one.
    fn credential(&self, url: &str, allowed: CredentialType) -> Result<Cred, git2::Error> {
        let fail = |why: AuthFailure, message: &str| {
            self.failure.set(Some(why));
            Err(git2::Error::from_str(message))
        };
        if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            return fail(
                AuthFailure::Unsupported,
                "the remote asked for credentials other than a token",
            );
        }
        let Some(token) = self.creds.secret() else {
            return fail(AuthFailure::Missing, "the remote asked for a token");
        };
        if self.offered.get() {
            return fail(AuthFailure::Rejected, "the remote rejected the token");
        }
        if http_host(url) != self.host {
            return fail(
                AuthFailure::Unsupported,
                "refusing to send the token to another host",
            );
        }
        self.offered.set(true);
        Cred::userpass_plaintext("x-access-token", token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let creds = Credentials::with_token("ghp_secret123");
        let shown = format!("{creds:?} {creds:#?}");
        assert!(!shown.contains("ghp_secret123"), "{shown}");
        assert_eq!(
            format!("{creds:?}"),
            "Credentials { token: Some(<redacted>) }"
        );
        assert_eq!(
            format!("{:?}", Credentials::anonymous()),
            "Credentials { token: None }"
        );
    }

    #[test]
    fn the_token_is_offered_once_then_refused() {
        let creds = Credentials::with_token("t0k");
        let auth = Auth::new(&creds, "https://h.example/o/r");
        let allowed = CredentialType::USER_PASS_PLAINTEXT;
        assert!(auth.credential("https://h.example/o/r", allowed).is_ok());
        assert_eq!(auth.failure(), None);
        let Err(err) = auth.credential("https://h.example/o/r", allowed) else {
            panic!("the second ask must be refused");
        };
        assert_eq!(err.message(), "the remote rejected the token");
        assert_eq!(auth.failure(), Some(AuthFailure::Rejected));
    }

    #[test]
    fn no_token_for_other_hosts_or_other_kinds() {
        let creds = Credentials::with_token("t0k");
        let auth = Auth::new(&creds, "https://h.example/o/r");
        assert!(
            auth.credential(
                "https://evil.example/o/r",
                CredentialType::USER_PASS_PLAINTEXT
            )
            .is_err()
        );
        assert_eq!(auth.failure(), Some(AuthFailure::Unsupported));

        let auth = Auth::new(&creds, "https://h.example/o/r");
        assert!(
            auth.credential("https://h.example/o/r", CredentialType::SSH_KEY)
                .is_err()
        );

        let none = Credentials::with_token("");
        let auth = Auth::new(&none, "https://h.example/o/r");
        assert!(
            auth.credential("https://h.example/o/r", CredentialType::USER_PASS_PLAINTEXT)
                .is_err()
        );
        assert_eq!(auth.failure(), Some(AuthFailure::Missing));
    }

    #[test]
    fn scrubbing_removes_the_token_from_messages() {
        let creds = Credentials::with_token("t0k3n");
        let err = creds.scrub_error(git2::Error::from_str("server said t0k3n is bad"));
        assert_eq!(err.message(), "server said *** is bad");
        assert_eq!(Credentials::anonymous().scrub("t0k3n"), "t0k3n");
    }
}
