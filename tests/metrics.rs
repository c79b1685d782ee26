//! What an operator sees through the `metrics` facade: a recorder installed for this test binary
//! only, requests through a real server, and every counter and label read back. No label may
//! carry an identifier, a password, a token or an address.

mod common;

use std::collections::HashMap;

use common::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

#[tokio::test]
async fn token_requests_sign_ins_refusals_and_clerk_calls_are_counted_without_secrets_in_labels() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("the only recorder of this test binary");

    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let token = access_token(addr, USER, PASSWORD).await;
    access_token(addr, USER, PASSWORD).await;
    assert_eq!(token_request(addr, USER, "wrong-password").send().await.unwrap().status(), 401);
    for _ in 0..2 {
        let response = http().get(format!("http://{addr}/2/footprints")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let garbage = http().get(format!("http://{addr}/2/footprints")).bearer_auth("garbage").send().await.unwrap();
    assert_eq!(garbage.status(), 400);

    let mut counters: HashMap<String, u64> = HashMap::new();
    let mut histograms: HashMap<String, usize> = HashMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let labels: Vec<String> = key.labels().map(|label| format!("{}={}", label.key(), label.value())).collect();
        for secret in [USER, PASSWORD, "wrong-password", token.as_str(), "garbage", "127.0.0.1"] {
            assert!(!labels.iter().any(|label| label.contains(secret)), "{} {labels:?}", key.name());
        }
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        match value {
            DebugValue::Counter(count) => {
                counters.insert(name, count);
            }
            DebugValue::Histogram(values) => {
                histograms.insert(name, values.len());
            }
            DebugValue::Gauge(_) => {}
        }
    }
    let counter = |name: &str| counters.get(name).copied().unwrap_or(0);
    assert_eq!(counter("clerk_basic_auth_token_requests_total{result=cached}"), 1, "{counters:#?}");
    assert_eq!(counter("clerk_basic_auth_token_requests_total{result=renewed}"), 1);
    assert_eq!(counter("clerk_basic_auth_token_requests_total{result=refused}"), 1);
    assert_eq!(counter("clerk_basic_auth_sign_ins_total{outcome=success}"), 1);
    assert_eq!(counter("clerk_basic_auth_sign_ins_total{outcome=wrong_credentials}"), 1);
    assert_eq!(counter("clerk_basic_auth_refusals_total{kind=invalid}"), 1);
    assert_eq!(counter("clerk_basic_auth_verified_tokens_total{result=verified}"), 1);
    assert_eq!(counter("clerk_basic_auth_verified_tokens_total{result=cached}"), 1);
    assert_eq!(
        histograms.get("clerk_basic_auth_clerk_call_seconds{call=fapi_sign_in,outcome=ok}"),
        Some(&1),
        "{histograms:#?}"
    );
    assert!(histograms.contains_key("clerk_basic_auth_clerk_call_seconds{call=fapi_sign_in,outcome=error}"));
}
