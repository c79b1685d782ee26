//! Every path through the layer, logged at TRACE level by every crate: no password, no Clerk
//! client token and no JWT may appear in the log.
//!
//! One test in its own binary, because it installs the process-wide tracing subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clerk_basic_auth::testing::Fault;
use common::*;
use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_line() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let clerk = clerk_builder().token_lifetime(Duration::from_secs(2)).start().await;
    let config =
        || config(&clerk).with_http_timeout(Duration::from_millis(300)).with_refresh_margin(Duration::from_secs(1));
    let addr = serve(config().with_organization(ORG)).await;
    let template = serve(config().with_jwt_template("pact")).await;
    let with_key = serve(
        config().with_secret_key(clerk.secret_key()).unwrap().with_backend_api_url(&clerk.backend_api_url()).unwrap(),
    )
    .await;
    let mut jwts = Vec::new();
    let passwords =
        [PASSWORD, "wrong-password-1", "MfaPassword1", "pa:ss:wörd ✓ 🔑", "MemberPassword1", "Swapped-Secret-42"];

    // Sign-in, organization, cache hits, refreshes from the session, template tokens.
    for _ in 0..3 {
        jwts.push(access_token(addr, USER, PASSWORD).await);
    }
    jwts.push(access_token(template, USER, PASSWORD).await);
    jwts.push(access_token(template, "colon@way.cloud", "pa:ss:wörd ✓ 🔑").await);
    // The Backend API path with the secret key: a user lookup, a password check, a ticket.
    jwts.push(access_token(with_key, USER, PASSWORD).await);
    token_request(with_key, "member@way.cloud", "wrong-password-1").send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    jwts.push(access_token(addr, USER, PASSWORD).await);
    // A revoked session, signed in again.
    clerk.revoke_sessions(USER);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    jwts.push(access_token(addr, USER, PASSWORD).await);
    // Refusals, throttling, MFA.
    for _ in 0..6 {
        token_request(addr, USER, "wrong-password-1").send().await.unwrap();
    }
    token_request(addr, "mfa@way.cloud", "MfaPassword1").send().await.unwrap();
    // A client that swapped its id and secret sends the secret as the user name.
    for _ in 0..6 {
        token_request(addr, "Swapped-Secret-42", "member@way.cloud").send().await.unwrap();
    }
    // Clerk failing in every way.
    for fault in [
        Fault::Down,
        Fault::ServerError(502),
        Fault::Garbage,
        Fault::RateLimited { retry_after: Duration::from_secs(1) },
    ] {
        clerk.set_fault(Some(fault));
        token_request(addr, "member@way.cloud", "MemberPassword1").send().await.unwrap();
    }
    clerk.set_fault(None);
    clerk.set_latency(Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    token_request(addr, "member@way.cloud", "MemberPassword1").send().await.unwrap();
    clerk.set_latency(Duration::ZERO);
    // Protected routes: valid, expired, forged, unknown key.
    let now = unix_now();
    let fresh = access_token(addr, "member@way.cloud", "MemberPassword1").await;
    let expired = clerk.sign_claims(json!({"sub": USER_ID, "iss": clerk.url(), "iat": now - 90, "exp": now - 30}));
    let unknown_key =
        clerk.sign_with_header(json!({"alg": "RS256", "kid": "ins_nope"}), json!({"sub": USER_ID, "exp": now + 60}));
    let forged = format!("{}x", &fresh[..fresh.len() - 1]);
    for token in [&fresh, &expired, &unknown_key, &forged] {
        get_with(addr, "/me", token).await;
    }
    jwts.extend([fresh, expired, unknown_key, forged]);

    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "signed in at Clerk",
        "token refreshed from the session",
        "Clerk ended the session",
        "too many failed sign-ins",
        "call to Clerk failed",
        "request refused",
    ] {
        assert!(log.contains(expected), "the log lacks {expected:?}: the capture does not work");
    }
    for password in passwords {
        assert!(!log.contains(password), "a password reached the log");
    }
    let client_tokens = clerk.client_tokens();
    assert!(client_tokens.len() >= 3);
    for client_token in client_tokens {
        assert!(!log.contains(&client_token), "a client token reached the log");
    }
    assert!(!log.contains(clerk.secret_key()), "the secret key reached the log");
    let tickets = clerk.sign_in_tokens();
    assert_eq!(tickets.len(), 1);
    for ticket in tickets {
        assert!(!log.contains(&ticket), "a sign-in token reached the log");
    }
    for jwt in jwts {
        // Any of a JWT's three parts is enough to rebuild or replay it.
        for part in jwt.split('.').filter(|part| part.len() > 16) {
            assert!(!log.contains(part), "a JWT (part) reached the log");
        }
    }
}
