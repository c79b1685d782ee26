//! Clerk's token categories (the `cat` header): the fake stamps session, JWT template and
//! machine tokens as Clerk does, and the layer admits session tokens, template tokens only where
//! it hands them out, and machine tokens never.

use serde_json::{Value, json};

use crate::common::*;

const SESSION: &str = "cl_B7d4PD111AAA";
const TEMPLATE: &str = "cl_B7d4PD222AAA";
const MACHINE: &str = "cl_B7d4PD333AAA";

#[tokio::test]
async fn the_fake_stamps_each_token_with_its_category() {
    let clerk = clerk().await;
    let signed_in = password_sign_in(&clerk, USER, PASSWORD).await;
    let sid = signed_in.body["response"]["created_session_id"].as_str().unwrap().to_owned();
    let client_token = signed_in.client_token.unwrap();
    let session = signed_in.body["client"]["sessions"][0]["last_active_token"]["jwt"].as_str().unwrap().to_owned();
    assert_eq!(header_of(&session)["cat"], SESSION);
    assert_eq!(claims_of(&session)["sid"], sid.as_str());

    let template =
        fapi_post(clerk.url(), &format!("/v1/client/sessions/{sid}/tokens/pact"), Some(&client_token), &[]).await;
    assert_eq!(template.status, 200, "{}", template.body);
    let jwt = template.body["jwt"].as_str().unwrap();
    let header = header_of(jwt);
    assert_eq!(
        (header["cat"].as_str(), header["typ"].as_str(), header["alg"].as_str()),
        (Some(TEMPLATE), Some("JWT"), Some("RS256"))
    );
    assert_eq!(claims_of(jwt).get("sid"), None, "template tokens carry no sid");

    let direct = clerk.template_token("pact", USER_ID, Some(ORG));
    assert_eq!(header_of(&direct)["cat"], TEMPLATE);
    let claims = claims_of(&direct);
    assert_eq!((claims["aud"].as_str(), claims["org"].as_str(), claims.get("sid")), (Some("pact"), Some(ORG), None));

    let machine = clerk.m2m_token("mch_2xPartner");
    assert_eq!(header_of(&machine)["cat"], MACHINE);
    let claims = claims_of(&machine);
    assert_eq!((claims["sub"].as_str(), claims["iss"].as_str()), (Some("mch_2xPartner"), Some(clerk.url())));
    assert!(claims["jti"].as_str().unwrap().starts_with("mt_"));
    assert_eq!(claims.get("sid"), None);

    assert_eq!(header_of(&clerk.session_token(USER_ID, None))["cat"], SESSION);
    assert_eq!(header_of(&clerk.sign_claims(json!({"sub": USER_ID}))).get("cat"), None, "sign_claims stamps none");
}

#[tokio::test]
async fn a_session_token_is_accepted_on_a_protected_route() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let (status, me) = get_with(addr, "/me", &clerk.session_token(USER_ID, None)).await;
    assert_eq!((status, me["user_id"].as_str()), (200, Some(USER_ID)), "{me}");
    let uncategorised = clerk.sign_claims(session_claims(&clerk, json!({})));
    assert_eq!(get_with(addr, "/me", &uncategorised).await.0, 200, "tokens minted before categories pass");
}

#[tokio::test]
async fn a_machine_token_is_refused_on_a_protected_route_whatever_the_configuration() {
    let clerk = clerk().await;
    let machine = clerk.m2m_token("mch_2xPartner");
    let kid = clerk.kids()[0].clone();
    let machine_without_cat = clerk.sign_with_header(
        json!({"alg": "RS256", "kid": kid, "typ": "JWT"}),
        session_claims(&clerk, json!({"sub": "mch_2xPartner"})),
    );
    let machine_as_session = clerk.sign_with_header(
        json!({"alg": "RS256", "kid": kid, "typ": "JWT", "cat": SESSION}),
        session_claims(&clerk, json!({"sub": "mch_2xPartner"})),
    );
    for config in [config(&clerk), config(&clerk).with_jwt_template("pact")] {
        let addr = serve(config).await;
        for token in [&machine, &machine_without_cat, &machine_as_session] {
            let (status, message) = refusal(addr, token).await;
            assert_eq!(status, 400, "{message}");
            assert!(message.contains("not a session token"), "{message}");
        }
    }
}

#[tokio::test]
async fn a_template_token_is_refused_unless_the_layer_hands_out_templates() {
    let clerk = clerk().await;
    let template = clerk.template_token("pact", USER_ID, None);
    let plain = serve(config(&clerk)).await;
    let (status, message) = refusal(plain, &template).await;
    assert_eq!(status, 400, "{message}");
    assert!(message.contains("not a session token"), "{message}");

    let with_template = serve(config(&clerk).with_jwt_template("pact")).await;
    let (status, me) = get_with(with_template, "/me", &template).await;
    assert_eq!((status, me["user_id"].as_str(), me["session_id"].clone()), (200, Some(USER_ID), Value::Null), "{me}");
    assert_eq!(me["aud"], "pact");
}
