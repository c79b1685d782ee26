//! Flat cost as the work grows: the cost of a cache hit through `ClerkBasicAuthLayer` with 1,
//! 10,000 and 100,000 cached credentials (token endpoint) and with 1, 10,000, 100,000 and
//! 1,000,000 verified tokens (a protected route), and the memory each cached credential and each
//! verified token costs, measured by a counting global allocator.
//!
//! ```text
//! cargo bench -p peers --bench scale       # 4.7 min on 2 quiet cores (2.6 signing 1M tokens); ~8 busy
//! SCALE_MAX_TOKENS=300000 cargo bench -p peers --bench scale                  # ~3 min
//! SCALE_ROUNDS=2 SCALE_MAX_CREDENTIALS=2000 SCALE_MAX_TOKENS=5000 cargo bench -p peers --bench scale
//! ```
//!
//! **Cached credentials.** One shipped fake Clerk (Device Trust off, hour-long tokens, no
//! sign-in rate limit). Per size, one layer in front of a trivial axum router, every layer with
//! the same session capacity (the largest size plus a quarter: the cache's shards do not fill
//! evenly, and a cache filled to exactly its capacity would drop a few), filled by token requests
//! for that many distinct credentials (each signs in at the fake over loopback HTTP,
//! `SCALE_FILL_CONCURRENCY` (64) at a time; each must answer 200). A timed request is
//! `POST /auth/token` with Basic credentials, driven with tower's `oneshot` (no sockets), its
//! body read to the end.
//!
//! The fake finds a user by a linear scan of all its users, under its one lock, several times
//! per sign-in: with one user per credential, 100,000 credentials took 451 s to sign in here
//! (10,000: 8 s). So credentials share users, `SCALE_CREDENTIALS_PER_USER` (100) each, as
//! variants of the user's e-mail address that differ in letter case: Clerk matches identifiers
//! case-insensitively, the layer keys a credential by its exact text (a keyed hash of identifier
//! and password), so each variant is a credential of its own, with a sign-in and a Clerk session
//! of its own, and costs the layer what a distinct user's credential costs. Credentials go round
//! the users, so concurrent sign-ins are for different users (the failure budget per user counts
//! sign-ins in flight). `SCALE_CREDENTIALS_PER_USER=1` gives one user per credential.
//!
//! **Verified tokens.** Tokens signed by the fake (Clerk v2 session claims as in the `protect`
//! bench, distinct by `jti`, valid for ten years), signed on all cores (RSA-2048: 0.3 ms per
//! token per core here, twice that while others build). Per size, one layer (keys from the
//! fake's JWKS, the same verified-token capacity for every size, again the largest plus a
//! quarter) around an inner service that answers an empty 200; each token is sent once (its
//! first sight verifies it and the cache remembers it). A timed request is `GET /2/footprints`
//! with a bearer token, driven with `ready().call()` as in the `protect` bench. Sizes share the
//! tokens (size N gets the first N).
//!
//! After each fill, a second pass over every filled entry proves all of them are still cached
//! (no sign-in at the fake; no token verified again).
//!
//! **Timing.** Two lookups per size, each a rotation of `SCALE_ROTATION` (4,096) request
//! values, each value its own allocation, in a shuffled order:
//! - *spread*: values drawn evenly over the filled set, so the lookups are not one hot entry:
//!   many clients at once. Size 1 rotates over as many copies of its one value, so the bench's
//!   own memory traffic is the same at every size and only the layer's side differs; but at
//!   size 1 the layer's one entry stays in the CPU caches, at larger sizes 4,096 entries take
//!   turns;
//! - *hot*: copies of one filled value (the middle one): the CPU-cache working set is the same
//!   at every size, only the size of the tables differs.
//!
//! All layers stay alive; each of `SCALE_ROUNDS` (5) rounds measures every size and lookup for
//! `SCALE_SECONDS` (1), the sizes alternating (each round starts one size later), in batches of
//! whole rotations (at least 1,024 requests) after one untimed batch; a size's figure in a round
//! is the median over its batches of the time per request. Reported per size: the median over
//! rounds, and the ratio to size 1 as the median of the per-round ratios with their spread
//! (min-max). Every timed request must be a cache hit: the fake counts no sign-in, and the
//! crate's own counters (read through a `metrics` recorder this bench installs, which turns the
//! hot-path counters from no-ops into one atomic increment) count no verification and exactly
//! one remembered token or cached token request per request sent.
//!
//! **Memory.** What is counted: live heap bytes, the sum of `Layout::size` of every allocation
//! not yet freed, counted with relaxed atomics by the bench's global allocator (a wrapper of
//! `System`); not RSS: malloc's own per-block overhead and fragmentation are not in it (the live
//! block count is printed so they can be estimated). A layer's footprint is what dropping it
//! frees, measured while nothing else runs: its caches, sessions, keys and configuration.
//! Excluded by construction: the fake Clerk (its users, clients and sessions: it is never
//! dropped), the bench's tokens and request values (kept, or dropped before), and the HTTP
//! client with its connections (a configuration clone the bench keeps holds it). Per entry is
//! the marginal cost: (footprint filled to N2 - footprint filled to N1) / (N2 - N1), for layers
//! of one configuration. For verified tokens the growth of live bytes during the fill is printed
//! too, as a check of the drop figure. The memory at the default bounds is the footprint of one
//! layer of the default configuration (10,000 credentials, 10,000 verified tokens) after 10,000
//! credentials signed in and 10,000 tokens verified (caches filled to exactly their capacity
//! keep a little less: see above).
//!
//! Sizes and rounds can be lowered for a quick run: `SCALE_MAX_CREDENTIALS`, `SCALE_MAX_TOKENS`
//! (the sizes above up to it, and it), `SCALE_ROUNDS`, `SCALE_SECONDS`, `SCALE_ROTATION`. Run
//! without `--bench` (as `cargo test --benches` does), it makes a smoke run with tiny sizes.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::future::{Ready, ready};
use std::hint::black_box;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderValue, Request, Response, StatusCode, Uri};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use clerk_basic_auth::testing::{FakeClerk, FakeUser};
use clerk_basic_auth::{ClerkBasicAuth, ClerkBasicAuthConfig, ClerkBasicAuthLayer};
use http_body_util::{BodyExt as _, Empty};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use support::{clerk_claims, token_request};
use tokio::runtime::Handle;
use tower::{Layer as _, Service, ServiceExt as _};

