//! OAuth 2.0 clients nobody here wrote, end to end against the demo's stack (the axum demo's
//! routes behind the layer, its fake Clerk): discovery (RFC 8414) → a token from the `oauth2`
//! crate, which form-encodes Basic credentials as RFC 6749 §2.3.1 says, or sends them in the body
//! (`client_secret_post`) → the protected PACT v2, PACT v3 and iLEAP routes. And the token
//! endpoint's client authentication rules, as raw HTTP.

use std::net::SocketAddr;

use clerk_basic_auth::ClerkBasicAuthConfig;
use clerk_basic_auth::testing::FakeClerk;
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use serde_json::Value;

use crate::{common, pact};

/// The demo on a loopback port.
struct Demo {
    addr: SocketAddr,
    _clerk: FakeClerk,
}

async fn demo() -> Demo {
    demo_with(|config| config).await
}

async fn demo_with(configure: impl FnOnce(ClerkBasicAuthConfig) -> ClerkBasicAuthConfig) -> Demo {
    let clerk = common::demo_clerk().await;
    let config = common::demo_config(&clerk).expect("the demo's configuration").with_public_path("/health");
    let listener = pact::listen(Some("127.0.0.1:0")).await.expect("a free loopback port");
    let addr = listener.local_addr().unwrap();
    let app = pact::app(configure(config));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Demo { addr, _clerk: clerk }
}

impl Demo {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// The `oauth2` crate's HTTP client: its requests sent with reqwest, redirects not followed.
async fn send(request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let (parts, body) = request.into_parts();
    let response = client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    Ok(builder.body(response.bytes().await?.to_vec()).expect("a valid response"))
}

/// The token endpoint, as RFC 8414 discovery names it.
async fn discovered_token_endpoint(demo: &Demo) -> String {
    let metadata: Value = reqwest::get(demo.url("/.well-known/oauth-authorization-server"))
        .await
        .unwrap()
        .json()
        .await
        .expect("RFC 8414 metadata");
    assert_eq!(metadata["issuer"], demo.url(""), "RFC 8414 §3.3: the issuer is where the metadata was found");
    let methods = metadata["token_endpoint_auth_methods_supported"].as_array().unwrap();
    assert!(methods.iter().any(|method| method == "client_secret_basic"));
    assert!(methods.iter().any(|method| method == "client_secret_post"));
    metadata["token_endpoint"].as_str().unwrap().to_owned()
}

async fn assert_the_token_opens_every_data_route(demo: &Demo, token: &str) {
    let http = reqwest::Client::new();
    for path in ["/2/footprints", "/3/footprints", "/2/ileap/tad"] {
        let response = http.get(demo.url(path)).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(!body["data"].as_array().unwrap().is_empty(), "{path}: {body}");
    }
}

#[tokio::test]
async fn the_oauth2_crate_with_basic_auth_gets_a_token_that_opens_v2_v3_and_ileap_routes() {
    let demo = demo().await;
    let token_endpoint = discovered_token_endpoint(&demo).await;
    // AuthType::BasicAuth form-encodes the id and the secret (`ileap-demo%40way.cloud`).
    let client = BasicClient::new(ClientId::new(common::DEMO_USER.to_owned()))
        .set_client_secret(ClientSecret::new(common::DEMO_PASSWORD.to_owned()))
        .set_token_uri(TokenUrl::new(token_endpoint).unwrap())
        .set_auth_type(AuthType::BasicAuth);
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("footprints:read".to_owned()))
        .request_async(&send)
        .await
        .expect("a token");
    assert!(token.expires_in().is_some_and(|left| left.as_secs() > 0));
    assert!(token.scopes().is_none(), "no scope is granted, so none is echoed");
    assert_the_token_opens_every_data_route(&demo, token.access_token().secret()).await;
}

#[tokio::test]
async fn the_oauth2_crate_with_client_secret_post_gets_a_token_too() {
    let demo = demo().await;
    let token_endpoint = discovered_token_endpoint(&demo).await;
    let client = BasicClient::new(ClientId::new(common::DEMO_USER.to_owned()))
        .set_client_secret(ClientSecret::new(common::DEMO_PASSWORD.to_owned()))
        .set_token_uri(TokenUrl::new(token_endpoint).unwrap())
        .set_auth_type(AuthType::RequestBody);
    let token = client.exchange_client_credentials().request_async(&send).await.expect("a token");
    assert_the_token_opens_every_data_route(&demo, token.access_token().secret()).await;
}

