//! Talking to remotes: getting the failing commit, publishing the fix.
//!
//! The same promise as the rest of the crate holds: the user's `HEAD`,
//! index, work tree, branches, remote-tracking branches, stashes and
//! `.git/config` are left as they were. What these operations may add:
//!
//! - objects (a fetched commit and what it needs), and for a shallow clone a
//!   new line in `.git/shallow` (the fetched commit's boundary, exactly as
//!   `git fetch --depth 1 origin <sha>` records it).
//!
//! No ref is created, not even a temporary one under `refs/selfheal/`: the
//! objects are downloaded without updating tips. Until the fix commit and
//! its branch refer to them they are unreferenced, and `git gc` keeps
//! unreferenced objects for two weeks by default (`gc.pruneExpire`), far
//! longer than a repair takes.
//!
//! Every remote is used as an anonymous, in-memory remote made from its URL,
//! so nothing is written to the config, `FETCH_HEAD` is not written, and no
//! remote-tracking ref moves. Pushes never force: a branch is created only
//! where it does not exist and updated only from the head the caller
//! expects, by a fast-forward.
//!
//! # HTTPS and private certificate authorities
//! libgit2 verifies certificates with OpenSSL against the default store,
//! which honours `SSL_CERT_FILE` (a PEM bundle) and `SSL_CERT_DIR`. Behind a
//! TLS-intercepting proxy or with a GitHub Enterprise Server signed by a
//! private CA, set `SSL_CERT_FILE` to a bundle holding that CA before
//! selfheal starts: OpenSSL reads it once, when libgit2 first initialises.
//! Verification is never turned off. `GIT_SSL_CAINFO` and `http.sslCAInfo`
//! are git's own settings and libgit2 does not read them. Proxies come from
//! `http.proxy` and the `https_proxy` family of variables, as for git.

use std::cell::Cell;
use std::sync::Mutex;
use std::sync::mpsc::RecvTimeoutError;

use git2::{
    AutotagOption, Direction, ErrorClass, ErrorCode, FetchOptions, FetchPrune, Oid, ProxyOptions,
    PushOptions, Remote, Repository,
};

use crate::auth::{Auth, AuthFailure, Credentials};
use crate::url::{https_for_ssh, is_local, local_path, looks_like_address, without_userinfo};
use crate::{GitError, Repo, branch_exists};

/// What [`Repo::push_branch`] did to the remote branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// The branch did not exist and now points at the local branch's head.
    Created,
    /// The branch was at the expected head and now points at the local
    /// branch's head, which descends from it (or is it: a push of nothing
    /// new counts as a fast-forward by zero commits).
    FastForwarded,
}

/// A remote as libgit2 should reach it, and as messages may show it.
struct Endpoint {
    url: String,
    shown: String,
}

/// The destination of fetch refspecs. Only named: selfheal downloads without
/// updating refs, so nothing is ever written here (see [`download`]).
const FETCH_REFS: &str = "refs/selfheal/fetch";

impl Repo {
    /// The fetch URL of the remote named `remote` in the repository's
    /// config, without any `user:password@` it may carry (so it can be shown
    /// or logged; pass the remote's name, not this URL, to push or fetch
    /// with the configured credentials).
    pub fn remote_url(&self, remote: &str) -> Result<String, GitError> {
        let repo = self.repo();
        let found = find_remote(&repo, remote, &self.root)?;
        let url = address(&found, Direction::Fetch).ok_or_else(|| self.not_found(remote))?;
        Ok(without_userinfo(url))
    }

