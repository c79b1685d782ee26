//! The HTTP side: a hyper HTTP/1.1 server on loopback, routing, the native-mode request checks,
//! faults and latency. Each connection runs in its own task; all stop when the handle drops.

use std::future::{Future, poll_fn};
use std::net::IpAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Poll;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, ORIGIN, RETRY_AFTER};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::api_error::ApiError;
use super::error_envelope::error_answer;
use super::fault::Fault;
use super::keys::KeyRing;
use super::minting::Minter;
use super::sign_in::SignInForm;
use super::state::State;
use super::wire;

/// What the handle and the connection tasks share.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) keys: Mutex<KeyRing>,
    pub(crate) issuer: String,
}

impl Shared {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn keys(&self) -> MutexGuard<'_, KeyRing> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The issuer and the current signing key.
    pub(crate) fn minter(&self) -> Minter {
        Minter { issuer: self.issuer.clone(), key: self.keys().current() }
    }
}

/// Resolves when the handle's shutdown sender is dropped.
async fn stopped(mut shutdown: watch::Receiver<()>) {
    while shutdown.changed().await.is_ok() {}
}

/// Accepts connections until the handle drops.
pub(crate) fn spawn(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Receiver<()>) {
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
                    tokio::spawn(serve_connection(stream, peer.ip(), Arc::clone(&shared), shutdown.clone()));
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, "fake Clerk: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
    });
}

async fn serve_connection(stream: TcpStream, ip: IpAddr, shared: Arc<Shared>, shutdown: watch::Receiver<()>) {
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { handle(&shared, ip, request).await }
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

/// The connection is closed without an answer ([`Fault::Down`]).
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fake Clerk is down: connection closed without an answer")
    }
}

impl std::error::Error for Dropped {}

type HttpResponse = Response<Full<Bytes>>;

/// The routes the fake serves.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Jwks,
    SignIns,
    Touch(String),
    Tokens(String),
    Template(String, String),
    NotFound,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Self {
        if path == "/.well-known/jwks.json" {
            return if method == Method::GET { Self::Jwks } else { Self::NotFound };
        }
        if method != Method::POST {
            return Self::NotFound;
        }
        if path == "/v1/client/sign_ins" {
            return Self::SignIns;
        }
        let Some(rest) = path.strip_prefix("/v1/client/sessions/") else {
            return Self::NotFound;
        };
        let segments: Vec<&str> = rest.split('/').collect();
        match segments.as_slice() {
            [sid, "touch"] if !sid.is_empty() => Self::Touch((*sid).to_owned()),
            [sid, "tokens"] if !sid.is_empty() => Self::Tokens((*sid).to_owned()),
            [sid, "tokens", template] if !sid.is_empty() && !template.is_empty() => {
                Self::Template((*sid).to_owned(), (*template).to_owned())
            }
            _ => Self::NotFound,
        }
    }

    fn session_id(&self) -> Option<&str> {
        match self {
            Self::Touch(sid) | Self::Tokens(sid) | Self::Template(sid, _) => Some(sid),
            _ => None,
        }
    }
}

/// Form or query pairs; the first value of a key wins.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(input: &[u8]) -> Self {
        Self(form_urlencoded::parse(input).into_owned().collect())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(name, _)| name == key).map(|(_, value)| value.as_str())
    }
}

async fn handle(shared: &Shared, ip: IpAddr, request: Request<Incoming>) -> Result<HttpResponse, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(http_body_util::Collected::to_bytes).unwrap_or_default();
    let route = Route::parse(&parts.method, parts.uri.path());
    let query = Params::parse(parts.uri.query().unwrap_or_default().as_bytes());
    let is_form = parts
        .headers
        .get(CONTENT_TYPE)
        .is_none_or(|value| value.to_str().is_ok_and(|v| v.starts_with("application/x-www-form-urlencoded")));
    let form = Params::parse(if is_form { &body } else { &[] });

    let (fault, latency) = {
        let mut state = shared.state();
        let stats = &mut state.stats;
        match route {
            Route::Jwks => stats.jwks_fetches += 1,
            Route::SignIns => stats.sign_in_attempts += 1,
            Route::Touch(_) => stats.touches += 1,
            Route::Tokens(_) | Route::Template(..) => stats.token_mints += 1,
            Route::NotFound => {}
        }
        let fault = if route == Route::Jwks { state.jwks_fault.clone() } else { state.fault.clone() };
        let identifier = (route == Route::SignIns).then(|| form.get("identifier")).flatten();
        (fault, state.latency_for(identifier, route.session_id()))
    };

    let response = match fault {
        Some(Fault::Down) => None,
        Some(fault) => Some(fault_response(&fault)),
        None => Some(answer(shared, ip, &route, &parts.headers, &query, &form)),
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    response.ok_or(Dropped)
}

