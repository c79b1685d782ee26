//! The cost of the token endpoint: a token request the session cache answers (the layer in front
//! of an axum 0.8 router, warmed once) against a bare axum handler that returns the same JSON
//! shape, both driven with tower's `oneshot` (no sockets); and cold token requests, each through
//! a fresh layer, so each signs in at the shipped fake Clerk over loopback HTTP (one round trip,
//! or two with an organization to activate).
//!
//! ```text
//! cargo bench -p peers --bench token_endpoint -- --warm-up-time 1 --measurement-time 3
//! ```

mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::header::{CACHE_CONTROL, PRAGMA};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use clerk_basic_auth::testing::{FakeClerk, FakeOrganization, FakeUser};
use clerk_basic_auth::{ClerkBasicAuthConfig, ClerkBasicAuthLayer, SessionStore};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt as _;
use serde::Serialize;
use support::token_request;
use tower::ServiceExt as _;

const USER: &str = "ileap-demo@way.cloud";
const PASSWORD: &str = "HelloPrimaryData";
const USER_ID: &str = "user_2xDemo";
const ORG: &str = "org_2xDemo";

/// One request through `app`, its body read to the end.
async fn send(app: &Router, authorization: &HeaderValue) -> (StatusCode, Bytes) {
    let response = app.clone().oneshot(token_request(authorization)).await.unwrap();
    let status = response.status();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

/// The routes behind the layer (never reached by a token request).
fn routes() -> Router {
    Router::new().route("/2/footprints", get(|| async { "footprints" }))
}

#[derive(Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
}

