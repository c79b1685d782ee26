//! Organizations through a real axum server on loopback: the token endpoint activates the
//! configured organization (by id or slug) for the user, protected routes require it of every
//! token, and access rules require organizations, roles and permissions.

use clerk_basic_auth::AccessRule;

use crate::common::*;

#[tokio::test]
async fn an_organization_is_activated_by_id_or_slug_with_the_client_token() {
    let clerk = clerk().await;
    for organization in [ORG, "way-demo"] {
        let addr = serve(config(&clerk).with_organization(organization)).await;
        let claims = claims_of(&access_token(addr, USER, PASSWORD).await);
        assert_eq!(claims["o"]["id"], ORG, "{organization}");
        assert_eq!(claims["o"]["slg"], "way-demo");
        assert_eq!(claims["o"]["rol"], "admin");
    }
    // The fake refuses touch calls without the client token of the session's client.
    assert_eq!(clerk.stats().touches, 2);
}

#[tokio::test]
async fn an_organization_the_user_is_not_in_is_refused_and_does_not_sign_in_again() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_organization(ORG)).await;
    for _ in 0..3 {
        let (status, body) =
            json_of(token_request(addr, "loner@way.cloud", "LonerPassword1").send().await.unwrap()).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
        assert!(body["error_description"].as_str().unwrap().contains("not a member"), "{body}");
    }
    let stats = clerk.stats();
    assert_eq!(stats.sign_ins, 1, "the session is kept");
    assert_eq!(stats.touches, 1, "the refusal is remembered for a while: no Clerk call per request");
}

#[tokio::test]
async fn access_rules_require_roles_and_permissions() {
    let clerk = clerk().await;
    let config = config(&clerk)
        .with_access_rule(AccessRule::for_prefix("/2/").require_organization("way-demo"))
        .with_access_rule(
            AccessRule::for_prefix("/2/events").require_role("admin").require_permission("footprints:manage"),
        );
    let addr = serve(config).await;
    let admin = clerk.session_token(USER_ID, Some(ORG));
    let member = clerk.session_token("user_member", Some(ORG));
    let personal = clerk.session_token(USER_ID, None);
    let post = |token: String| async move {
        json_of(http().post(format!("http://{addr}/2/events")).bearer_auth(token).send().await.unwrap()).await
    };
    assert_eq!(post(admin.clone()).await.0, 200);
    let (status, body) = post(member.clone()).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("AccessDenied")));
    assert_eq!(body["message"], "access denied: requires the role admin");
    assert_eq!(get_with(addr, "/2/footprints", &member).await.0, 200);
    let (status, body) = get_with(addr, "/2/footprints", &personal).await;
    assert_eq!((status, body["message"].as_str()), (403, Some("access denied: the token is not for an organization")));
    assert_eq!(get_with(addr, "/me", &personal).await.0, 200, "no rule for /me");
}

#[tokio::test]
async fn a_configured_organization_is_required_of_every_token() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_organization("way-demo")).await;
    assert_eq!(get_with(addr, "/me", &access_token(addr, USER, PASSWORD).await).await.0, 200);
    assert_eq!(get_with(addr, "/me", &clerk.session_token("user_member", Some(ORG))).await.0, 200);
    for token in [clerk.session_token(USER_ID, None), clerk.session_token("user_loner", None)] {
        let (status, body) = get_with(addr, "/2/footprints", &token).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("AccessDenied")), "{body}");
    }
    let relaxed = serve(config(&clerk).with_organization(ORG).with_organization_required(false)).await;
    assert_eq!(get_with(relaxed, "/me", &clerk.session_token(USER_ID, None)).await.0, 200);
}