    /// The full sha of commit `sha`, fetching it from `remote` (a remote's
    /// name, a URL or a path) when the object database lacks it.
    ///
    /// A `workflow_run` job checks out the default branch, often shallowly,
    /// so the run's head commit is commonly absent. The commit itself is
    /// fetched first (by its sha; GitHub serves any reachable commit), then,
    /// if that fails or brings nothing, every branch head with its history.
    /// Only objects are written: no ref, no `FETCH_HEAD`.
    ///
    /// In a shallow clone the fetch is `--depth 1`: it brings the commit's
    /// full tree and records the commit as a shallow boundary, so
    /// [`Repo::export_tree`] works without downloading the history. From a
    /// local remote (libgit2 cannot fetch shallowly over its local
    /// transport, and would drop `.git/shallow`), a shallow clone instead
    /// copies the commit with its whole history from the other repository.
    pub fn ensure_commit(
        &self,
        sha: &str,
        remote: &str,
        creds: &Credentials,
    ) -> Result<String, GitError> {
        if let Some(found) = self.present_commit(sha) {
            return Ok(found);
        }
        let oid = full_oid(sha).ok_or_else(|| GitError::NotAFullSha {
            rev: sha.to_owned(),
        })?;
        let (from, creds_) = (remote.to_owned(), creds.clone());
        let shown = self.on_network("fetch from", remote, move |this| {
            let repo = this.repo();
            let endpoint = endpoint(&repo, &from, Direction::Fetch, &creds_, &this.root)?;
            if repo.is_shallow() && is_local(&endpoint.url) {
                copy_from_local(&repo, &endpoint, oid)?;
            } else {
                fetch_commit(&repo, &endpoint, oid, &creds_)?;
            }
            Ok(endpoint.shown)
        })?;
        // The handle behind `self` may have cached the pack list and the
        // shallow boundaries from before the fetch.
        self.refresh()?;
        self.present_commit(&oid.to_string())
            .ok_or_else(|| GitError::CommitNotOnRemote {
                sha: oid.to_string(),
                remote: shown,
            })
    }

