//! The cost of protecting a route: one request through a bare inner service, through
//! `ClerkBasicAuthLayer` with a token it has verified before (verified-token cache hit) and with
//! one it sees for the first time (full RS256 verification), through jwt-authorizer's layer with
//! the same key and token, and a bare `jsonwebtoken::decode` of the same token (the floor), plus
//! the RSA signature check alone.
//!
//! Our layer runs with the fixed PEM key (`with_jwt_key`, networkless) and, in the `_jwks`
//! variants, with Clerk's JWKS fetched from the fake Clerk once before the measurement.
//!
//! Every service is driven directly with `ready().call()` on an `http::Request` inside a tokio
//! runtime: no sockets, no HTTP parsing. Each timed iteration builds the request (a cloned
//! `Authorization` value), calls the service and drops the response, so the difference to the
//! bare inner service is the layer's own cost.
//!
//! ```text
//! cargo bench -p peers --bench protect -- --warm-up-time 1 --measurement-time 3
//! ```

mod support;

use std::convert::Infallible;
use std::fmt::Debug;
use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use clerk_basic_auth::testing::FakeClerk;
use clerk_basic_auth::{ClerkBasicAuthConfig, ClerkBasicAuthLayer, ClerkClaims};
use criterion::{Criterion, criterion_group, criterion_main};
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::Empty;
use jwt_authorizer::{IntoLayer as _, JwtAuthorizer};
use serde_json::{Map, Value};
use support::clerk_claims;
use tower::{Layer as _, Service, ServiceExt as _};

/// The request body every service gets.
type ReqBody = Empty<Bytes>;

/// The path of the protected route.
const PATH: &str = "/2/footprints";
/// Distinct tokens per fresh layer in the "first sight, cache on" case.
const FRESH_TOKENS: usize = 256;

/// The inner service of every variant: jwt-authorizer's layer needs `S::Response:
/// From<AuthError>`, which only axum 0.7's `Response` implements, so every variant gets the same
/// inner service returning that type.
fn inner() -> impl Service<Request<ReqBody>, Response = axum07::response::Response, Error = Infallible> + Clone {
    tower::service_fn(|_request: Request<ReqBody>| async {
        Ok::<_, Infallible>(axum07::response::Response::new(axum07::body::Body::empty()))
    })
}

fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_maybe_shared(Bytes::from(format!("Bearer {token}"))).unwrap()
}

/// A GET of the protected route with this `Authorization` value (a reference-counted clone).
fn request(authorization: &HeaderValue) -> Request<ReqBody> {
    let mut request = Request::new(Empty::new());
    *request.uri_mut() = Uri::from_static(PATH);
    request.headers_mut().insert(AUTHORIZATION, authorization.clone());
    request
}

/// `iters` requests through `service`, timed.
async fn drive<S, B>(service: &mut S, authorization: &HeaderValue, iters: u64) -> Duration
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    S::Error: Debug,
{
    let start = Instant::now();
    for _ in 0..iters {
        let response = service.ready().await.unwrap().call(request(authorization)).await.unwrap();
        black_box(response);
    }
    start.elapsed()
}

/// Fails the bench unless `service` answers `expected` for this token.
async fn expect<S, B>(mut service: S, authorization: &HeaderValue, expected: StatusCode)
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    S::Error: Debug,
{
    let response = service.ready().await.unwrap().call(request(authorization)).await.unwrap();
    assert_eq!(response.status(), expected);
}