#[tokio::test]
async fn wrong_credentials_from_the_oauth2_crate_are_invalid_client() {
    let demo = demo().await;
    let client = BasicClient::new(ClientId::new(common::DEMO_USER.to_owned()))
        .set_client_secret(ClientSecret::new("wrong-password".to_owned()))
        .set_token_uri(TokenUrl::new(demo.url("/auth/token")).unwrap())
        .set_auth_type(AuthType::BasicAuth);
    let error = client.exchange_client_credentials().request_async(&send).await.unwrap_err();
    match error {
        oauth2::RequestTokenError::ServerResponse(response) => {
            assert_eq!(response.error(), &oauth2::basic::BasicErrorResponseType::InvalidClient);
        }
        other => panic!("expected invalid_client, got {other:?}"),
    }
}

fn form(demo: &Demo, body: &'static str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(demo.url("/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
}

async fn status_and_body(request: reqwest::RequestBuilder) -> (u16, Option<String>, Value) {
    let response = request.send().await.unwrap();
    let challenge = response.headers().get("www-authenticate").map(|value| value.to_str().unwrap().to_owned());
    (response.status().as_u16(), challenge, response.json().await.unwrap())
}

#[tokio::test]
async fn refused_basic_credentials_are_401_with_a_challenge_and_refused_posted_ones_400() {
    let demo = demo().await;
    let basic = form(&demo, "grant_type=client_credentials").basic_auth(common::DEMO_USER, Some("wrong-password"));
    let (status, challenge, body) = status_and_body(basic).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "RFC 6749 §5.2");
    assert!(challenge.unwrap().starts_with("Basic realm="));

    let posted = reqwest::Client::new().post(demo.url("/auth/token")).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", common::DEMO_USER),
        ("client_secret", "wrong"),
    ]);
    let (status, challenge, body) = status_and_body(posted).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client")));
    assert!(challenge.is_none());

    let pact_v2 = demo_with(|config| config.with_pact_v2_invalid_client(true)).await;
    let basic = form(&pact_v2, "grant_type=client_credentials").basic_auth(common::DEMO_USER, Some("wrong-password"));
    let (status, challenge, body) = status_and_body(basic).await;
    assert_eq!((status, body["error"].as_str(), challenge), (400, Some("invalid_client"), None));
}

#[tokio::test]
async fn one_request_uses_one_authentication_method() {
    let demo = demo().await;
    let both = reqwest::Client::new()
        .post(demo.url("/auth/token"))
        .basic_auth(common::DEMO_USER, Some(common::DEMO_PASSWORD))
        .form(&[("grant_type", "client_credentials"), ("client_secret", common::DEMO_PASSWORD)]);
    let (status, _, body) = status_and_body(both).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");

    let other_id = reqwest::Client::new()
        .post(demo.url("/auth/token"))
        .basic_auth(common::DEMO_USER, Some(common::DEMO_PASSWORD))
        .form(&[("grant_type", "client_credentials"), ("client_id", "someone-else@way.cloud")]);
    assert_eq!(status_and_body(other_id).await.0, 400);

    // The same client_id in the body next to Basic credentials is not a second method.
    let same_id = reqwest::Client::new()
        .post(demo.url("/auth/token"))
        .basic_auth(common::DEMO_USER, Some(common::DEMO_PASSWORD))
        .form(&[("grant_type", "client_credentials"), ("client_id", common::DEMO_USER)]);
    assert_eq!(status_and_body(same_id).await.0, 200);

    let no_secret = reqwest::Client::new()
        .post(demo.url("/auth/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", common::DEMO_USER)]);
    let (status, challenge, body) = status_and_body(no_secret).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    assert!(challenge.is_some());
}

#[tokio::test]
async fn scope_audience_and_resource_are_accepted_and_nothing_is_echoed() {
    let demo = demo().await;
    let request = reqwest::Client::new()
        .post(demo.url("/auth/token"))
        .basic_auth(common::DEMO_USER, Some(common::DEMO_PASSWORD))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "footprints:read events:write"),
            ("audience", "https://api.example.com"),
            ("resource", "https://api.example.com/3/footprints"),
        ]);
    let (status, _, body) = status_and_body(request).await;
    assert_eq!(status, 200, "{body}");
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["access_token", "expires_in", "token_type"]);
}

#[tokio::test]
async fn basic_credentials_encoded_as_oauth4webapi_does_are_decoded() {
    let demo = demo().await;
    // oauth4webapi escapes - _ . too; openid-client escapes @.
    for user in ["ileap%2Ddemo%40way%2Ecloud", "ileap-demo%40way.cloud"] {
        let request = form(&demo, "grant_type=client_credentials").basic_auth(user, Some(common::DEMO_PASSWORD));
        let (status, _, body) = status_and_body(request).await;
        assert_eq!(status, 200, "{user}: {body}");
    }
}
