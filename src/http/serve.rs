//! Serving the router over TCP, with deadlines and a bound on connections.
//!
//! `axum::serve` sets no timer, so a client that opens a connection and sends its
//! headers one byte a minute (or never) holds that connection, and a socket, for as long
//! as it likes. Here every connection gets hyper's header read timeout: the headers of
//! each request, and the wait for the next one on a kept-alive connection, must arrive
//! within it or the connection is closed. A request's whole body must arrive within the
//! same time (bodies are small JSON): a deadline per piece, as nginx's
//! `client_body_timeout`, would let a body of 64 KiB sent a byte at a time hold its
//! connection for weeks. At most [`MAX_CONNECTIONS`] connections are served at once, and
//! [`MAX_PER_CLIENT`] from one address (a trusted proxy, which carries everyone's, is
//! exempt): a crowd of idle connections waits in the kernel's queue rather than take
//! every file descriptor the daemon needs for its index and its sources. Connections
//! live in a [`JoinSet`], so dropping the server (after the shutdown grace) ends them too.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::Service;

use super::ApiError;

/// After a failed accept (most often: out of file descriptors) wait this long before the
/// next, rather than spin; the connections held meanwhile may close.
const ACCEPT_PAUSE: Duration = Duration::from_millis(200);
/// Connections served at once; more wait to be accepted. Well under the 1,024 file
/// descriptors a service gets by default, which the index and the sources need too.
pub const MAX_CONNECTIONS: usize = 512;
/// Connections from one address at once (an IPv6 client's /64, which one machine has
/// whole; a browser opens six); more are closed at once.
pub const MAX_PER_CLIENT: usize = 64;
/// How often, at most, the log says that connections were closed for being too many.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(60);

/// Serves `app` on `listener` until `stop`, then lets the requests in flight finish.
/// `trusted` are the proxies whose connections carry many clients.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    trusted: Vec<IpAddr>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    // The body is read whole before the router's layers run; what it refuses (too large,
    // too slow) gets the security headers of every answer all the same.
    let app = app
        .layer(axum::middleware::from_fn(move |request, next| {
            whole_body(header_timeout, request, next)
        }))
        .layer(axum::middleware::from_fn(super::security_headers));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let per_client = Arc::new(Mutex::new(HashMap::<IpAddr, usize>::new()));
    let mut refused = Refusals::default();
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept(), if connections.len() < MAX_CONNECTIONS => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = stop.cancelled() => break,
        };
        let address = remote.ip().to_canonical();
        let limited = !trusted.contains(&address);
        // One machine has an IPv6 /64 whole: counted as one client.
        let client = super::auth::network_of(address, 64);
        let Some(counted) = ClientConnection::open(&per_client, client, limited) else {
            refused.note(address);
            continue;
        };
        // Small JSON answers: send them now rather than wait to fill a packet.
        let _ = stream.set_nodelay(true);
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), with_remote(app.clone(), remote));
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            let _counted = counted;
            // A client that goes away or is too slow ends its own connection only.
            if let Err(error) = connection.await {
                tracing::debug!(%remote, %error, "connection ended");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Connections closed for being one too many, logged as a warning at most once per
/// [`REFUSAL_LOG_EVERY`]: a crowd behind one office address (or a proxy not listed in
/// `trusted_proxies`) must be seen, and a flood must not fill the log.
#[derive(Default)]
struct Refusals {
    since_logged: usize,
    logged: Option<std::time::Instant>,
}

impl Refusals {
    fn note(&mut self, address: IpAddr) {
        self.since_logged += 1;
        let now = std::time::Instant::now();
        if self
            .logged
            .is_some_and(|at| now.duration_since(at) < REFUSAL_LOG_EVERY)
        {
            return;
        }
        tracing::warn!(
            %address,
            closed = self.since_logged,
            "connections closed: more than {MAX_PER_CLIENT} at once from one address (many users behind one address? a proxy not in [http] trusted_proxies?)"
        );
        self.since_logged = 0;
        self.logged = Some(now);
    }
}

/// One open connection of a client, counted until it is dropped (also when its task
/// ends by a panic).
struct ClientConnection {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    client: IpAddr,
}

impl ClientConnection {
    /// Counts a connection from `client`, or `None` when it has [`MAX_PER_CLIENT`]
    /// already and is `limited`.
    fn open(
        counts: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        client: IpAddr,
        limited: bool,
    ) -> Option<ClientConnection> {
        let mut map = counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let open = map.entry(client).or_default();
        if limited && *open >= MAX_PER_CLIENT {
            return None;
        }
        *open += 1;
        Some(ClientConnection {
            counts: counts.clone(),
            client,
        })
    }
}

impl Drop for ClientConnection {
    fn drop(&mut self) {
        let mut map = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(open) = map.get_mut(&self.client) {
            *open -= 1;
            if *open == 0 {
                map.remove(&self.client);
            }
        }
    }
}

/// Reads the request's whole body (at most [`super::MAX_BODY_BYTES`]) within `deadline`
/// before any handler sees it: 408 when it is too slow, 413 when it is too large.
async fn whole_body(deadline: Duration, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(deadline, axum::body::to_bytes(body, super::MAX_BODY_BYTES));
    match read.await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(error)) => {
            let too_large = error.into_inner().is::<http_body_util::LengthLimitError>();
            if too_large {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the request body is larger than {} KiB",
                        super::MAX_BODY_BYTES / 1024
                    ),
                )
                .into_response()
            } else {
                ApiError::bad_request("the request body could not be read").into_response()
            }
        }
        Err(_) => {
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {}",
                    humantime::format_duration(deadline)
                ),
            )
            .into_response();
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            response
        }
    }
}

/// The router as a hyper service that tells handlers who is asking
/// ([`ConnectInfo`], as `into_make_service_with_connect_info` would).
fn with_remote(
    app: Router,
    remote: SocketAddr,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl Send,
> {
    hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(remote));
        app.clone().call(request.map(axum::body::Body::new))
    })
}
