//! A loopback HTTPS git server for the tests: rustls (with a CA and a
//! server certificate made at start-up) in front of `git http-backend` run
//! as a CGI program, requiring HTTP basic auth with one token, the way
//! GitHub serves a private repository.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncWriteExt;

use super::Result;

/// What the server saw in one request's `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// No header: libgit2's first, anonymous try.
    Anonymous,
    /// Basic auth, decoded: `user:password`.
    Basic(String),
}

struct State {
    project_root: PathBuf,
    token: String,
    seen: Mutex<Vec<Seen>>,
}

/// Serves the repositories under `project_root` (`https://127.0.0.1:PORT/<dir>`)
/// until dropped.
pub struct GitServer {
    base: String,
    ca_file: PathBuf,
    state: Arc<State>,
    _certs: tempfile::TempDir,
    // Dropped last: stops the accept loop and every connection.
    _runtime: tokio::runtime::Runtime,
}

impl GitServer {
    /// Starts serving; requests must carry basic auth whose password is `token`.
    pub fn start(project_root: &Path, token: &str) -> Result<Self> {
        let certs = tempfile::tempdir()?;
        let (tls, ca_pem) = tls_config()?;
        let ca_file = certs.path().join("ca.pem");
        std::fs::write(&ca_file, ca_pem)?;

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let base = format!("https://{}", listener.local_addr()?);
        let state = Arc::new(State {
            project_root: project_root.to_path_buf(),
            token: token.to_owned(),
            seen: Mutex::new(Vec::new()),
        });
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let serving = Arc::clone(&state);
        runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let state = Arc::clone(&serving);
                tokio::spawn(async move {
                    // A client that rejects our certificate ends here.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(handle(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Ok(Self {
            base,
            ca_file,
            state,
            _certs: certs,
            _runtime: runtime,
        })
    }

    /// The URL of the repository directory `name` under the project root.
    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    /// A PEM file with the CA that signed the server's certificate.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The `Authorization` of every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A private CA and a certificate for 127.0.0.1 and localhost signed by it.
fn tls_config() -> Result<(rustls::ServerConfig, String)> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "selfheal test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let cert = params.signed_by(&key, &ca)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), ca.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
    Ok((config, ca.pem()))
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let seen = basic_auth(&req);
    state
        .seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(seen.clone());
    let user = match &seen {
        Seen::Basic(pair) => match pair.split_once(':') {
            Some((user, password)) if password == state.token => user.to_owned(),
            _ => return unauthorized(),
        },
        Seen::Anonymous => return unauthorized(),
    };
    match cgi(state, req, &user).await {
        Ok(response) => response,
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}\n")),
    }
}

fn basic_auth(req: &Request<Incoming>) -> Seen {
    let decoded = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    decoded.map_or(Seen::Anonymous, Seen::Basic)
}

fn unauthorized() -> Response<Full<Bytes>> {
    let mut response = plain(StatusCode::UNAUTHORIZED, "authentication required\n".into());
    response.headers_mut().insert(
        hyper::header::WWW_AUTHENTICATE,
        hyper::header::HeaderValue::from_static("Basic realm=\"git\""),
    );
    response
}

fn plain(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

/// Runs `git http-backend` for one request (RFC 3875 CGI).
async fn cgi(state: &State, req: Request<Incoming>, user: &str) -> Result<Response<Full<Bytes>>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", &state.project_root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REMOTE_USER", user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("PATH_INFO", parts.uri.path())
        .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?;
    // Written while the output is read, so a large pack cannot deadlock.
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let output = child.wait_with_output().await?;
    writer.await?;
    parse_cgi(&output.stdout)
}

fn parse_cgi(out: &[u8]) -> Result<Response<Full<Bytes>>> {
    let (head, body) = ["\r\n\r\n", "\n\n"]
        .iter()
        .find_map(|sep| {
            out.windows(sep.len())
                .position(|w| w == sep.as_bytes())
                .map(|at| (&out[..at], &out[at + sep.len()..]))
        })
        .ok_or_else(|| anyhow::anyhow!("no CGI header in {:?}", String::from_utf8_lossy(out)))?;
    let mut response = Response::new(Full::new(Bytes::copy_from_slice(body)));
    for line in std::str::from_utf8(head)?.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or("500");
            *response.status_mut() = StatusCode::from_bytes(code.as_bytes())?;
        } else {
            response.headers_mut().append(
                hyper::header::HeaderName::from_bytes(name.as_bytes())?,
                hyper::header::HeaderValue::from_str(value)?,
            );
        }
    }
    Ok(response)
}