/// A handler that answers what the layer answers, without asking anyone.
fn bare_token_handler(access_token: Arc<str>) -> Router {
    let handler = move || {
        let access_token = Arc::clone(&access_token);
        async move {
            let body = TokenBody { access_token: &access_token, token_type: "Bearer", expires_in: 3600 };
            ([(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")], Json(body)).into_response()
        }
    };
    Router::new().route("/auth/token", post(handler))
}

fn token_endpoint(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let fake = runtime.block_on(
        FakeClerk::builder()
            .user(FakeUser::new(USER, PASSWORD).id(USER_ID).member_of(ORG, "admin"))
            .organization(
                FakeOrganization::new(ORG, "way-demo")
                    .role_permissions("admin", ["org:footprints:read", "org:footprints:manage"]),
            )
            // Cached tokens outlive any bench run; sign-ins are never rate limited. Device Trust
            // off: the layer signs in with the password at the Frontend API (no secret key).
            .device_trust(false)
            .token_lifetime(Duration::from_secs(3600))
            .sign_in_rate_limit(u32::MAX, Duration::from_secs(10))
            .start(),
    );
    let config = ClerkBasicAuthConfig::new(fake.url()).unwrap();
    let authorization =
        HeaderValue::try_from(format!("Basic {}", STANDARD.encode(format!("{USER}:{PASSWORD}")))).unwrap();

    // Warm the session cache once; every later request for these credentials is a cache hit.
    let layered = routes().layer(ClerkBasicAuthLayer::new(config.clone()));
    let (status, body) = runtime.block_on(send(&layered, &authorization));
    assert_eq!(status, StatusCode::OK, "{body:?}");
    let token: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let access_token: Arc<str> = token["access_token"].as_str().unwrap().into();
    let bare = bare_token_handler(Arc::clone(&access_token));
    runtime.block_on(async {
        let (status, bare_body) = send(&bare, &authorization).await;
        assert_eq!(status, StatusCode::OK);
        let bare_token: serde_json::Value = serde_json::from_slice(&bare_body).unwrap();
        assert_eq!(bare_token["access_token"], token["access_token"], "the same JSON shape");
        assert_eq!(bare_token["token_type"], token["token_type"]);
    });
    assert_eq!(fake.stats().sign_ins, 1);

    let mut group = c.benchmark_group("token_endpoint");
    group.bench_function("cached_token_through_layer", |b| {
        b.to_async(&runtime).iter(|| async {
            let (status, body) = send(&layered, &authorization).await;
            debug_assert_eq!(status, StatusCode::OK);
            black_box(body)
        });
    });
    group.bench_function("bare_axum_handler", |b| {
        b.to_async(&runtime).iter(|| async {
            let (status, body) = send(&bare, &authorization).await;
            debug_assert_eq!(status, StatusCode::OK);
            black_box(body)
        });
    });
    assert_eq!(fake.stats().sign_ins, 1, "every cached request was answered without Clerk");

    // Cold: a fresh layer per request (built outside the timed part, sharing the HTTP client and
    // so its keep-alive connections), so each request signs in at the fake Clerk.
    group.sample_size(20);
    // Set when a cold bench runs (a filter may skip them all).
    let cold_ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for (name, config) in [
        ("cold_sign_in", config.clone()),
        ("cold_sign_in_and_activate_organization", config.clone().with_organization(ORG)),
    ] {
        group.bench_function(name, |b| {
            cold_ran.store(true, std::sync::atomic::Ordering::Relaxed);
            b.to_async(&runtime).iter_custom(|iters| {
                let config = config.clone();
                let authorization = authorization.clone();
                async move {
                    let mut elapsed = Duration::ZERO;
                    for _ in 0..iters {
                        let app = routes().layer(ClerkBasicAuthLayer::new(config.clone()));
                        let start = Instant::now();
                        let (status, body) = send(&app, &authorization).await;
                        elapsed += start.elapsed();
                        assert_eq!(status, StatusCode::OK, "{body:?}");
                        black_box(body);
                    }
                    elapsed
                }
            });
        });
    }
    redis_store(&mut group, &runtime, &config, &authorization, &fake);
    group.finish();
    let stats = fake.stats();
    if cold_ran.load(std::sync::atomic::Ordering::Relaxed) {
        assert!(stats.sign_ins > 1 && stats.touches > 0, "the cold requests signed in at Clerk: {stats:?}");
    }
    drop(fake);
}

/// A `redis-server` on a free loopback port for the Redis-store benches, killed when dropped.
struct RedisServer {
    port: u16,
    child: std::process::Child,
}

impl RedisServer {
    fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let server = Self { port, child };
        for _ in 0..200 {
            if server.cli(&["PING"]).is_some_and(|answer| answer.contains("PONG")) {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn cli(&self, args: &[&str]) -> Option<String> {
        let output = std::process::Command::new("redis-cli").arg("-p").arg(self.port.to_string()).args(args).output();
        output.ok().map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Redis store (issue: replicas share sessions): a cached token request with the store
/// configured (its hot path stays local), and a replica's first request for a credential another
/// replica signed in (a Redis read, no Clerk call), against `cold_sign_in` above. Prints Redis's
/// memory per stored credential. Skipped without `redis-server` on the PATH.
fn redis_store(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    config: &ClerkBasicAuthConfig,
    authorization: &HeaderValue,
    fake: &FakeClerk,
) {
    let Some(redis) = RedisServer::start() else {
        eprintln!("redis-server not found: the Redis-store benches are skipped");
        return;
    };
    let shared = config
        .clone()
        .with_session_store_secret("a-bench-secret-that-is-long-enough-0123456789")
        .unwrap()
        .with_session_store(SessionStore::redis(format!("redis://127.0.0.1:{}/0", redis.port)))
        .unwrap();
    let layered = routes().layer(ClerkBasicAuthLayer::new(shared.clone()));
    let (status, body) = runtime.block_on(send(&layered, authorization));
    assert_eq!(status, StatusCode::OK, "{body:?}");
    let keys = redis.cli(&["KEYS", "clerk-basic-auth:v1:*"]).unwrap_or_default();
    let mut bytes = 0;
    for key in keys.lines().filter(|key| key.contains(":session:") || key.contains(":good:")) {
        bytes += redis.cli(&["MEMORY", "USAGE", key]).and_then(|n| n.trim().parse::<u64>().ok()).unwrap_or(0);
    }
    eprintln!("redis memory per stored credential (session entry and known-good mark): {bytes} bytes");

    group.sample_size(100);
    group.bench_function("cached_token_through_layer_redis_store", |b| {
        b.to_async(runtime).iter(|| async {
            let (status, body) = send(&layered, authorization).await;
            debug_assert_eq!(status, StatusCode::OK);
            black_box(body)
        });
    });
    let sign_ins = fake.stats().sign_ins;
    group.sample_size(20);
    group.bench_function("replica_first_request_from_redis", |b| {
        b.to_async(runtime).iter_custom(|iters| {
            let shared = shared.clone();
            let authorization = authorization.clone();
            async move {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    // A new replica: nothing in its own memory, the session in Redis.
                    let app = routes().layer(ClerkBasicAuthLayer::new(shared.clone()));
                    let start = Instant::now();
                    let (status, body) = send(&app, &authorization).await;
                    elapsed += start.elapsed();
                    assert_eq!(status, StatusCode::OK, "{body:?}");
                    black_box(body);
                }
                elapsed
            }
        });
    });
    assert_eq!(fake.stats().sign_ins, sign_ins, "replicas adopted the stored session: no sign-in");
}

criterion_group!(benches, token_endpoint);
criterion_main!(benches);