fn protect(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let fake = runtime.block_on(FakeClerk::builder().start());
    let issuer = fake.url().to_owned();
    let pem = fake.public_key_pem();
    let token = fake.sign_claims(clerk_claims(&issuer, "bench"));
    let authorization = bearer(&token);
    // Same claims, each token distinct (its `jti`), for the first-sight-with-cache case.
    let fresh: Vec<HeaderValue> =
        (0..FRESH_TOKENS).map(|i| bearer(&fake.sign_claims(clerk_claims(&issuer, &format!("fresh{i}"))))).collect();

    // Networkless: the fixed PEM key, so no HTTP on the verification path.
    let config = ClerkBasicAuthConfig::new(&issuer).unwrap().with_jwt_key(&pem).unwrap();
    let cached = ClerkBasicAuthLayer::new(config.clone()).layer(inner());
    let uncached = ClerkBasicAuthLayer::new(config.clone().with_verified_token_cache(0)).layer(inner());
    // The default set-up: Clerk's JWKS, fetched from the fake once (below), then no network.
    let jwks_config = ClerkBasicAuthConfig::new(&issuer).unwrap();
    let cached_jwks = ClerkBasicAuthLayer::new(jwks_config.clone()).layer(inner());
    let uncached_jwks = ClerkBasicAuthLayer::new(jwks_config.with_verified_token_cache(0)).layer(inner());

    // jwt-authorizer with the same key and, as far as it goes, the same validation: iss, exp,
    // nbf, 5 s leeway (its default is 60 s). Its claims type is the same JSON map ours decodes.
    let authorizer = runtime
        .block_on(
            JwtAuthorizer::<Map<String, Value>>::from_rsa_pem_text(&pem)
                .validation(jwt_authorizer::Validation::new().iss(&[issuer.as_str()]).leeway(5).nbf(true))
                .build(),
        )
        .unwrap();
    let peer = authorizer.into_layer().layer(inner());

    // The floor: what our verifier asks of jsonwebtoken, with no layer around it.
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.leeway = 5;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "sub", "iss"]);
    validation.set_issuer(&[&issuer]);

    // The signature check alone, as jsonwebtoken does it (the DER key parsed on every call) and
    // with the key parsed once.
    let jsonwebtoken::DecodingKeyKind::SecretOrDer(der) = key.kind() else { panic!("an RSA DER key") };
    let der = der.to_vec();
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let rsa = &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256;
    let parsed = aws_lc_rs::signature::ParsedPublicKey::new(rsa, &der).unwrap();

    runtime.block_on(async {
        expect(inner(), &authorization, StatusCode::OK).await;
        expect(cached.clone(), &authorization, StatusCode::OK).await;
        expect(uncached.clone(), &authorization, StatusCode::OK).await;
        expect(cached_jwks.clone(), &authorization, StatusCode::OK).await;
        expect(uncached_jwks.clone(), &authorization, StatusCode::OK).await;
        expect(peer.clone(), &authorization, StatusCode::OK).await;
        // Refusals prove each service checks: a token signed by another key, or the wrong issuer.
        let forged = format!("{}.{}", signed, URL_SAFE_NO_PAD.encode([0u8; 256]));
        // (PACT v2 answers an invalid token 400 BadRequest; jwt-authorizer answers 401.)
        expect(uncached.clone(), &bearer(&forged), StatusCode::BAD_REQUEST).await;
        expect(peer.clone(), &bearer(&forged), StatusCode::UNAUTHORIZED).await;
        let stranger = fake.sign_claims(clerk_claims("https://other.example.com", "x"));
        expect(uncached.clone(), &bearer(&stranger), StatusCode::BAD_REQUEST).await;
        expect(peer.clone(), &bearer(&stranger), StatusCode::UNAUTHORIZED).await;
        // The claims handlers see.
        let mut claims_probe =
            ClerkBasicAuthLayer::new(config.clone()).layer(tower::service_fn(|request: Request<ReqBody>| async move {
                let claims = request.extensions().get::<ClerkClaims>().expect("claims in the extensions");
                assert_eq!(claims.user_id(), "user_2xDemo");
                assert!(claims.organization().unwrap().has_permission("footprints:manage"));
                Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
            }));
        let response = claims_probe.ready().await.unwrap().call(request(&authorization)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    });
    assert!(jsonwebtoken::decode::<Map<String, Value>>(&token, &key, &validation).is_ok());
    assert!(aws_lc_rs::signature::UnparsedPublicKey::new(rsa, &der).verify(signed.as_bytes(), &signature).is_ok());
    assert!(parsed.verify_sig(signed.as_bytes(), &signature).is_ok());

    let mut group = c.benchmark_group("protect");
    group.bench_function("a_bare_inner_service", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let mut service = inner();
            let authorization = authorization.clone();
            async move { drive(&mut service, &authorization, iters).await }
        });
    });
    group.bench_function("b_layer_cached_token", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let mut service = cached.clone();
            let authorization = authorization.clone();
            async move { drive(&mut service, &authorization, iters).await }
        });
    });
    group.bench_function("b_layer_cached_token_jwks", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let mut service = cached_jwks.clone();
            let authorization = authorization.clone();
            async move { drive(&mut service, &authorization, iters).await }
        });
    });
    group.bench_function("c_layer_first_sight_cache_off", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let mut service = uncached.clone();
            let authorization = authorization.clone();
            async move { drive(&mut service, &authorization, iters).await }
        });
    });
    group.bench_function("c_layer_first_sight_cache_off_jwks", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let mut service = uncached_jwks.clone();
            let authorization = authorization.clone();
            async move { drive(&mut service, &authorization, iters).await }
        });
    });
    // Every token new to its layer, and remembered by it: verification plus the cache insert.
    // A fresh layer per `FRESH_TOKENS` requests, built outside the timed part.
    group.bench_function("c_layer_first_sight_cache_on", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let config = config.clone();
            let fresh = fresh.clone();
            async move {
                let mut elapsed = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let mut service = ClerkBasicAuthLayer::new(config.clone()).layer(inner());
                    let batch = left.min(FRESH_TOKENS as u64);
                    let start = Instant::now();
                    for authorization in &fresh[..batch as usize] {
                        let response = service.ready().await.unwrap().call(request(authorization)).await.unwrap();
                        black_box(response);
                    }
                    elapsed += start.elapsed();
                    left -= batch;
                }
                elapsed
            }
        });
    });
    group.bench_function("d_jwt_authorizer", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let mut service = peer.clone();
            let authorization = authorization.clone();
            async move { drive(&mut service, &authorization, iters).await }
        });
    });
    group.bench_function("e_jsonwebtoken_decode", |b| {
        b.iter(|| jsonwebtoken::decode::<Map<String, Value>>(black_box(&token), &key, &validation).unwrap());
    });
    group.bench_function("f_rsa_verify_key_parsed_per_call", |b| {
        b.iter(|| {
            aws_lc_rs::signature::UnparsedPublicKey::new(rsa, &der)
                .verify(black_box(signed.as_bytes()), &signature)
                .unwrap();
        });
    });
    group.bench_function("f_rsa_verify_key_parsed_once", |b| {
        b.iter(|| parsed.verify_sig(black_box(signed.as_bytes()), &signature).unwrap());
    });
    group.finish();
    drop(fake);
}

criterion_group!(benches, protect);
criterion_main!(benches);