/// The standard sizes; a run measures those below its maximum, and the maximum.
const CREDENTIAL_SIZES: [usize; 3] = [1, 10_000, 100_000];
const TOKEN_SIZES: [usize; 4] = [1, 10_000, 100_000, 1_000_000];
/// `ClerkBasicAuthConfig`'s default session capacity and verified-token capacity.
const DEFAULT_BOUND: usize = 10_000;

const PASSWORD: &str = "scale-bench-password";
const PROTECTED_PATH: &str = "/2/footprints";

// ---------------------------------------------------------------------------------------------
// Memory: a counting global allocator.

/// Live heap bytes and blocks, as requested through the global allocator.
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static LIVE_BLOCKS: AtomicI64 = AtomicI64::new(0);

/// `System`, counting what is live.
struct CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn counted(size: usize) {
    LIVE_BYTES.fetch_add(size as i64, Ordering::Relaxed);
    LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
}

fn uncounted(size: usize) {
    LIVE_BYTES.fetch_sub(size as i64, Ordering::Relaxed);
    LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
}

// SAFETY: every call is passed on to `System` unchanged; the counters only observe.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `layout` is `System`'s.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            counted(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            counted(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from this allocator, that is from `System`, with `layout`.
        unsafe { System.dealloc(pointer, layout) };
        uncounted(layout.size());
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`; `new_size` is the caller's to check.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        }
        moved
    }
}

/// Live heap bytes and blocks at one moment, or a difference of two.
#[derive(Clone, Copy, Debug, Default)]
struct Footprint {
    bytes: i64,
    blocks: i64,
}

impl std::ops::Sub for Footprint {
    type Output = Self;

    fn sub(self, earlier: Self) -> Self {
        Self { bytes: self.bytes - earlier.bytes, blocks: self.blocks - earlier.blocks }
    }
}

fn live() -> Footprint {
    Footprint { bytes: LIVE_BYTES.load(Ordering::Relaxed), blocks: LIVE_BLOCKS.load(Ordering::Relaxed) }
}

/// What dropping `value` frees.
fn freed_by_dropping<T>(value: T) -> Footprint {
    let before = live();
    drop(value);
    before - live()
}

// ---------------------------------------------------------------------------------------------
// The crate's counters, through a `metrics` recorder of the bench's own.

/// The counters the checks read.
struct Counts {
    /// Tokens verified from scratch (first sight): `clerk_basic_auth_verified_tokens_total{result="verified"}`.
    verified: Arc<AtomicU64>,
    /// Tokens answered from the verified-token cache: `...{result="cached"}`.
    remembered: Arc<AtomicU64>,
    /// Token requests answered from the session cache: `clerk_basic_auth_token_requests_total{result="cached"}`.
    cached_token_requests: Arc<AtomicU64>,
}

static COUNTS: LazyLock<Counts> = LazyLock::new(|| Counts {
    verified: Arc::default(),
    remembered: Arc::default(),
    cached_token_requests: Arc::default(),
});

fn count(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Counts the three counters above; every other metric goes nowhere.
struct CountingRecorder;

impl Recorder for CountingRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let result = key.labels().find(|label| label.key() == "result").map(|label| label.value());
        let counter = match (key.name(), result) {
            ("clerk_basic_auth_verified_tokens_total", Some("verified")) => &COUNTS.verified,
            ("clerk_basic_auth_verified_tokens_total", Some("cached")) => &COUNTS.remembered,
            ("clerk_basic_auth_token_requests_total", Some("cached")) => &COUNTS.cached_token_requests,
            _ => return Counter::noop(),
        };
        Counter::from_arc(Arc::clone(counter))
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

// ---------------------------------------------------------------------------------------------
// Settings.

/// What a run measures; see the module docs for the variables.
struct Settings {
    rounds: usize,
    max_credentials: usize,
    max_tokens: usize,
    rotation: usize,
    seconds: f64,
    fill_concurrency: usize,
    credentials_per_user: usize,
    threads: usize,
}

impl Settings {
    /// From the environment; `quick` (no `--bench` argument) lowers the defaults to a smoke run.
    fn from_env(quick: bool) -> Self {
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        let (credentials, tokens, rounds, seconds) =
            if quick { (20, 50, 1, 0.02) } else { (100_000, 1_000_000, 5, 1.0) };
        Self {
            rounds: env_or("SCALE_ROUNDS", rounds).max(1),
            max_credentials: env_or("SCALE_MAX_CREDENTIALS", credentials).max(1),
            max_tokens: env_or("SCALE_MAX_TOKENS", tokens).max(1),
            rotation: env_or("SCALE_ROTATION", 4096).max(1),
            seconds: env_or("SCALE_SECONDS", seconds),
            fill_concurrency: env_or("SCALE_FILL_CONCURRENCY", 64).max(1),
            credentials_per_user: env_or("SCALE_CREDENTIALS_PER_USER", 100).max(1),
            threads,
        }
    }
}

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value.trim().parse().unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
        Err(_) => default,
    }
}

/// The standard sizes below `max`, then `max`.
fn sizes_up_to(standard: &[usize], max: usize) -> Vec<usize> {
    let mut sizes: Vec<usize> = standard.iter().copied().filter(|&size| size < max).collect();
    sizes.push(max);
    sizes
}

/// One capacity for every layer of a group: the largest size plus a quarter, since quick_cache
/// splits its capacity over shards that hashing does not fill evenly (a cache filled to exactly
/// its capacity drops a few entries).
fn capacity_for(max: usize) -> usize {
    max + max / 4 + 64
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// Who signs in: `users` users, and credentials spread over them.
#[derive(Clone, Copy)]
struct Population {
    users: usize,
}

impl Population {
    /// Users for `credentials` credentials, at most `per_user` each, and at least twice the fill
    /// concurrency (so one user never has more sign-ins in flight than its failure budget).
    fn new(credentials: usize, per_user: usize, concurrency: usize) -> Self {
        let per_user = per_user.clamp(1, 1 << LETTERS);
        Self { users: credentials.div_ceil(per_user).max(2 * concurrency).min(credentials) }
    }

    /// The e-mail address of `user`, lowercase.
    fn user_identifier(user: usize) -> String {
        format!("user{user:06}@scale.bench")
    }

    /// The identifier of credential `credential`: its user's address (credentials go round the
    /// users), its letters' case set by the bits of the credential's turn. Clerk matches
    /// identifiers case-insensitively, the layer keys credentials by their exact text: each
    /// variant is a credential of its own, with a sign-in and a Clerk session of its own.
    fn identifier(self, credential: usize) -> String {
        let (user, variant) = (credential % self.users, credential / self.users);
        let mut letters = 0;
        Self::user_identifier(user)
            .chars()
            .map(|c| {
                if !c.is_ascii_alphabetic() {
                    return c;
                }
                letters += 1;
                if (variant >> (letters - 1)) & 1 == 1 { c.to_ascii_uppercase() } else { c }
            })
            .collect()
    }

    fn basic(self, credential: usize) -> HeaderValue {
        let encoded = STANDARD.encode(format!("{}:{PASSWORD}", self.identifier(credential)));
        shared(HeaderValue::try_from(format!("Basic {encoded}")).unwrap())
    }
}

/// Letters in [`Population::user_identifier`]: at most 2^LETTERS credentials per user.
const LETTERS: u32 = 14;

fn bearer(token: &str) -> HeaderValue {
    shared(HeaderValue::from_maybe_shared(Bytes::from(format!("Bearer {token}"))).unwrap())
}

/// `value`, cloned once: the first clone of bytes made from a `String` allocates their shared
/// header, which would otherwise land in the first fill that sends the value (the bench's
/// memory, not the layer's).
fn shared(value: HeaderValue) -> HeaderValue {
    drop(value.clone());
    value
}

/// A GET of the protected route with this `Authorization` value.
fn protected_request(authorization: &HeaderValue) -> Request<Empty<Bytes>> {
    let mut request = Request::new(Empty::new());
    *request.uri_mut() = Uri::from_static(PROTECTED_PATH);
    request.headers_mut().insert(AUTHORIZATION, authorization.clone());
    request
}

/// One token request through `app`, its body read to the end.
async fn send_token_request(app: &Router, authorization: &HeaderValue) -> StatusCode {
    let response = app.clone().oneshot(token_request(authorization)).await.unwrap();
    let status = response.status();
    black_box(response.into_body().collect().await.unwrap().to_bytes());
    status
}

/// The inner service of the protected route: an empty 200.
#[derive(Clone, Copy)]
struct EmptyOk;

impl Service<Request<Empty<Bytes>>> for EmptyOk {
    type Response = Response<Empty<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Empty<Bytes>>) -> Self::Future {
        ready(Ok(Response::new(Empty::new())))
    }
}

type ProtectedRoute = ClerkBasicAuth<EmptyOk>;

/// The trivial router behind the token endpoint (never reached by a token request).
fn routes() -> Router {
    Router::new().route(PROTECTED_PATH, get(|| async { "footprints" }))
}

// ---------------------------------------------------------------------------------------------
// Filling.

/// A fake Clerk with `users` users, all with [`PASSWORD`].
async fn fake_clerk_with_users(users: usize) -> FakeClerk {
    let mut builder = FakeClerk::builder()
        .device_trust(false)
        .token_lifetime(Duration::from_secs(3600))
        .sign_in_rate_limit(u32::MAX, Duration::from_secs(10));
    for user in 0..users {
        builder = builder.user(FakeUser::new(Population::user_identifier(user), PASSWORD));
    }
    builder.start().await
}

/// Sends one token request per authorization through `app`, `concurrency` at a time, and fails
/// the bench unless every one is answered 200.
async fn request_tokens_for_all(app: &Router, authorizations: &[HeaderValue], concurrency: usize) {
    let authorizations: Arc<[HeaderValue]> = authorizations.into();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.min(authorizations.len()) {
        let (app, authorizations, next) = (app.clone(), Arc::clone(&authorizations), Arc::clone(&next));
        workers.spawn(async move {
            let mut refusals = Vec::new();
            while let Some(authorization) = authorizations.get(next.fetch_add(1, Ordering::Relaxed)) {
                let status = send_token_request(&app, authorization).await;
                if status != StatusCode::OK {
                    refusals.push(status);
                }
            }
            refusals
        });
    }
    let mut refusals = Vec::new();
    while let Some(worker) = workers.join_next().await {
        refusals.extend(worker.unwrap());
    }
    assert!(refusals.is_empty(), "{} token requests refused, e.g. {:?}", refusals.len(), refusals.first());
}

/// Signs `count` distinct tokens at the fake on `threads` threads, as `Authorization` values.
fn signed_tokens(fake: &FakeClerk, count: usize, threads: usize) -> Vec<HeaderValue> {
    let issuer = fake.url();
    std::thread::scope(|scope| {
        let parts: Vec<_> = (0..threads)
            .map(|part| {
                let numbers = part * count / threads..(part + 1) * count / threads;
                scope.spawn(move || {
                    numbers
                        .map(|number| bearer(&fake.sign_claims(clerk_claims(issuer, &format!("scale{number:08}")))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts.into_iter().flat_map(|part| part.join().unwrap()).collect()
    })
}

/// Sends every token once through `service`, on `threads` threads, and fails the bench unless
/// each is answered 200.
fn send_each_token(service: &ProtectedRoute, tokens: &[HeaderValue], threads: usize, runtime: &Handle) {
    let chunk = tokens.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for part in tokens.chunks(chunk) {
            let mut service = service.clone();
            scope.spawn(move || {
                runtime.block_on(async move {
                    for authorization in part {
                        let response = service.ready().await.unwrap().call(protected_request(authorization)).await;
                        assert_eq!(response.unwrap().status(), StatusCode::OK, "a valid token refused");
                    }
                });
            });
        }
    });
}

/// A protected route behind a layer of `config`.
fn protected_route(config: ClerkBasicAuthConfig) -> ProtectedRoute {
    ClerkBasicAuthLayer::new(config).layer(EmptyOk)
}

// ---------------------------------------------------------------------------------------------
// Filled layers and their timed hits.

/// `count` request values drawn evenly over `filled`, each its own allocation, in a shuffled
/// order (the same shuffle for every size).
fn rotation_over(filled: &[HeaderValue], count: usize) -> Vec<HeaderValue> {
    let mut rotation: Vec<HeaderValue> =
        (0..count).map(|i| HeaderValue::from_bytes(filled[i * filled.len() / count].as_bytes()).unwrap()).collect();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for i in (1..rotation.len()).rev() {
        // xorshift64: a fixed, dependency-free shuffle.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        rotation.swap(i, (state % (i as u64 + 1)) as usize);
    }
    rotation
}

/// Which filled entries the timed requests look up.
#[derive(Clone, Copy)]
enum Lookup {
    /// `SCALE_ROTATION` distinct entries drawn evenly over the filled set (at size 1, as many
    /// copies of its one entry): many clients at once.
    Spread,
    /// As many copies of one entry (the middle of the filled set): only the table's size varies.
    Hot,
}

const LOOKUPS: [Lookup; 2] = [Lookup::Spread, Lookup::Hot];

/// The request values of both lookups, and where each rotation is.
struct Rotations {
    values: [Vec<HeaderValue>; 2],
    next: [usize; 2],
}

impl Rotations {
    fn over(filled: &[HeaderValue], count: usize) -> Self {
        let middle = filled.len() / 2;
        let values = [rotation_over(filled, count), rotation_over(&filled[middle..=middle], count)];
        Self { values, next: [0, 0] }
    }

    /// The next request value of `lookup`'s rotation.
    fn next(&mut self, lookup: Lookup) -> &HeaderValue {
        let (values, next) = (&self.values[lookup as usize], &mut self.next[lookup as usize]);
        let value = &values[*next];
        *next = if *next + 1 == values.len() { 0 } else { *next + 1 };
        value
    }

    /// Requests per batch: whole rotations, at least 1,024 requests.
    fn batch(&self) -> usize {
        let rotation = self.values[0].len();
        rotation * 1024_usize.div_ceil(rotation)
    }
}

/// A filled layer whose cache hits are timed.
trait HitCase {
    /// Entries it was filled with.
    fn size(&self) -> usize;
    /// Requests per batch.
    fn batch(&self) -> usize;
    /// `count` requests, continuing `lookup`'s rotation; the time they took.
    async fn timed_hits(&mut self, lookup: Lookup, count: usize) -> Duration;
}

/// A token endpoint with `size` cached credentials.
struct CredentialLayer {
    size: usize,
    app: Router,
    rotations: Rotations,
    served: u64,
}

impl HitCase for CredentialLayer {
    fn size(&self) -> usize {
        self.size
    }

    fn batch(&self) -> usize {
        self.rotations.batch()
    }

    async fn timed_hits(&mut self, lookup: Lookup, count: usize) -> Duration {
        let mut refused = 0;
        let start = Instant::now();
        for _ in 0..count {
            let status = send_token_request(&self.app, self.rotations.next(lookup)).await;
            refused += usize::from(status != StatusCode::OK);
        }
        let elapsed = start.elapsed();
        assert_eq!(refused, 0, "cached credentials refused");
        self.served += count as u64;
        elapsed
    }
}

/// A protected route with `size` verified tokens.
struct TokenLayer {
    size: usize,
    service: ProtectedRoute,
    rotations: Rotations,
    served: u64,
    /// Live bytes and blocks the fill added.
    fill_growth: Footprint,
}

impl HitCase for TokenLayer {
    fn size(&self) -> usize {
        self.size
    }

    fn batch(&self) -> usize {
        self.rotations.batch()
    }

    async fn timed_hits(&mut self, lookup: Lookup, count: usize) -> Duration {
        let mut refused = 0;
        let start = Instant::now();
        for _ in 0..count {
            let request = protected_request(self.rotations.next(lookup));
            let response = self.service.ready().await.unwrap().call(request).await.unwrap();
            refused += usize::from(response.status() != StatusCode::OK);
            black_box(response);
        }
        let elapsed = start.elapsed();
        assert_eq!(refused, 0, "verified tokens refused");
        self.served += count as u64;
        elapsed
    }
}

/// Fills one credential layer of `config` per size.
async fn credential_layers(
    config: &ClerkBasicAuthConfig,
    fake: &FakeClerk,
    authorizations: &[HeaderValue],
    sizes: &[usize],
    settings: &Settings,
) -> Vec<CredentialLayer> {
    let mut layers = Vec::new();
    for &size in sizes {
        let app = routes().layer(ClerkBasicAuthLayer::new(config.clone()));
        let (start, sign_ins) = (Instant::now(), fake.stats().sign_ins);
        request_tokens_for_all(&app, &authorizations[..size], settings.fill_concurrency).await;
        let took = start.elapsed();
        assert_eq!(fake.stats().sign_ins - sign_ins, size as u64, "one sign-in per credential");
        // Every credential still cached: a second pass signs in nobody.
        request_tokens_for_all(&app, &authorizations[..size], settings.fill_concurrency).await;
        assert_eq!(fake.stats().sign_ins - sign_ins, size as u64, "every filled credential is still cached");
        eprintln!("filled {size} credentials in {:.1} s", took.as_secs_f64());
        let rotations = Rotations::over(&authorizations[..size], settings.rotation);
        layers.push(CredentialLayer { size, app, rotations, served: 0 });
    }
    layers
}

/// Fills one token layer of `config` per size.
fn token_layers(
    config: &ClerkBasicAuthConfig,
    tokens: &[HeaderValue],
    sizes: &[usize],
    settings: &Settings,
    runtime: &Handle,
) -> Vec<TokenLayer> {
    let mut layers = Vec::new();
    for &size in sizes {
        let service = protected_route(config.clone());
        let (start, before, verified) = (Instant::now(), live(), count(&COUNTS.verified));
        send_each_token(&service, &tokens[..size], settings.threads, runtime);
        let (took, fill_growth) = (start.elapsed(), live() - before);
        assert_eq!(count(&COUNTS.verified) - verified, size as u64, "each token verified once");
        // Every token still cached: a second pass verifies none.
        send_each_token(&service, &tokens[..size], settings.threads, runtime);
        assert_eq!(count(&COUNTS.verified) - verified, size as u64, "every filled token is still cached");
        eprintln!("verified {size} tokens in {:.1} s", took.as_secs_f64());
        let rotations = Rotations::over(&tokens[..size], settings.rotation);
        layers.push(TokenLayer { size, service, rotations, served: 0, fill_growth });
    }
    layers
}

/// The memory of one default-configured layer filled to its default bounds.
struct DefaultBounds {
    credentials: usize,
    tokens: usize,
    /// What dropping the layer freed.
    total: Footprint,
    /// What the tokens' fill added (after the credentials').
    tokens_growth: Footprint,
}

/// Fills a layer of the default configuration with `DEFAULT_BOUND` credentials and tokens (or
/// fewer when the run has fewer), then drops it.
async fn default_bounds(
    fake: &FakeClerk,
    authorizations: &[HeaderValue],
    tokens: &[HeaderValue],
    settings: &Settings,
) -> DefaultBounds {
    let config = ClerkBasicAuthConfig::new(fake.url()).unwrap();
    // Holds the HTTP client and its connections, so that the drop below frees the layer alone.
    let _client = config.clone();
    let layer = ClerkBasicAuthLayer::new(config);
    let app = routes().layer(layer.clone());
    let protected = layer.layer(EmptyOk);
    let credentials = authorizations.len().min(DEFAULT_BOUND);
    request_tokens_for_all(&app, &authorizations[..credentials], settings.fill_concurrency).await;
    let tokens = &tokens[..tokens.len().min(DEFAULT_BOUND)];
    let before = live();
    send_each_token(&protected, tokens, settings.threads, &Handle::current());
    let tokens_growth = live() - before;
    let total = freed_by_dropping((layer, app, protected));
    DefaultBounds { credentials, tokens: tokens.len(), total, tokens_growth }
}

// ---------------------------------------------------------------------------------------------
// Timing.

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 { values[middle] } else { (values[middle - 1] + values[middle]) / 2.0 }
}

/// Nanoseconds per hit of `case` with `lookup`: one untimed batch to warm up, then batches for
/// `seconds`; the median over the batches.
async fn time_hits<C: HitCase>(case: &mut C, lookup: Lookup, seconds: f64) -> f64 {
    let batch = case.batch();
    case.timed_hits(lookup, batch).await;
    let mut per_request = Vec::new();
    let start = Instant::now();
    while per_request.is_empty() || start.elapsed().as_secs_f64() < seconds {
        per_request.push(case.timed_hits(lookup, batch).await.as_nanos() as f64 / batch as f64);
    }
    median(&mut per_request)
}

/// One round over `cases` with `lookup`, starting at `first` and wrapping: nanoseconds per hit,
/// by case.
async fn one_round<C: HitCase>(cases: &mut [C], lookup: Lookup, first: usize, seconds: f64) -> Vec<f64> {
    let mut figures = vec![0.0; cases.len()];
    for offset in 0..cases.len() {
        let index = (first + offset) % cases.len();
        figures[index] = time_hits(&mut cases[index], lookup, seconds).await;
    }
    figures
}

/// Per round, per size, nanoseconds per cache hit: one group, one lookup.
struct Timings {
    sizes: Vec<usize>,
    rounds: Vec<Vec<f64>>,
}

/// Both lookups' timings of one group.
type GroupTimings = [Timings; 2];

/// `settings.rounds` rounds over both groups and both lookups, each round starting one size
/// later.
async fn alternate(
    credentials: &mut [CredentialLayer],
    tokens: &mut [TokenLayer],
    settings: &Settings,
) -> (GroupTimings, GroupTimings) {
    let timings = |sizes: Vec<usize>| [0, 1].map(|_| Timings { sizes: sizes.clone(), rounds: Vec::new() });
    let mut credential_timings = timings(credentials.iter().map(HitCase::size).collect());
    let mut token_timings = timings(tokens.iter().map(HitCase::size).collect());
    for round in 0..settings.rounds {
        eprintln!("round {}/{}", round + 1, settings.rounds);
        for lookup in LOOKUPS {
            let figures = one_round(credentials, lookup, round, settings.seconds).await;
            credential_timings[lookup as usize].rounds.push(figures);
            let figures = one_round(tokens, lookup, round, settings.seconds).await;
            token_timings[lookup as usize].rounds.push(figures);
        }
    }
    (credential_timings, token_timings)
}

// ---------------------------------------------------------------------------------------------
// Report.

/// Median nanoseconds, and the ratio to size 1 (median of rounds, min, max), of size `index`.
fn summary(timings: &Timings, index: usize) -> (f64, f64, f64, f64) {
    let mut nanos: Vec<f64> = timings.rounds.iter().map(|round| round[index]).collect();
    let mut ratios: Vec<f64> = timings.rounds.iter().map(|round| round[index] / round[0]).collect();
    let (low, high) = ratios.iter().fold((f64::MAX, f64::MIN), |(low, high), &r| (low.min(r), high.max(r)));
    (median(&mut nanos), median(&mut ratios), low, high)
}

fn print_hit_table(entries: &str, [spread, hot]: &GroupTimings) {
    println!(
        "| {entries} | spread: ns per hit | spread: ratio to size 1 | spread: spread | hot: ns per hit | \
         hot: ratio to size 1 | hot: spread |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (index, size) in spread.sizes.iter().enumerate() {
        let (nanos, ratio, low, high) = summary(spread, index);
        let (hot_nanos, hot_ratio, hot_low, hot_high) = summary(hot, index);
        println!(
            "| {size} | {nanos:.0} | {ratio:.3} | {low:.3}-{high:.3} | {hot_nanos:.0} | {hot_ratio:.3} | \
             {hot_low:.3}-{hot_high:.3} |"
        );
    }
    println!();
}

/// The footprint of each filled layer, and the marginal cost per entry from the previous size.
fn print_memory_table(entries: &str, footprints: &[(usize, Footprint)], fill_growth: Option<&[Footprint]>) {
    let growth_header = if fill_growth.is_some() { " live bytes added by the fill |" } else { "" };
    println!(
        "| {entries} | live bytes of the layer |{growth_header} live blocks | marginal bytes per entry | \
         marginal blocks per entry |"
    );
    println!("|---|---|{}---|---|---|", if fill_growth.is_some() { "---|" } else { "" });
    for (index, (size, footprint)) in footprints.iter().enumerate() {
        let marginal = index.checked_sub(1).map(|previous| marginal(footprints[previous], (*size, *footprint)));
        let (bytes, blocks) = marginal.map_or(("".into(), "".into()), |(b, k)| (format!("{b:.0}"), format!("{k:.2}")));
        let growth = fill_growth.map_or(String::new(), |growth| format!(" {} |", growth[index].bytes));
        println!("| {size} | {} |{growth} {} | {bytes} | {blocks} |", footprint.bytes, footprint.blocks);
    }
    if let (Some(first), Some(last)) = (footprints.first(), footprints.last())
        && footprints.len() > 1
    {
        let (bytes, blocks) = marginal(*first, *last);
        println!("\nper entry from {} to {} entries: **{bytes:.0} bytes**, {blocks:.2} blocks", first.0, last.0);
    }
    println!();
}

/// (bytes, blocks) per entry between two filled layers.
fn marginal((size_from, from): (usize, Footprint), (size_to, to): (usize, Footprint)) -> (f64, f64) {
    let entries = (size_to - size_from) as f64;
    ((to.bytes - from.bytes) as f64 / entries, (to.blocks - from.blocks) as f64 / entries)
}

fn mib(bytes: i64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn print_default_bounds(bounds: &DefaultBounds) {
    let credentials_part = bounds.total.bytes - bounds.tokens_growth.bytes;
    println!(
        "memory at the default bounds: one default-configured layer after {} credentials signed in and {} tokens \
         verified: **{:.1} MiB** ({} bytes, {} blocks); of which the tokens' fill added {:.1} MiB and the rest \
         (credentials, and the layer itself) is {:.1} MiB",
        bounds.credentials,
        bounds.tokens,
        mib(bounds.total.bytes),
        bounds.total.bytes,
        bounds.total.blocks,
        mib(bounds.tokens_growth.bytes),
        mib(credentials_part),
    );
}

// ---------------------------------------------------------------------------------------------

fn main() {
    metrics::set_global_recorder(CountingRecorder).expect("no other recorder");
    let quick = !std::env::args().any(|argument| argument == "--bench");
    let settings = Settings::from_env(quick);
    let credential_sizes = sizes_up_to(&CREDENTIAL_SIZES, settings.max_credentials);
    let token_sizes = sizes_up_to(&TOKEN_SIZES, settings.max_tokens);
    eprintln!(
        "scale: credentials {credential_sizes:?}, tokens {token_sizes:?}, {} rounds of {} s per size, rotation {}",
        settings.rounds, settings.seconds, settings.rotation
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let bench_start = Instant::now();

    let start = Instant::now();
    let population =
        Population::new(settings.max_credentials, settings.credentials_per_user, settings.fill_concurrency);
    let fake = runtime.block_on(fake_clerk_with_users(population.users));
    eprintln!("fake Clerk with {} users started in {:.1} s", population.users, start.elapsed().as_secs_f64());
    let authorizations: Vec<HeaderValue> =
        (0..settings.max_credentials).map(|credential| population.basic(credential)).collect();
    let start = Instant::now();
    let tokens = signed_tokens(&fake, settings.max_tokens, settings.threads);
    eprintln!("signed {} tokens in {:.1} s", tokens.len(), start.elapsed().as_secs_f64());

    let bounds = runtime.block_on(default_bounds(&fake, &authorizations, &tokens, &settings));
    // One configuration per group, so every size has the same capacities. Kept until the end:
    // they hold the HTTP client and its connections, which no layer's footprint then includes.
    let credential_config =
        ClerkBasicAuthConfig::new(fake.url()).unwrap().with_session_capacity(capacity_for(settings.max_credentials));
    let token_config =
        ClerkBasicAuthConfig::new(fake.url()).unwrap().with_verified_token_cache(capacity_for(settings.max_tokens));
    let mut credentials =
        runtime.block_on(credential_layers(&credential_config, &fake, &authorizations, &credential_sizes, &settings));
    let mut verified = token_layers(&token_config, &tokens, &token_sizes, &settings, runtime.handle());

    let sign_ins = fake.stats().sign_ins;
    let (verifications, remembered, cached) =
        (count(&COUNTS.verified), count(&COUNTS.remembered), count(&COUNTS.cached_token_requests));
    let (credential_timings, token_timings) = runtime.block_on(alternate(&mut credentials, &mut verified, &settings));
    assert_eq!(fake.stats().sign_ins, sign_ins, "every timed token request was answered from the session cache");
    let credential_requests: u64 = credentials.iter().map(|case| case.served).sum();
    let token_requests: u64 = verified.iter().map(|case| case.served).sum();
    assert_eq!(count(&COUNTS.cached_token_requests) - cached, credential_requests, "all session-cache hits");
    assert_eq!(count(&COUNTS.verified), verifications, "no timed token was verified again");
    assert_eq!(count(&COUNTS.remembered) - remembered, token_requests, "all verified-token cache hits");

    // Each layer's footprint: the bench's rotation first (not the layer's), then the layer.
    let credential_memory: Vec<(usize, Footprint)> = credentials
        .into_iter()
        .map(|CredentialLayer { size, app, rotations, .. }| {
            drop(rotations);
            (size, freed_by_dropping(app))
        })
        .collect();
    let mut token_fill_growth = Vec::new();
    let token_memory: Vec<(usize, Footprint)> = verified
        .into_iter()
        .map(|TokenLayer { size, service, rotations, fill_growth, .. }| {
            drop(rotations);
            token_fill_growth.push(fill_growth);
            (size, freed_by_dropping(service))
        })
        .collect();

    println!();
    println!(
        "## scale: {} rounds, {} s per size and lookup per round, rotation of {} request values; credentials \
         over {} users of the fake; {} credential and {} token requests timed, all cache hits",
        settings.rounds, settings.seconds, settings.rotation, population.users, credential_requests, token_requests
    );
    println!();
    print_hit_table("cached credentials", &credential_timings);
    print_hit_table("verified tokens", &token_timings);
    print_memory_table("cached credentials", &credential_memory, None);
    print_memory_table("verified tokens", &token_memory, Some(&token_fill_growth));
    print_default_bounds(&bounds);
    eprintln!("scale: {:.0} s in all", bench_start.elapsed().as_secs_f64());
    drop((credential_config, token_config, fake));
}
