//! The loopback HTTP/1.1 servers (one per API): accept connections until the handle drops, each
//! connection in its own task, and stop them all gracefully.

use std::future::{Future, poll_fn};
use std::net::IpAddr;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::handler::handle;
use super::route::Api;
use super::shared::Shared;

/// Resolves when the handle's shutdown sender is dropped.
async fn stopped(mut shutdown: watch::Receiver<()>) {
    while shutdown.changed().await.is_ok() {}
}

/// Accepts connections to `api` until the handle drops.
pub(crate) fn spawn(listener: TcpListener, api: Api, shared: Arc<Shared>, shutdown: watch::Receiver<()>) {
    tokio::spawn(async move {
        let mut stop = pin!(stopped(shutdown.clone()));
        loop {
            let accepted = poll_fn(|cx| {
                if stop.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                listener.poll_accept(cx).map(Some)
            })
            .await;
            match accepted {
                None => return,
                Some(Ok((stream, peer))) => {
                    let (ip, shared) = (peer.ip(), Arc::clone(&shared));
                    tokio::spawn(serve_connection(stream, api, ip, shared, shutdown.clone()));
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, "fake Clerk: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
    });
}

async fn serve_connection(stream: TcpStream, api: Api, ip: IpAddr, shared: Arc<Shared>, shutdown: watch::Receiver<()>) {
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { handle(&shared, api, ip, request).await }
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    let mut connection = pin!(connection);
    let mut stop = pin!(stopped(shutdown));
    let mut stopping = false;
    let result = poll_fn(|cx| {
        if !stopping && stop.as_mut().poll(cx).is_ready() {
            stopping = true;
            connection.as_mut().graceful_shutdown();
        }
        connection.as_mut().poll(cx)
    })
    .await;
    if let Err(error) = result {
        tracing::trace!(%error, "fake Clerk: connection ended");
    }
}
