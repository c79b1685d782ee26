//! Discovery through a real axum server on loopback: the OpenID configuration document and the
//! JWKS route the layer serves, as the client reached the server.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn discovery_describes_the_server_as_the_client_reached_it() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let (status, document) = json_of(
        http()
            .get(format!("http://{addr}/.well-known/openid-configuration"))
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "pact.example.com")
            .header("x-forwarded-prefix", "/ileap")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(document["issuer"], "https://pact.example.com/ileap");
    assert_eq!(document["token_endpoint"], "https://pact.example.com/ileap/auth/token");
    assert_eq!(document["jwks_uri"], "https://pact.example.com/ileap/jwks");
    assert_eq!(document["grant_types_supported"], json!(["client_credentials"]));
    assert_eq!(document["token_endpoint_auth_methods_supported"], json!(["client_secret_basic", "client_secret_post"]));
    let direct =
        json_of(http().get(format!("http://{addr}/.well-known/openid-configuration")).send().await.unwrap()).await.1;
    assert_eq!(direct["token_endpoint"], format!("http://{addr}/auth/token"));

    let (status, jwks) = json_of(http().get(format!("http://{addr}/jwks")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(jwks["keys"][0]["kid"], clerk.kids()[0].as_str());

    let off = serve(config(&clerk).with_openid_configuration_path(None).with_jwks_path(None)).await;
    assert_eq!(
        http().get(format!("http://{off}/.well-known/openid-configuration")).send().await.unwrap().status(),
        400
    );
    assert_eq!(http().get(format!("http://{off}/jwks")).send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn oauth_only_clients_find_rfc_8414_metadata_with_only_what_is_served() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let (status, metadata) =
        json_of(http().get(format!("http://{addr}/.well-known/oauth-authorization-server")).send().await.unwrap())
            .await;
    assert_eq!(status, 200);
    // RFC 8414 §3.3: the issuer is the URL the metadata was fetched under.
    assert_eq!(metadata["issuer"], format!("http://{addr}"));
    assert_eq!(metadata["token_endpoint"], format!("http://{addr}/auth/token"));
    assert_eq!(metadata["grant_types_supported"], json!(["client_credentials"]));
    assert_eq!(metadata["response_types_supported"], json!([]), "there is no authorization endpoint");
    assert!(metadata.get("authorization_endpoint").is_none());
    let openid =
        json_of(http().get(format!("http://{addr}/.well-known/openid-configuration")).send().await.unwrap()).await.1;
    assert_eq!(openid, metadata, "both documents say the same");

    let off = serve(config(&clerk).with_oauth_metadata_path(None)).await;
    let response = http().get(format!("http://{off}/.well-known/oauth-authorization-server")).send().await.unwrap();
    assert_eq!(response.status(), 400, "a protected route like any other once turned off");
}
