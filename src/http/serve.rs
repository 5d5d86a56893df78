//! Serving the router over TCP, with a deadline for a request's headers.
//!
//! `axum::serve` sets no timer, so a client that opens a connection and sends its
//! headers one byte a minute (or never) holds that connection, and a socket, for as long
//! as it likes. Here every connection gets hyper's header read timeout: the headers of
//! each request, and the wait for the next one on a kept-alive connection, must arrive
//! within it or the connection is closed; so must each piece of a request's body (as
//! nginx's `client_body_timeout`), or the request fails and the connection closes.
//! Connections live in a [`JoinSet`], so dropping the server (after the shutdown grace)
//! ends them too.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::Service;

/// After a failed accept (most often: out of file descriptors) wait this long before the
/// next, rather than spin; the connections held meanwhile may close.
const ACCEPT_PAUSE: Duration = Duration::from_millis(200);

/// Serves `app` on `listener` until `stop`, then lets the requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let app = app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        header_timeout,
    ));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
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
        // Small JSON answers: send them now rather than wait to fill a packet.
        let _ = stream.set_nodelay(true);
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), with_remote(app.clone(), remote));
        let connection = graceful.watch(connection);
        connections.spawn(async move {
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
