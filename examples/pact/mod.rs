//! The routes of the axum demo: PACT v2 and v3 and iLEAP behind `ClerkBasicAuthLayer`, shared
//! with the tests (`tests/demo/demo_pact.rs`).
//!
//! | route | what |
//! | --- | --- |
//! | `GET /2/footprints`, `GET /3/footprints` | ListFootprints: `?limit=` pages with a `Link: <…>; rel="next"`; v3 also filters |
//! | `GET /2/footprints/{id}`, `GET /3/footprints/{id}` | GetFootprint: `404` `NoSuchFootprint` (v2) / `NotFound` (v3) |
//! | `POST /2/events`, `POST /3/events` | Action Events: `200` and an empty body for a valid event, else `400` `BadRequest` |
//! | `GET /2/ileap/tad` | iLEAP transport activity data, optionally `?mode=` |
//! | `GET /me` | the verified token's claims |
//! | `GET /health` | public |

#![allow(dead_code)]

pub mod events;
pub mod filters;
pub mod links;
pub mod v3;

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use clerk_basic_auth::{ClerkBasicAuthConfig, ClerkBasicAuthLayer, ClerkClaims};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::common;
use events::Version;
use filters::Filters;

/// Where the demo listens unless `BIND_ADDR` says otherwise.
pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8080";

/// The demo's routes. The layer serves `POST /auth/token` and the discovery routes itself, and
/// admits requests to every other route but `/health` only with a valid Clerk token.
pub fn app(config: ClerkBasicAuthConfig) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/me", get(me))
        .route("/2/footprints", get(list_footprints_v2))
        .route("/2/footprints/{id}", get(get_footprint_v2))
        .route("/2/events", post(|body: Bytes| events(Version::V2, body)))
        .route("/2/ileap/tad", get(transport_activity_data))
        .route("/3/footprints", get(list_footprints_v3))
        .route("/3/footprints/{id}", get(get_footprint_v3))
        .route("/3/events", post(|body: Bytes| events(Version::V3, body)))
        .layer(ClerkBasicAuthLayer::new(config))
}

/// Binds the listener on `bind` (the value of `BIND_ADDR`, or [`DEFAULT_BIND_ADDR`]). The
/// error is one line for a person: `cannot listen on 127.0.0.1:8080: address already in use
/// (set BIND_ADDR to another address)`.
pub async fn listen(bind: Option<&str>) -> Result<TcpListener, String> {
    let text = bind.map(str::trim).filter(|text| !text.is_empty()).unwrap_or(DEFAULT_BIND_ADDR);
    let addr: SocketAddr =
        text.parse().map_err(|_| format!("BIND_ADDR={text:?} is not an address and port like {DEFAULT_BIND_ADDR}"))?;
    TcpListener::bind(addr).await.map_err(|error| {
        let reason = match error.kind() {
            std::io::ErrorKind::AddrInUse => "address already in use".to_owned(),
            std::io::ErrorKind::AddrNotAvailable => "address not available on this machine".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            _ => error.to_string(),
        };
        format!("cannot listen on {addr}: {reason} (set BIND_ADDR to another address)")
    })
}

/// The caller, as the verified token says.
async fn me(Extension(claims): Extension<ClerkClaims>) -> Json<Value> {
    let organization = claims
        .organization()
        .map(|org| json!({"id": org.id(), "slug": org.slug(), "role": org.role(), "permissions": org.permissions()}));
    Json(json!({"user_id": claims.user_id(), "session_id": claims.session_id(), "organization": organization}))
}

/// `GET /2/footprints?limit=N&offset=M`.
async fn list_footprints_v2(RawQuery(query): RawQuery, headers: HeaderMap, uri: Uri) -> Response {
    let query = pairs(query.as_deref());
    page("/2/footprints", common::footprints(), &query, &headers, &uri)
}

/// `GET /3/footprints?limit=N&offset=M&productId=…&status=…`: the footprints that match every
/// filter (see [`filters`]), deprecated ones included unless `status` says otherwise.
async fn list_footprints_v3(RawQuery(query): RawQuery, headers: HeaderMap, uri: Uri) -> Response {
    let query = pairs(query.as_deref());
    let filters = Filters::from_query(&query);
    let footprints = v3::footprints().into_iter().filter(|footprint| filters.matches(footprint)).collect();
    page("/3/footprints", footprints, &query, &headers, &uri)
}

fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// One page of `all` as `{"data": [...]}`, with a `Link: <…>; rel="next"` while more remain
/// (PACT: absolute, on the host the client asked for).
fn page(path: &str, all: Vec<Value>, query: &[(String, String)], headers: &HeaderMap, uri: &Uri) -> Response {
    let number = |name: &str| {
        query.iter().rev().find(|(key, _)| key.eq_ignore_ascii_case(name)).and_then(|(_, value)| value.parse().ok())
    };
    let (limit, offset) = (number("limit").unwrap_or(all.len()).max(1), number("offset").unwrap_or(0));
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(offset).take(limit).collect();
    let mut response = Json(json!({"data": page})).into_response();
    if offset.saturating_add(limit) < total {
        let link = links::next_page(&links::base_url(headers, uri), path, query, limit, offset + limit);
        if let Ok(value) = HeaderValue::try_from(link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

async fn get_footprint_v2(Path(id): Path<String>) -> Response {
    match common::footprints().into_iter().find(|footprint| footprint["id"] == id.as_str()) {
        Some(footprint) => Json(json!({"data": footprint})).into_response(),
        None => pact_error(StatusCode::NOT_FOUND, "NoSuchFootprint", "The specified footprint does not exist."),
    }
}

/// v3 names the 404 error code `NotFound` (v2: `NoSuchFootprint`). A deprecated footprint is
/// still returned.
async fn get_footprint_v3(Path(id): Path<String>) -> Response {
    match v3::footprints()
        .into_iter()
        .find(|footprint| footprint["id"].as_str().is_some_and(|f| f.eq_ignore_ascii_case(&id)))
    {
        Some(footprint) => Json(json!({"data": footprint})).into_response(),
        None => pact_error(StatusCode::NOT_FOUND, "NotFound", "The requested footprint could not be found."),
    }
}

/// `POST /2/events` and `POST /3/events`: `200` with an empty body for an event the schemas
/// accept (see [`events`]), `400 BadRequest` otherwise. The demo logs accepted events; it does
/// not answer requests with `RequestFulfilled`/`RequestRejected` events of its own.
async fn events(version: Version, body: Bytes) -> Response {
    match events::validate(version, &body) {
        Ok(accepted) => {
            tracing::info!(event_type = accepted.event_type, id = accepted.id, "accepted a PACT event");
            StatusCode::OK.into_response()
        }
        Err(message) => pact_error(StatusCode::BAD_REQUEST, "BadRequest", &message),
    }
}

/// `GET /2/ileap/tad`, optionally filtered by `mode`.
async fn transport_activity_data(RawQuery(query): RawQuery) -> Json<Value> {
    let query = pairs(query.as_deref());
    let mode = query.iter().find(|(name, _)| name == "mode").map(|(_, mode)| mode.as_str());
    let rows: Vec<Value> = common::transport_activity_data()
        .into_iter()
        .filter(|row| mode.is_none_or(|mode| row["mode"] == mode))
        .collect();
    Json(json!({"data": rows}))
}

fn pact_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}
