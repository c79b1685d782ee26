//! The servers `scripts/load.sh` puts under load, all in one process so they share one machine
//! and one measurement:
//!
//! - `GET /light` (a small constant JSON body, so the authentication is most of the work),
//!   `GET /2/ileap/tad` (the demo's iLEAP route) and `GET /3/footprints` (the demo's PACT v3
//!   ListFootprints, its data and filters included from `examples/pact`), each bare, behind
//!   `ClerkBasicAuthLayer`, and behind jwt-authorizer's layer (the most used JWT layer for axum);
//! - `POST /auth/token` of the layer with sessions in memory and of a layer with the Redis
//!   session store, plus a bare JSON handler of the same answer to compare them with;
//! - `GET /light` behind two more layers for the run with 10,000 distinct tokens in rotation: one
//!   with the default verified-token cache (10,000 tokens), one with `with_verified_token_cache(20_000)`.
//!
//! ```text
//! cargo run --release -p peers --bin load_target -- <directory> [redis-url]
//! ```
//!
//! It starts a fake Clerk with 20 users (`load-00@way.cloud` ... `load-19@way.cloud`, password
//! `LoadPassword-NN`), with Clerk's per-IP sign-in limit lifted so the run measures the layer, not
//! the limit, and Device Trust off (the layer signs in with passwords, no secret key). Into
//! `<directory>` it writes `env` (ports and a valid token, as shell variables),
//! `basic-credentials` (the 20 `Authorization: Basic` values, one per line) and `bearer-tokens`
//! (10,000 `Authorization: Bearer` values of distinct valid sessions, one per line), then prints
//! `ready`. Without `redis-url` (e.g. `redis://127.0.0.1:6379/0`) there is no Redis layer and
//! no `REDIS_LAYER` in `env`.
//!
//! On the control port (`CONTROL`; kept apart so that the bare routes have no layer around
//! them): `GET /stats` answers the fake Clerk's counters, `POST /stats/reset` zeroes them, and
//! `POST /probe/10k` and `POST /probe/20k` answer `<requests> <slow> <nanoseconds>`
//! for the two rotation layers since the last such call: how many requests the layer admitted,
//! how many of them took the layer's `call` at least [`SLOW`] (a signature verified, i.e. a miss
//! of the verified-token cache, rather than a hit of about a microsecond), and the time of all
//! those calls. The crate's `metrics` counters would count hits exactly, but the load target
//! does not depend on `metrics` (only the benchmarks do, as a dev-dependency).

// The examples' demo user and data, shared with the crate's examples rather than copied.
#[path = "../../../examples/common/mod.rs"]
mod common;
// The demo's PACT v3 footprints and ListFootprints filters. (The demo's routes themselves, in
// `examples/pact/mod.rs`, need `form_urlencoded` and `tracing`, which this package does not use.)
#[allow(dead_code)]
#[path = "../../../examples/pact/filters.rs"]
mod filters;
#[allow(dead_code)]
#[path = "../../../examples/pact/v3.rs"]
mod v3;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine as _;
use clerk_basic_auth::testing::{FakeClerk, FakeUser};
use clerk_basic_auth::{ClerkBasicAuthConfig, ClerkBasicAuthLayer, SessionStore};
use serde_json::{Value, json};
use tower::Layer as _;