    /// Runs `op`, which talks to `remote`, on a handle of its own in a
    /// thread of its own, and stops waiting for it after the network
    /// timeout: libgit2 has no deadline of its own, and a server that
    /// accepts the connection and never answers would hang the repair (and
    /// the CI job running it) for good. An operation given up on is left to
    /// finish or fail in the background; nothing waits for it, and being a
    /// fetch of objects or a push that never forces, it can only do what it
    /// was asked. The thread ends with the process at the latest. `f` gets
    /// a `Repo` on a handle of its own: its `repo()` is free for it alone.
    fn on_network<T, F>(&self, op: &'static str, remote: &str, f: F) -> Result<T, GitError>
    where
        T: Send + 'static,
        F: FnOnce(&Repo) -> Result<T, GitError> + Send + 'static,
    {
        let detached = Repo {
            inner: Mutex::new(self.fresh_handle()?),
            root: self.root.clone(),
            network_timeout: self.network_timeout,
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("git-remote".into())
            .spawn(move || {
                let _ = tx.send(f(&detached));
            })
            .map_err(GitError::io("start a thread for", self.root.clone()))?;
        match rx.recv_timeout(self.network_timeout) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(GitError::RemoteTimeout {
                op,
                remote: without_userinfo(remote),
                secs: self.network_timeout.as_secs(),
            }),
            Err(RecvTimeoutError::Disconnected) => Err(GitError::Io {
                action: "talk to a remote from",
                path: self.root.clone(),
                source: std::io::Error::other("the git thread stopped unexpectedly"),
            }),
        }
    }

    /// The sha `refs/heads/<branch>` has on `remote`, or `None` when the
    /// remote has no such branch (`git ls-remote`).
    pub fn remote_branch_head(
        &self,
        remote: &str,
        branch: &str,
        creds: &Credentials,
    ) -> Result<Option<String>, GitError> {
        let (remote_, branch, creds) = (remote.to_owned(), branch.to_owned(), creds.clone());
        self.on_network("list the branches of", remote, move |this| {
            this.remote_branch_head_now(&remote_, &branch, &creds)
        })
    }

    fn remote_branch_head_now(
        &self,
        remote: &str,
        branch: &str,
        creds: &Credentials,
    ) -> Result<Option<String>, GitError> {
        let repo = self.repo();
        // Refuses names git would refuse; whether it exists here is irrelevant.
        branch_exists(&repo, branch)?;
        let endpoint = endpoint(&repo, remote, Direction::Fetch, creds, &self.root)?;
        let auth = Auth::new(creds, &endpoint.url);
        let mut anon = anonymous(&repo, &endpoint)?;
        let refname = format!("refs/heads/{branch}");
        let connection = anon
            .connect_auth(Direction::Fetch, Some(auth.callbacks()), Some(proxy()))
            .map_err(|e| remote_error("list the branches of", &endpoint, &auth, creds, e))?;
        let heads = connection
            .list()
            .map_err(|e| remote_error("list the branches of", &endpoint, &auth, creds, e))?;
        Ok(heads
            .iter()
            .find(|head| head.name() == refname)
            .map(|head| head.oid().to_string()))
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors (`git
    /// merge-base --is-ancestor`). Both must be in the repository.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool, GitError> {
        let repo = self.repo();
        let a = crate::resolve(&repo, ancestor, &self.root)?.id();
        let d = crate::resolve(&repo, descendant, &self.root)?.id();
        if a == d {
            return Ok(true);
        }
        repo.graph_descendant_of(d, a)
            .map_err(GitError::git("compare commit histories"))
    }

    /// Pushes the local `refs/heads/<branch>` to the same name on `remote`
    /// (a remote's name, a URL or a path), never forcing.
    ///
    /// With `expected_remote_head: None` the remote branch must not exist;
    /// with `Some(sha)` it must be at `sha`, and the local branch must
    /// descend from `sha`. The check is made on the refs the remote
    /// advertises for this very push, and a git server applies the update
    /// only if the branch still has that value, so a concurrent push cannot
    /// be overwritten. (libgit2's local transport, for path remotes, skips
    /// that last compare; a race there can only replace a head that itself
    /// passed the check a moment earlier.)
    pub fn push_branch(
        &self,
        remote: &str,
        branch: &str,
        expected_remote_head: Option<&str>,
        creds: &Credentials,
    ) -> Result<PushOutcome, GitError> {
        self.push_branch_to(remote, branch, branch, expected_remote_head, creds)
    }

    /// Like [`Repo::push_branch`], onto a remote branch of another name (a
    /// fix added to the branch of an existing pull request), with the same
    /// rules: never forced, `expected_remote_head` must hold.
    pub fn push_branch_to(
        &self,
        remote: &str,
        local_branch: &str,
        branch: &str,
        expected_remote_head: Option<&str>,
        creds: &Credentials,
    ) -> Result<PushOutcome, GitError> {
        let (remote_, local_branch, branch) = (
            remote.to_owned(),
            local_branch.to_owned(),
            branch.to_owned(),
        );
        let (expected, creds) = (expected_remote_head.map(str::to_owned), creds.clone());
        self.on_network("push to", remote, move |this| {
            this.push_branch_to_now(
                &remote_,
                &local_branch,
                &branch,
                expected.as_deref(),
                &creds,
            )
        })
    }

    fn push_branch_to_now(
        &self,
        remote: &str,
        local_branch: &str,
        branch: &str,
        expected_remote_head: Option<&str>,
        creds: &Credentials,
    ) -> Result<PushOutcome, GitError> {
        let repo = self.repo();
        if !branch_exists(&repo, local_branch)? {
            return Err(GitError::BranchNotFound {
                branch: local_branch.to_owned(),
            });
        }
        let local_refname = format!("refs/heads/{local_branch}");
        let refname = format!("refs/heads/{branch}");
        let local = repo
            .refname_to_id(&local_refname)
            .map_err(GitError::git("read the branch to push"))?;
        let endpoint = endpoint(&repo, remote, Direction::Push, creds, &self.root)?;

        let expected = match expected_remote_head {
            None => None,
            Some(sha) => {
                let commit = crate::resolve(&repo, sha, &self.root)?.id();
                let fast_forward = commit == local
                    || repo
                        .graph_descendant_of(local, commit)
                        .map_err(GitError::git("compare commit histories"))?;
                if !fast_forward {
                    return Err(GitError::NotFastForward {
                        remote: endpoint.shown,
                        branch: branch.to_owned(),
                        remote_head: commit.to_string(),
                    });
                }
                Some(commit)
            }
        };

        let auth = Auth::new(creds, &endpoint.url);
        // Filled in by the callbacks, read once libgit2 returns.
        let found_remote: Cell<Option<Oid>> = Cell::new(None);
        let refused: Cell<bool> = Cell::new(false);
        let rejection: std::cell::RefCell<Option<String>> = std::cell::RefCell::new(None);

        let mut callbacks = auth.callbacks();
        callbacks.push_negotiation(|updates| {
            let Some(update) = updates
                .iter()
                .find(|u| u.dst_refname().ok() == Some(refname.as_str()))
            else {
                return Ok(());
            };
            let current = update.src();
            found_remote.set(Some(current));
            let matches = match expected {
                None => current.is_zero(),
                Some(expected) => current == expected,
            };
            if matches {
                Ok(())
            } else {
                refused.set(true);
                Err(git2::Error::from_str(
                    "the remote branch is not where expected",
                ))
            }
        });
        // libgit2 reports a ref the server refused here, not as an error.
        callbacks.push_update_reference(|name, status| {
            if let Some(status) = status
                && name == refname
            {
                *rejection.borrow_mut() = Some(status.to_owned());
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks);
        options.proxy_options(proxy());

        let mut anon = anonymous(&repo, &endpoint)?;
        let spec = format!("{local_refname}:{refname}");
        let pushed = anon.push(&[spec.as_str()], Some(&mut options));
        drop(options);

        let current = found_remote.get();
        if refused.get() {
            let current = current.filter(|c| !c.is_zero()).map(|c| c.to_string());
            return Err(match (expected, current) {
                (None, Some(sha)) => GitError::RemoteBranchExists {
                    remote: endpoint.shown,
                    branch: branch.to_owned(),
                    sha,
                },
                (expected, found) => GitError::RemoteBranchMoved {
                    remote: endpoint.shown,
                    branch: branch.to_owned(),
                    expected: expected.map(|e| e.to_string()).unwrap_or_default(),
                    found,
                },
            });
        }
        if let Err(e) = pushed {
            if e.code() == ErrorCode::NotFastForward {
                return Err(GitError::NotFastForward {
                    remote: endpoint.shown,
                    branch: branch.to_owned(),
                    remote_head: current.map(|c| c.to_string()).unwrap_or_default(),
                });
            }
            return Err(remote_error("push to", &endpoint, &auth, creds, e));
        }
        if let Some(reason) = rejection.into_inner() {
            return Err(GitError::PushRejected {
                remote: endpoint.shown,
                branch: branch.to_owned(),
                reason: creds.scrub(&reason),
            });
        }
        // The negotiation check held: the remote was where expected.
        Ok(match expected {
            None => PushOutcome::Created,
            Some(_) => PushOutcome::FastForwarded,
        })
    }

    /// The full sha of `rev` when it names a commit in the object database.
    fn present_commit(&self, rev: &str) -> Option<String> {
        let repo = self.repo();
        let commit = repo.revparse_single(rev).ok()?.peel_to_commit().ok()?;
        Some(commit.id().to_string())
    }

    /// A second handle on the same repository, for network operations: the
    /// shared one stays free for other tasks meanwhile.
    fn fresh_handle(&self) -> Result<Repository, GitError> {
        let path = self.repo().path().to_path_buf();
        Repository::open(&path).map_err(|source| GitError::NotARepository { path, source })
    }

    /// Replaces the shared handle with a new one, which sees objects and
    /// shallow boundaries that another handle added.
    fn refresh(&self) -> Result<(), GitError> {
        let fresh = self.fresh_handle()?;
        *self.repo() = fresh;
        Ok(())
    }

    fn not_found(&self, remote: &str) -> GitError {
        GitError::RemoteNotFound {
            remote: remote.to_owned(),
            repo: self.root.clone(),
        }
    }
}

fn find_remote<'r>(
    repo: &'r Repository,
    remote: &str,
    root: &std::path::Path,
) -> Result<Remote<'r>, GitError> {
    let not_found = || GitError::RemoteNotFound {
        remote: remote.to_owned(),
        repo: root.to_path_buf(),
    };
    // `is_valid_name` panics on a NUL byte.
    if remote.contains('\0') || !Remote::is_valid_name(remote) {
        return Err(not_found());
    }
    repo.find_remote(remote).map_err(|e| match e.code() {
        ErrorCode::NotFound | ErrorCode::InvalidSpec => not_found(),
        _ => GitError::Git {
            op: "read the remote's config",
            source: e,
        },
    })
}

/// A configured remote's URL for `direction` (`pushurl` wins for pushes),
/// when it has a usable one.
fn address<'a>(found: &'a Remote<'_>, direction: Direction) -> Option<&'a str> {
    let usable = |bytes: &'a [u8]| std::str::from_utf8(bytes).ok().filter(|u| !u.is_empty());
    let push = match direction {
        Direction::Push => found.pushurl_bytes().and_then(usable),
        Direction::Fetch => None,
    };
    push.or_else(|| usable(found.url_bytes()))
}

/// Where `remote` (a remote's name, a URL or a path) is, for `direction`.
///
/// With a token, an SSH address of the remote becomes its HTTPS address
/// (the token only works there, and this libgit2 has no SSH), and
/// credentials written into an HTTPS URL are dropped so libgit2 uses the
/// token rather than trying them first.
fn endpoint(
    repo: &Repository,
    remote: &str,
    direction: Direction,
    creds: &Credentials,
    root: &std::path::Path,
) -> Result<Endpoint, GitError> {
    let url = match find_remote(repo, remote, root) {
        Ok(found) => address(&found, direction)
            .map(str::to_owned)
            .ok_or_else(|| GitError::RemoteNotFound {
                remote: remote.to_owned(),
                repo: root.to_path_buf(),
            })?,
        Err(GitError::RemoteNotFound { .. }) if looks_like_address(remote) => remote.to_owned(),
        Err(e) => return Err(e),
    };
    let url = match (creds.secret(), https_for_ssh(&url)) {
        (Some(_), Some(https)) => https,
        (Some(_), None) => without_userinfo(&url),
        (None, Some(_)) => return Err(GitError::SshUnsupported { remote: url }),
        (None, None) => url,
    };
    let shown = without_userinfo(&url);
    Ok(Endpoint { url, shown })
}

/// An in-memory remote: nothing about it is saved in the config.
fn anonymous<'r>(repo: &'r Repository, endpoint: &Endpoint) -> Result<Remote<'r>, GitError> {
    repo.remote_anonymous(&endpoint.url)
        .map_err(|source| GitError::Remote {
            op: "use the remote",
            remote: endpoint.shown.clone(),
            source,
        })
}