/// The answer to a request when no fault is set.
fn answer(
    shared: &Shared,
    ip: IpAddr,
    route: &Route,
    headers: &http::HeaderMap,
    query: &Params,
    form: &Params,
) -> HttpResponse {
    match route {
        Route::NotFound => error_response(&ApiError::RouteNotFound),
        Route::Jwks => {
            let jwks = shared.keys().jwks();
            json_response(StatusCode::OK, &jwks, None, None)
        }
        _ => match native_client_token(headers, query) {
            Err(error) => error_response(&error),
            Ok(token) => match fapi(shared, ip, route, &token, form) {
                Ok(reply) => json_response(StatusCode::OK, &reply.body, Some(&reply.client_token), None),
                Err(error) => error_response(&error),
            },
        },
    }
}

/// A successful Frontend API answer: the JSON body and the client token for the
/// `Authorization` response header.
struct Reply {
    body: Value,
    client_token: String,
}

/// Runs a Frontend API operation and renders its outcome.
fn fapi(shared: &Shared, ip: IpAddr, route: &Route, client_token: &str, form: &Params) -> Result<Reply, ApiError> {
    let minter = shared.minter();
    let mut state = shared.state();
    match route {
        Route::SignIns => {
            let form = SignInForm {
                strategy: form.get("strategy"),
                identifier: form.get("identifier"),
                password: form.get("password"),
            };
            let outcome = state.sign_in(ip, client_token, &form, &minter)?;
            Ok(Reply { body: wire::sign_in_response(&state, &outcome), client_token: outcome.client_token })
        }
        Route::Touch(sid) => {
            let outcome = state.touch(client_token, sid, form.get("active_organization_id"), &minter)?;
            Ok(Reply { body: wire::touch_response(&state, &outcome), client_token: outcome.client_token })
        }
        Route::Tokens(sid) => {
            let minted = state.session_token(client_token, sid, form.get("organization_id"), &minter)?;
            Ok(Reply { body: wire::token_response(&minted), client_token: minted.client_token })
        }
        Route::Template(sid, template) => {
            let minted = state.template_token(client_token, sid, template, &minter)?;
            Ok(Reply { body: wire::token_response(&minted), client_token: minted.client_token })
        }
        Route::Jwks | Route::NotFound => Err(ApiError::RouteNotFound),
    }
}

/// Checks a Frontend API request the way a development instance does for native clients and
/// returns the client token from `Authorization` (empty: no client yet).
fn native_client_token(headers: &http::HeaderMap, query: &Params) -> Result<String, ApiError> {
    if query.get("__clerk_api_version").is_some() && headers.contains_key("clerk-api-version") {
        return Err(ApiError::ApiVersionConflict);
    }
    if !matches!(query.get("_is_native"), Some("1" | "true")) {
        return Err(ApiError::DevBrowserUnauthenticated);
    }
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let authorization = values.next();
    if values.next().is_some() {
        return Err(ApiError::MultipleAuthorizationValues);
    }
    if authorization.is_some() && headers.contains_key(ORIGIN) {
        return Err(ApiError::OriginAuthorizationConflict);
    }
    let authorization = authorization.ok_or(ApiError::RequestHeaderMissing)?;
    Ok(authorization.to_str().unwrap_or_default().to_owned())
}

fn fault_response(fault: &Fault) -> HttpResponse {
    match fault {
        Fault::ServerError(status) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            error_response(&ApiError::ServerError { status: status.as_u16() })
        }
        Fault::Garbage => {
            let mut response = Response::new(Full::new(Bytes::from_static(
                br#"{"response":{"object":"sign_in_attempt","id":"sia_2x"#,
            )));
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Fault::RateLimited { retry_after } => error_response(&ApiError::TooManyRequests { retry_after: *retry_after }),
        Fault::Down => unreachable!("Fault::Down closes the connection"),
    }
}

fn error_response(error: &ApiError) -> HttpResponse {
    let answer = error_answer(error);
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &answer.body, None, answer.retry_after)
}

fn json_response(
    status: StatusCode,
    body: &Value,
    client_token: Option<&str>,
    retry_after: Option<u64>,
) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(token) = client_token.and_then(|token| HeaderValue::from_str(token).ok()) {
        headers.insert(AUTHORIZATION, token);
    }
    if let Some(secs) = retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}
