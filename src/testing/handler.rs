//! Handling one request: the counters, the injected fault or the answer, then the latency. The
//! Frontend API operations run on the state and their outcomes are rendered through
//! [`wire`].

use std::net::IpAddr;

use http::header::CONTENT_TYPE;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use serde_json::Value;

use super::api_error::ApiError;
use super::fault::Fault;
use super::native::native_client_token;
use super::params::Params;
use super::response::{HttpResponse, error_response, fault_response, json_response};
use super::route::Route;
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

/// Answers one request: counts it, then injects the fault or answers, after the latency;
/// `Err(Dropped)` closes the connection without an answer.
pub(crate) async fn handle(shared: &Shared, ip: IpAddr, request: Request<Incoming>) -> Result<HttpResponse, Dropped> {
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
    headers: &HeaderMap,
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