fn proxy() -> ProxyOptions<'static> {
    let mut proxy = ProxyOptions::new();
    proxy.auto();
    proxy
}

fn remote_error(
    op: &'static str,
    endpoint: &Endpoint,
    auth: &Auth<'_>,
    creds: &Credentials,
    source: git2::Error,
) -> GitError {
    let remote = endpoint.shown.clone();
    match auth.failure() {
        Some(AuthFailure::Rejected) => GitError::AuthRejected { remote },
        Some(AuthFailure::Missing) => GitError::AuthRequired { remote },
        Some(AuthFailure::Unsupported) => GitError::AuthUnsupported { remote },
        None => GitError::Remote {
            op,
            remote,
            source: creds.scrub_error(source),
        },
    }
}

/// A full hex object id (what a CI run reports), as opposed to an
/// abbreviation or a ref name, which a server will not resolve for a fetch.
fn full_oid(sha: &str) -> Option<Oid> {
    let hex = sha.len() == 40 || sha.len() == 64;
    if !hex || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Oid::from_str(sha).ok()
}

fn has_commit(repo: &Repository, oid: Oid) -> bool {
    repo.find_commit(oid).is_ok()
}

/// Fetches `oid` by itself, then all branch heads if that did not bring it.
fn fetch_commit(
    repo: &Repository,
    endpoint: &Endpoint,
    oid: Oid,
    creds: &Credentials,
) -> Result<(), GitError> {
    // Shallow stays shallow: one commit deep is all `export_tree` needs. A
    // complete clone must not become shallow, so it fetches whole histories.
    let depth = i32::from(repo.is_shallow());
    let by_sha = format!("+{oid}:{FETCH_REFS}/{oid}");
    match download(repo, endpoint, &by_sha, depth, creds) {
        Ok(()) if has_commit(repo, oid) => Ok(()),
        // The token failed: offering it again would break the one-try rule.
        Err(
            e @ (GitError::AuthRejected { .. }
            | GitError::AuthRequired { .. }
            | GitError::AuthUnsupported { .. }),
        ) => Err(e),
        // Servers that refuse unadvertised commits (no
        // `allow-reachable-sha1-in-want`, or `not our ref`), or a local
        // transport that had nothing to send for it: any branch may hold
        // the commit deeper down, so fetch them with their history. A
        // network failure fails again here, at the cost of one connection.
        _ => download(
            repo,
            endpoint,
            &format!("+refs/heads/*:{FETCH_REFS}/{oid}-heads/*"),
            0,
            creds,
        ),
    }
}

