//! The HTTP plumbing: two listeners served by hyper on a thread of their own.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

use crate::api::{self, Incoming as Req, Reply};
use crate::{FakeHub, Shared, State};

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy)]
enum Host {
    Api,
    Downloads,
}

/// The connection is dropped instead of answered ([`crate::Fault::Disconnect`]).
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

pub(crate) fn start(state: State, prefix: String) -> std::io::Result<FakeHub> {
    let api = std::net::TcpListener::bind("127.0.0.1:0")?;
    let downloads = std::net::TcpListener::bind("127.0.0.1:0")?;
    api.set_nonblocking(true)?;
    downloads.set_nonblocking(true)?;
    let api_addr = api.local_addr()?;
    let downloads_addr = downloads.local_addr()?;
    let shared = Arc::new(Shared {
        state: Mutex::new(state),
        api_url: format!("http://{api_addr}{prefix}"),
        prefix,
        downloads_url: format!("http://{downloads_addr}"),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (shutdown, watch) = watch::channel(false);
    let for_thread = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("fakehub".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let api = tokio::net::TcpListener::from_std(api);
                let downloads = tokio::net::TcpListener::from_std(downloads);
                let (Ok(api), Ok(downloads)) = (api, downloads) else {
                    return;
                };
                let a = tokio::spawn(serve(
                    api,
                    Host::Api,
                    Arc::clone(&for_thread),
                    watch.clone(),
                ));
                let d = tokio::spawn(serve(downloads, Host::Downloads, for_thread, watch));
                let _ = tokio::join!(a, d);
            });
        })?;
    Ok(FakeHub {
        shared,
        api_addr,
        downloads_addr,
        shutdown: Some(shutdown),
        thread: Some(thread),
    })
}

async fn serve(
    listener: tokio::net::TcpListener,
    host: Host,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = Arc::clone(&shared);
                let mut shutdown = shutdown.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(req, host, Arc::clone(&shared)));
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = conn => {}
                        _ = shutdown.changed() => {}
                    }
                });
            }
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    host: Host,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = req.into_parts();
    // A body that cannot be read is recorded as empty; the handlers treat it as missing.
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes().to_vec())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let incoming = Req {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body,
    };
    let reply = match host {
        Host::Api => api::handle_api(&shared, incoming),
        Host::Downloads => api::handle_download(&shared, incoming),
    };
    match reply {
        Reply::Drop => Err(Dropped),
        Reply::Answer {
            status,
            headers,
            body,
        } => {
            let mut response = Response::builder().status(status);
            for (name, value) in headers {
                response = response.header(name, value);
            }
            Ok(response
                .body(Full::new(Bytes::from(body)))
                .unwrap_or_else(|_| {
                    let mut fallback = Response::new(Full::new(Bytes::new()));
                    *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                    fallback
                }))
        }
    }
}
