//! Downloading a run's logs into the offline cache.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use http_body_util::BodyExt;
use selfheal_monitor::ensure_self_ignored;
use selfheal_types::RunInfo;
use tokio::io::AsyncWriteExt;

use crate::transport::{Failure, Need};
use crate::{GithubClient, GithubError, check_run_id, perm};

/// Largest run-logs zip downloaded; GitHub's biggest are a few hundred MiB.
const MAX_LOGS_ZIP: u64 = 2 << 30;

/// A download in progress: removed when dropped, whatever happened.
struct Partial {
    path: PathBuf,
}

impl Partial {
    /// A fresh hidden name in `dir`, so the cache never lists a half-written zip.
    fn new(dir: &Path, run_id: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Self {
            path: dir.join(format!(".download-{run_id}-{}-{n}.zip", std::process::id())),
        }
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> GithubError {
    let path = path.to_path_buf();
    move |source| GithubError::Io {
        action,
        path,
        source,
    }
}

enum Streamed {
    Done,
    /// The connection broke mid-body: worth another try.
    Broken(String),
}

impl GithubClient {
    /// Downloads the run-logs zip of `run` and unpacks it into the offline
    /// cache, with `run` as its `run.json`; returns the cached folder.
    pub(crate) async fn download_logs(&self, run: &RunInfo) -> Result<PathBuf, GithubError> {
        check_run_id(&run.id)?;
        let own_dir = self.cache_root.join(".selfheal");
        ensure_self_ignored(&own_dir).map_err(io("create", &own_dir))?;
        let dir = self.cache.dir().to_path_buf();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(io("create", &dir))?;
        let need = Need::new(
            format!("download the logs of run {}", run.id),
            perm::ACTIONS_READ,
        );
        let uri = self.repo_path(&format!("/actions/runs/{}/logs", run.id));
        let partial = Partial::new(&dir, &run.id);
        let mut broken = 0;
        loop {
            let reply = match self.transport.get_stream(&uri, &need).await {
                Ok(reply) => reply,
                Err(Failure::Refused(refusal)) if matches!(refusal.status, 404 | 410) => {
                    if refusal.status == 404 && self.repository_visible().await == Some(false) {
                        return Err(GithubError::RepoNotFound {
                            repository: self.repository.clone(),
                        });
                    }
                    return Err(GithubError::LogsGone {
                        run_id: run.id.clone(),
                        status: refusal.status,
                    });
                }
                Err(failure) => {
                    return Err(self.fail(failure, &need, Some("run logs")).await);
                }
            };
            match self.stream_to(reply.body, &partial.path, &run.id).await? {
                Streamed::Done => break,
                Streamed::Broken(reason) => {
                    broken += 1;
                    if broken > self.transport.max_retries() {
                        return Err(GithubError::Connection {
                            action: need.action.clone(),
                            api_url: self.transport.api_url().to_owned(),
                            reason: self.transport.scrub(&reason),
                            attempts: broken,
                        });
                    }
                    tracing::warn!(run = %run.id, %reason, "logs download broke off; retrying");
                }
            }
        }
        let cache = self.cache.clone();
        let info = run.clone();
        let zip = partial.path.clone();
        let cached = tokio::task::spawn_blocking(move || cache.store_zip_file(&info, &zip))
            .await
            .map_err(|e| GithubError::Io {
                action: "unpack",
                path: partial.path.clone(),
                source: std::io::Error::other(e.to_string()),
            })??;
        drop(partial);
        Ok(cached.logs)
    }

    /// Writes `body` to `path` (replacing what an earlier try left).
    async fn stream_to(
        &self,
        mut body: crate::transport::Body,
        path: &Path,
        run_id: &str,
    ) -> Result<Streamed, GithubError> {
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(io("create", path))?;
        let mut written: u64 = 0;
        while let Some(frame) = body.frame().await {
            let frame = match frame {
                Ok(frame) => frame,
                Err(e) => return Ok(Streamed::Broken(e.to_string())),
            };
            if let Ok(data) = frame.into_data() {
                written += data.len() as u64;
                if written > MAX_LOGS_ZIP {
                    return Err(GithubError::TooLarge {
                        run_id: run_id.to_owned(),
                        limit_mib: MAX_LOGS_ZIP >> 20,
                    });
                }
                file.write_all(&data).await.map_err(io("write", path))?;
            }
        }
        file.flush().await.map_err(io("write", path))?;
        Ok(Streamed::Done)
    }
}