const USERS: usize = 20;
/// Distinct valid tokens for the rotation run.
const ROTATED_TOKENS: usize = 10_000;
/// The light route's answer.
const LIGHT: &str = r#"{"ok":true}"#;
/// The Redis layer's session store secret (never printed).
const STORE_SECRET: &str = "load-target-session-store-secret-not-for-production-0123456789";
/// A call of the layer that takes this long verified a signature (RS256 takes tens of µs; a
/// remembered token about one).
const SLOW: Duration = Duration::from_micros(10);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let directory = args.next().ok_or("usage: load_target <directory> [redis-url]")?;
    let redis_url = args.next();
    // Device Trust off: the layer signs in with passwords at the Frontend API, as a deployment
    // without a secret key does (its operators must turn Device Trust off).
    let mut builder = FakeClerk::builder().device_trust(false).sign_in_rate_limit(u32::MAX, Duration::from_secs(10));
    for n in 0..USERS {
        builder = builder.user(FakeUser::new(format!("load-{n:02}@way.cloud"), format!("LoadPassword-{n:02}")));
    }
    let clerk = Arc::new(builder.user(FakeUser::new(common::DEMO_USER, common::DEMO_PASSWORD)).start().await);

    let routes = Router::new()
        .route("/light", get(light))
        .route("/2/ileap/tad", get(transport_activity_data))
        .route("/3/footprints", get(list_footprints_v3));
    let probes = Probes { cache_10k: Arc::default(), cache_20k: Arc::default() };
    // The baseline: the same routes with no layer at all (the script's counters are on a port of
    // their own, so their `Extension` layers are not in the baseline's way).
    let bare = routes.clone().route("/token-shape", post(token_shape));
    let control = Router::new()
        .route("/stats", get(stats))
        .route("/stats/reset", post(reset_stats))
        .route("/probe/{name}", post(take_probe))
        .layer(Extension(Arc::clone(&clerk)))
        .layer(Extension(probes.clone()));
    let config = ClerkBasicAuthConfig::new(clerk.url())?;
    let layered = routes.layer(ClerkBasicAuthLayer::new(config.clone()));
    let light = || Router::new().route("/light", get(light));

    let mut env = format!(
        "BARE={}\nCONTROL={}\nLAYER={}\nPEER={}\nROTATE_10K={}\nROTATE_20K={}\n",
        serve(bare).await?,
        serve(control).await?,
        serve(layered).await?,
        serve_jwt_authorizer(&clerk.public_key_pem(), clerk.url()).await?,
        serve_probed(light(), &config, &probes.cache_10k).await?,
        serve_probed(light(), &config.clone().with_verified_token_cache(20_000), &probes.cache_20k).await?,
    );
    if let Some(url) = redis_url {
        // The same token endpoint, its sessions also in Redis, sealed under the shared secret.
        let config = config.with_session_store_secret(STORE_SECRET)?.with_session_store(SessionStore::redis(url))?;
        env += &format!("REDIS_LAYER={}\n", serve(light().layer(ClerkBasicAuthLayer::new(config))).await?);
    }

    // A token valid for the whole run, signed like a Clerk session token.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let token = clerk.sign_claims(session_claims(&clerk, now, "load"));
    let credentials: Vec<String> = (0..USERS)
        .map(|n| {
            let pair = format!("load-{n:02}@way.cloud:LoadPassword-{n:02}");
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
        })
        .collect();
    std::fs::write(format!("{directory}/basic-credentials"), credentials.join("\n") + "\n")?;
    std::fs::write(format!("{directory}/bearer-tokens"), rotated_tokens(&clerk, now).await?)?;
    std::fs::write(format!("{directory}/env"), format!("{env}TOKEN={token}\n"))?;
    println!("ready");
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// The claims of a Clerk v2 session token of user `user_<name>`, session `sess_<name>`, valid
/// for an hour from `now`.
fn session_claims(clerk: &FakeClerk, now: u64, name: &str) -> Value {
    json!({
        "sub": format!("user_{name}"), "sid": format!("sess_{name}"), "jti": format!("jti_{name}"),
        "iss": clerk.url(), "iat": now, "nbf": now - 10, "exp": now + 3600, "v": 2,
        "o": {"id": "org_2xDemo", "slg": "way-demo", "rol": "admin"}
    })
}

/// [`ROTATED_TOKENS`] `Bearer` values of distinct sessions, one per line, signed on two
/// blocking threads (an RS256 signature takes a fraction of a millisecond).
async fn rotated_tokens(clerk: &Arc<FakeClerk>, now: u64) -> Result<String, tokio::task::JoinError> {
    let halves = [0..ROTATED_TOKENS / 2, ROTATED_TOKENS / 2..ROTATED_TOKENS].map(|range| {
        let clerk = Arc::clone(clerk);
        tokio::task::spawn_blocking(move || {
            range
                .map(|n| format!("Bearer {}\n", clerk.sign_claims(session_claims(&clerk, now, &format!("rot_{n:05}")))))
                .collect::<String>()
        })
    });
    let [first, second] = halves;
    Ok(first.await? + &second.await?)
}

