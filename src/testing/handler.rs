//! Handling one request: the counters, the injected fault or the answer, then the latency. The
//! operations run on the state and their outcomes are rendered through [`wire`].

use std::net::IpAddr;

use http::header::CONTENT_TYPE;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use serde_json::Value;

use super::api_error::ApiError;
use super::backend::check_secret_key;
use super::fault::Fault;
use super::native::native_client_token;
use super::params::Params;
use super::response::{HttpResponse, error_response, fault_response, json_response};
use super::route::{Api, Route};
use super::shared::Shared;
use super::sign_in::SignInForm;
use super::wire;

/// The connection is closed without an answer ([`Fault::Down`]).
#[derive(Debug)]
pub(crate) struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fake Clerk is down: connection closed without an answer")
    }
}

impl std::error::Error for Dropped {}

/// A request, read whole.
struct Received {
    route: Route,
    headers: HeaderMap,
    query: Params,
    /// The form of a Frontend API request (empty unless the body is a form).
    form: Params,
    /// The JSON body of a Backend API request (`Null` when there is none or it is not JSON).
    json: Value,
}

/// Answers one request that reached `api`: counts it, then injects the fault or answers, after
/// the latency; `Err(Dropped)` closes the connection without an answer.
pub(crate) async fn handle(
    shared: &Shared,
    api: Api,
    ip: IpAddr,
    request: Request<Incoming>,
) -> Result<HttpResponse, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(http_body_util::Collected::to_bytes).unwrap_or_default();
    let route = Route::parse(api, &shared.proxy_prefix, &parts.method, parts.uri.path());
    let query = Params::parse(parts.uri.query().unwrap_or_default().as_bytes());
    let is_form = parts
        .headers
        .get(CONTENT_TYPE)
        .is_none_or(|value| value.to_str().is_ok_and(|v| v.starts_with("application/x-www-form-urlencoded")));
    let form = Params::parse(if is_form && api == Api::Frontend { &body } else { &[] });
    let json = if api == Api::Backend { serde_json::from_slice(&body).unwrap_or(Value::Null) } else { Value::Null };

    let (fault, latency) = {
        let mut state = shared.state();
        let stats = &mut state.stats;
        match route {
            Route::Jwks => stats.jwks_fetches += 1,
            Route::SignIns => stats.sign_in_attempts += 1,
            Route::Touch(_) => stats.touches += 1,
            Route::End(_) => stats.session_ends += 1,
            Route::Tokens(_) | Route::Template(..) => stats.token_mints += 1,
            Route::Users => stats.user_lists += 1,
            Route::VerifyPassword(_) => stats.password_checks += 1,
            Route::SignInTokens => stats.sign_in_token_requests += 1,
            Route::NotFound => {}
        }
        let fault = match (api, &route) {
            (Api::Backend, _) => state.backend_fault.clone(),
            (Api::Frontend, Route::Jwks) => state.jwks_fault.clone(),
            (Api::Frontend, _) => state.fault.clone(),
        };
        let identifier = (route == Route::SignIns).then(|| form.get("identifier")).flatten();
        (fault, state.latency_for(identifier, route.session_id()))
    };

    let request = Received { route, headers: parts.headers, query, form, json };
    let response = match fault {
        Some(Fault::Down) => None,
        Some(fault) => Some(fault_response(&fault)),
        None if api == Api::Backend => Some(backend(shared, &request)),
        None => Some(frontend(shared, ip, &request)),
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    response.ok_or(Dropped)
}

/// The answer to a Frontend API request when no fault is set.
fn frontend(shared: &Shared, ip: IpAddr, request: &Received) -> HttpResponse {
    match &request.route {
        Route::NotFound => error_response(&ApiError::RouteNotFound),
        Route::Jwks => {
            let jwks = shared.keys().jwks();
            json_response(StatusCode::OK, &jwks, None, None)
        }
        route => {
            let native_api = shared.state().config.native_api;
            match native_client_token(&request.headers, &request.query, native_api) {
                Err(error) => error_response(&error),
                Ok(token) => match fapi(shared, ip, route, &token, request) {
                    Ok(reply) => json_response(StatusCode::OK, &reply.body, Some(&reply.client_token), None),
                    Err(error) => error_response(&error),
                },
            }
        }
    }
}

/// A successful Frontend API answer: the JSON body and the client token for the
/// `Authorization` response header (empty: the client was dropped).
struct Reply {
    body: Value,
    client_token: String,
}

/// Runs a Frontend API operation and renders its outcome.
fn fapi(shared: &Shared, ip: IpAddr, route: &Route, client_token: &str, request: &Received) -> Result<Reply, ApiError> {
    let minter = shared.minter();
    let mut state = shared.state();
    let (form, query) = (&request.form, &request.query);
    match route {
        Route::SignIns => {
            let form = SignInForm {
                strategy: form.get("strategy"),
                identifier: form.get("identifier"),
                password: form.get("password"),
                ticket: form.get("ticket"),
            };
            let outcome = state.sign_in(ip, client_token, &form, &minter)?;
            Ok(Reply { body: wire::sign_in_response(&state, &outcome), client_token: outcome.client_token })
        }
        Route::Touch(sid) => {
            let outcome = state.touch(client_token, sid, form.get("active_organization_id"), &minter)?;
            Ok(Reply { body: wire::touch_response(&state, &outcome), client_token: outcome.client_token })
        }
        Route::End(sid) => {
            let outcome = state.end_session(client_token, sid)?;
            Ok(Reply { body: wire::touch_response(&state, &outcome), client_token: outcome.client_token })
        }
        Route::Tokens(sid) => {
            let expired_token = query.get("expired_token");
            let minted = state.session_token(client_token, sid, form.get("organization_id"), expired_token, &minter)?;
            Ok(Reply { body: wire::token_response(&minted), client_token: minted.client_token })
        }
        Route::Template(sid, template) => {
            let minted = state.template_token(client_token, sid, template, query.get("expired_token"), &minter)?;
            Ok(Reply { body: wire::token_response(&minted), client_token: minted.client_token })
        }
        _ => Err(ApiError::RouteNotFound),
    }
}

/// The answer to a Backend API request when no fault is set: the secret key and the rate limit
/// first, then the operation.
fn backend(shared: &Shared, request: &Received) -> HttpResponse {
    match bapi(shared, request) {
        Ok(body) => json_response(StatusCode::OK, &body, None, None),
        Err(error) => error_response(&error),
    }
}

fn bapi(shared: &Shared, request: &Received) -> Result<Value, ApiError> {
    check_secret_key(&request.headers, &shared.secret_key)?;
    let mut state = shared.state();
    state.admit_backend_call()?;
    match &request.route {
        Route::Users => {
            let users = state.list_users(&request.query)?;
            Ok(wire::user_list_response(&state, &users))
        }
        Route::VerifyPassword(user_id) => {
            state.verify_password(user_id, &request.json)?;
            Ok(wire::verified_response())
        }
        Route::SignInTokens => {
            let outcome = state.create_sign_in_token(&request.json)?;
            Ok(wire::sign_in_token_response(&state, &outcome, &shared.frontend_api()))
        }
        _ => Err(ApiError::RouteNotFound),
    }
}