/// Downloads what `refspec` names into the object database, and nothing
/// else: no ref is created or moved, not even the refspec's destination.
///
/// `Remote::fetch` would also update tips, and libgit2 then truncates
/// `FETCH_HEAD` even when told not to write it; the user's `FETCH_HEAD` (what
/// `git merge FETCH_HEAD` would merge) stays theirs. The shallow
/// boundaries of a `depth` fetch are still recorded, by the download itself.
fn download(
    repo: &Repository,
    endpoint: &Endpoint,
    refspec: &str,
    depth: i32,
    creds: &Credentials,
) -> Result<(), GitError> {
    let auth = Auth::new(creds, &endpoint.url);
    let mut options = FetchOptions::new();
    options
        .remote_callbacks(auth.callbacks())
        .proxy_options(proxy())
        .download_tags(AutotagOption::None)
        .prune(FetchPrune::Off)
        .update_fetchhead(false)
        .depth(depth);
    let mut anon = anonymous(repo, endpoint)?;
    let result = anon
        .download(&[refspec], Some(&mut options))
        .map_err(|e| remote_error("fetch from", endpoint, &auth, creds, e));
    // Closing the connection cannot undo what was downloaded.
    let _ = anon.disconnect();
    result
}

/// Copies `oid` and its whole history from a repository on this machine
/// into a shallow clone's object database, as one new pack.
///
/// libgit2's local transport cannot do this: it negotiates by hiding every
/// local ref, and a shallow clone's refs point at commits whose history it
/// lacks, so an older commit is never sent; and after any local fetch it
/// rewrites `.git/shallow` as empty, i.e. deletes it. Here nothing is
/// hidden and `.git/shallow` is not touched: the commit arrives complete,
/// so it needs no shallow boundary.
fn copy_from_local(repo: &Repository, endpoint: &Endpoint, oid: Oid) -> Result<(), GitError> {
    let path = local_path(&endpoint.url);
    let source_err = |source| GitError::Remote {
        op: "read",
        remote: endpoint.shown.clone(),
        source,
    };
    let source = Repository::open(&path).map_err(source_err)?;
    if source.find_commit(oid).is_err() {
        return Ok(()); // reported by the caller as not on the remote
    }
    if source.is_shallow() {
        return Err(source_err(git2::Error::new(
            ErrorCode::GenericError,
            ErrorClass::Repository,
            "it is a shallow clone too, so it may lack the commit's history",
        )));
    }
    let mut walk = source.revwalk().map_err(source_err)?;
    walk.push(oid).map_err(source_err)?;
    let mut pack = source.packbuilder().map_err(source_err)?;
    pack.insert_walk(&mut walk).map_err(source_err)?;

    let odb = repo
        .odb()
        .map_err(GitError::git("open the object database"))?;
    let mut writer = odb.packwriter().map_err(GitError::git("write a pack"))?;
    let mut failed = None;
    let built = pack.foreach(
        |chunk| match std::io::Write::write_all(&mut writer, chunk) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        },
    );
    if let Some(e) = failed {
        return Err(GitError::Io {
            action: "write a pack into",
            path: repo.path().join("objects/pack"),
            source: e,
        });
    }
    built.map_err(source_err)?;
    writer.commit().map_err(GitError::git("write a pack"))?;
    Ok(())
}