async fn serve(app: Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// `app` behind the layer and, around it, a [`Probe`] counting into `counts`. The layer wraps the
/// whole router here (not each route, as `Router::layer` does), so that its `call` runs, and is
/// timed, as the request arrives rather than inside the route's future.
async fn serve_probed(
    app: Router,
    config: &ClerkBasicAuthConfig,
    counts: &Arc<ProbeCounts>,
) -> std::io::Result<SocketAddr> {
    let service = Probe { inner: ClerkBasicAuthLayer::new(config.clone()).layer(app), counts: Arc::clone(counts) };
    let service = tower::ServiceExt::<axum::extract::Request>::map_response(service, |response| {
        response.map(axum::body::Body::new)
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        axum::serve(listener, axum::ServiceExt::<axum::extract::Request>::into_make_service(service)).await
    });
    Ok(addr)
}

/// The same routes behind jwt-authorizer 0.15 (axum 0.7), checking the same RS256 key and issuer.
async fn serve_jwt_authorizer(pem: &str, issuer: &str) -> Result<SocketAddr, Box<dyn std::error::Error>> {
    use axum07::routing::get;
    use jwt_authorizer::{IntoLayer as _, JwtAuthorizer, Validation};
    let validation = Validation::new().iss(&[issuer]).leeway(5).nbf(true);
    let authorizer = JwtAuthorizer::<Value>::from_rsa_pem_text(pem).validation(validation).build().await?;
    let app = axum07::Router::new()
        .route("/light", get(|| async { ([(header::CONTENT_TYPE.as_str(), "application/json")], LIGHT) }))
        .route("/2/ileap/tad", get(|| async { axum07::Json(json!({"data": common::transport_activity_data()})) }))
        .route("/3/footprints", get(|| async { axum07::Json(json!({"data": footprints_v3()})) }))
        .layer(authorizer.into_layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum07::serve(listener, app).await });
    Ok(addr)
}

/// `GET /light`: a small constant JSON body.
async fn light() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], LIGHT)
}

async fn transport_activity_data() -> Json<Value> {
    Json(json!({"data": common::transport_activity_data()}))
}

/// `GET /3/footprints` as the demo answers it without a query: every v3 footprint through the
/// (empty) filters, in one page.
async fn list_footprints_v3() -> Json<Value> {
    Json(json!({"data": footprints_v3()}))
}

fn footprints_v3() -> Vec<Value> {
    let filters = filters::Filters::from_query(&[]);
    v3::footprints().into_iter().filter(|footprint| filters.matches(footprint)).collect()
}

/// The token endpoint's answer, from a plain handler: the floor for the token endpoint.
async fn token_shape() -> Json<Value> {
    Json(json!({"access_token": "x".repeat(900), "token_type": "Bearer", "expires_in": 59}))
}

async fn stats(Extension(clerk): Extension<Arc<FakeClerk>>) -> Json<Value> {
    let stats = clerk.stats();
    Json(
        json!({"sign_in_attempts": stats.sign_in_attempts, "sign_ins": stats.sign_ins, "token_mints": stats.token_mints, "jwks_fetches": stats.jwks_fetches}),
    )
}

async fn reset_stats(Extension(clerk): Extension<Arc<FakeClerk>>) -> StatusCode {
    clerk.reset_stats();
    StatusCode::NO_CONTENT
}

/// The counters of the two rotation layers.
#[derive(Clone)]
struct Probes {
    cache_10k: Arc<ProbeCounts>,
    cache_20k: Arc<ProbeCounts>,
}

#[derive(Default)]
struct ProbeCounts {
    requests: AtomicU64,
    slow: AtomicU64,
    nanos: AtomicU64,
}

/// `POST /probe/{10k,20k}`: `<requests> <slow> <nanoseconds>` since the last call, and zero again.
async fn take_probe(Path(name): Path<String>, Extension(probes): Extension<Probes>) -> Result<String, StatusCode> {
    let counts = match name.as_str() {
        "10k" => probes.cache_10k,
        "20k" => probes.cache_20k,
        _ => return Err(StatusCode::NOT_FOUND),
    };
    let take = |counter: &AtomicU64| counter.swap(0, Ordering::Relaxed);
    Ok(format!("{} {} {}\n", take(&counts.requests), take(&counts.slow), take(&counts.nanos)))
}

/// Times the layer's `call`, where a token is looked up among the verified ones and, when it is
/// not there, its signature verified (the rest of the request runs in the returned future, not
/// timed). Two clock reads a request.
#[derive(Clone)]
struct Probe<S> {
    inner: S,
    counts: Arc<ProbeCounts>,
}

impl<S, R> tower::Service<R> for Probe<S>
where
    S: tower::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> S::Future {
        let start = Instant::now();
        let future = self.inner.call(request);
        let took = start.elapsed();
        self.counts.requests.fetch_add(1, Ordering::Relaxed);
        self.counts.nanos.fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
        if took >= SLOW {
            self.counts.slow.fetch_add(1, Ordering::Relaxed);
        }
        future
    }
}
