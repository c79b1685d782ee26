//! The axum demo's PACT routes through a real server on loopback: v3 ListFootprints (pages,
//! filters), GetFootprint and Events, pagination links behind a reverse proxy, and event
//! validation on `/2/events` and `/3/events`. Every request carries a token from the layer's
//! `POST /auth/token`, asked for with the demo user's Basic credentials.

use std::net::SocketAddr;

use clerk_basic_auth::testing::FakeClerk;
use reqwest::header::{HeaderMap, LINK};
use serde_json::{Value, json};

use crate::pact::filters::Timestamp;
use crate::pact::v3;
use crate::{common, pact};

/// The demo on a loopback port, and a token for its demo user.
struct Demo {
    addr: SocketAddr,
    client: reqwest::Client,
    token: String,
    _clerk: FakeClerk,
}

async fn demo() -> Demo {
    let clerk = common::demo_clerk().await;
    let config = common::demo_config(&clerk).expect("the fake's URLs and key are valid").with_public_path("/health");
    let listener = pact::listen(Some("127.0.0.1:0")).await.expect("a free loopback port");
    let addr = listener.local_addr().unwrap();
    let app = pact::app(config);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{addr}/auth/token"))
        .basic_auth(common::DEMO_USER, Some(common::DEMO_PASSWORD))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the demo user gets a token");
    let body: Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().expect("an access token").to_owned();
    Demo { addr, client, token, _clerk: clerk }
}

impl Demo {
    fn get(&self, path_and_query: &str) -> reqwest::RequestBuilder {
        self.client.get(format!("http://{}{path_and_query}", self.addr)).bearer_auth(&self.token)
    }

    /// `GET` a list route: the status, the `Link` header and the footprints' ids.
    async fn list(&self, path_and_query: &str, headers: HeaderMap) -> (u16, Option<String>, Vec<String>) {
        let response = self.get(path_and_query).headers(headers).send().await.unwrap();
        let status = response.status().as_u16();
        let link = response.headers().get(LINK).map(|link| link.to_str().unwrap().to_owned());
        let body: Value = response.json().await.unwrap();
        let ids = body["data"].as_array().expect("a data array").iter().map(|pf| pf["id"].as_str().unwrap().to_owned());
        (status, link, ids.collect())
    }

    async fn ids(&self, path_and_query: &str) -> Vec<String> {
        let (status, _, ids) = self.list(path_and_query, HeaderMap::new()).await;
        assert_eq!(status, 200, "{path_and_query}");
        ids
    }

    /// `POST` `body` to `/{version}/events`: the status and the body.
    async fn event(&self, version: u8, body: impl Into<reqwest::Body>) -> (u16, String) {
        let response = self
            .client
            .post(format!("http://{}/{version}/events", self.addr))
            .bearer_auth(&self.token)
            .header("content-type", "application/cloudevents+json; charset=UTF-8")
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Asserts `400 {"code": "BadRequest", "message": …}` for `body` on `/{version}/events`.
    async fn assert_bad_event(&self, version: u8, body: impl Into<reqwest::Body>, why: &str) {
        let (status, text) = self.event(version, body).await;
        assert_eq!(status, 400, "v{version}, {why}: {text}");
        let error: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("v{version}, {why}: JSON {text}"));
        assert_eq!(error["code"], "BadRequest", "v{version}, {why}");
        assert!(error["message"].as_str().is_some_and(|message| !message.is_empty()), "v{version}, {why}");
    }
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    pairs.iter().map(|(name, value)| (name.parse().unwrap(), value.parse().unwrap())).collect()
}

fn all_v3_ids() -> Vec<String> {
    v3::footprints().iter().map(|pf| pf["id"].as_str().unwrap().to_owned()).collect()
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|id| (*id).to_owned()).collect()
}

/// The target of a `Link: <…>; rel="next"`.
fn next_target(link: &str) -> &str {
    let target = link.strip_prefix('<').and_then(|rest| rest.split_once(">; rel=\"next\"")).map(|(target, _)| target);
    target.unwrap_or_else(|| panic!("a next link: {link}"))
}

const PUBLISHED_V2: &str = "org.wbcsd.pathfinder.ProductFootprint.Published.v1";
const PUBLISHED_V3: &str = "org.wbcsd.pact.ProductFootprint.PublishedEvent.3";

fn published(event_type: &str, pf_ids: Value) -> String {
    json!({
        "type": event_type,
        "specversion": "1.0",
        "id": "5b4f2ae4-1c7b-4a5c-9f3b-3f0e1d9a6c21",
        "source": "https://recipient.example.com",
        "time": "2026-05-01T10:00:00Z",
        "data": {"pfIds": pf_ids}
    })
    .to_string()
}

#[tokio::test]
async fn the_v3_list_returns_every_footprint_in_the_v3_shape() {
    let demo = demo().await;
    let response = demo.get("/3/footprints").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get(LINK).is_none(), "one page holds them all");
    let body: Value = response.json().await.unwrap();
    let footprints = body["data"].as_array().unwrap();
    assert_eq!(footprints.len(), 4, "the deprecated footprint is listed too");
    for footprint in footprints {
        assert!(pact::events::is_uuid(footprint["id"].as_str().unwrap()));
        assert!(footprint["specVersion"].as_str().unwrap().starts_with("3.0."));
        assert!(footprint["productIds"][0].as_str().unwrap().starts_with("urn:"));
        assert!(footprint["productClassifications"][0].as_str().unwrap().starts_with("urn:"));
        assert!(footprint["companyIds"][0].as_str().unwrap().starts_with("urn:"));
        assert!(matches!(footprint["status"].as_str(), Some("Active" | "Deprecated")));
        let pcf = &footprint["pcf"];
        for field in [
            "declaredUnitOfMeasurement",
            "declaredUnitAmount",
            "productMassPerDeclaredUnit",
            "referencePeriodStart",
            "referencePeriodEnd",
            "pcfExcludingBiogenicUptake",
            "pcfIncludingBiogenicUptake",
            "fossilGhgEmissions",
            "fossilCarbonContent",
            "exemptedEmissionsPercent",
        ] {
            assert!(pcf[field].is_string(), "pcf.{field} of {}", footprint["id"]);
        }
        assert_eq!(pcf["ipccCharacterizationFactors"], json!(["AR6"]));
        assert!(pcf["crossSectoralStandards"].as_array().is_some_and(|standards| !standards.is_empty()));
        // v2 names are gone.
        for v2_only in ["version", "updated", "productCategoryCpc"] {
            assert!(footprint.get(v2_only).is_none(), "{v2_only}");
        }
        for v2_only in ["declaredUnit", "unitaryProductAmount", "pCfExcludingBiogenic", "characterizationFactors"] {
            assert!(pcf.get(v2_only).is_none(), "pcf.{v2_only}");
        }
    }
    assert_eq!(footprints[0]["precedingPfIds"], json!([v3::ROAD_TOC_2023]));
}

#[tokio::test]
async fn the_v3_list_pages_by_limit_and_its_next_links_keep_the_filters() {
    let demo = demo().await;
    let (status, link, first) = demo.list("/3/footprints?status=Active&limit=2", HeaderMap::new()).await;
    assert_eq!(status, 200);
    assert_eq!(first, ids(&[v3::ROAD_TOC, v3::HUB_HOC]));
    let link = link.expect("a next link while more remain");
    let expected = format!("http://{}/3/footprints?status=Active&limit=2&offset=2", demo.addr);
    assert_eq!(next_target(&link), expected);

    let path = next_target(&link).strip_prefix(&format!("http://{}", demo.addr)).unwrap().to_owned();
    let (status, link, second) = demo.list(&path, HeaderMap::new()).await;
    assert_eq!(status, 200);
    assert_eq!(second, ids(&[v3::BIOETHANOL]), "the deprecated footprint stays filtered out");
    assert!(link.is_none(), "the last page has no next link");

    // Following `limit=1` links visits every footprint once.
    let mut path = "/3/footprints?limit=1".to_owned();
    let mut seen = Vec::new();
    loop {
        let (status, link, page) = demo.list(&path, HeaderMap::new()).await;
        assert_eq!(status, 200);
        assert_eq!(page.len(), 1, "{path}");
        seen.extend(page);
        let Some(link) = link else { break };
        path = next_target(&link).strip_prefix(&format!("http://{}", demo.addr)).unwrap().to_owned();
    }
    assert_eq!(seen, all_v3_ids());
}

#[tokio::test]
async fn a_v3_footprint_is_found_by_id_and_an_unknown_id_is_not_found() {
    let demo = demo().await;
    for id in all_v3_ids() {
        let response = demo.get(&format!("/3/footprints/{id}")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["data"]["id"], id.as_str(), "deprecated footprints are still served");
        assert_eq!(body["data"]["specVersion"], v3::SPEC_VERSION);
    }
    for unknown in ["00000000-0000-0000-0000-000000000000", "not-a-uuid"] {
        let response = demo.get(&format!("/3/footprints/{unknown}")).send().await.unwrap();
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "NotFound", "v3's code for 404");
    }
    // v2 keeps its own code.
    let response = demo.get("/2/footprints/00000000-0000-0000-0000-000000000000").send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "NoSuchFootprint");
}

#[tokio::test]
async fn v3_filters_match_products_companies_geographies_and_classifications_ignoring_case() {
    let demo = demo().await;
    let road = ids(&[v3::ROAD_TOC, v3::ROAD_TOC_2023]);
    assert_eq!(demo.ids(&format!("/3/footprints?productId={}", v3::ROAD_PRODUCT_ID)).await, road);
    let upper = v3::ROAD_PRODUCT_ID.to_ascii_uppercase();
    assert_eq!(demo.ids(&format!("/3/footprints?productId={upper}")).await, road);
    assert_eq!(demo.ids(&format!("/3/footprints?companyId={}", v3::COMPANY_IDS[1])).await, all_v3_ids());
    // `geography` matches the country, the region or the subdivision.
    assert_eq!(demo.ids("/3/footprints?geography=DE").await, ids(&[v3::BIOETHANOL]));
    assert_eq!(demo.ids("/3/footprints?geography=western%20europe").await, road);
    assert_eq!(demo.ids("/3/footprints?geography=DE-NW").await, ids(&[v3::HUB_HOC]));
    assert_eq!(demo.ids("/3/footprints?classification=urn:cpc:6511").await, road);
    assert_eq!(
        demo.ids("/3/footprints?classification=URN:PACT:CAS.ORG:SUBSTANCE-NUMBER:64-17-5").await,
        ids(&[v3::BIOETHANOL])
    );
    // Parameter names too, as in the spec's own example (`productid`, `validon`).
    assert_eq!(demo.ids(&format!("/3/footprints?productid={}", v3::ROAD_PRODUCT_ID)).await, road);
}

#[tokio::test]
async fn v3_filter_values_of_one_criterion_are_ored_and_criteria_are_anded() {
    let demo = demo().await;
    let or = "/3/footprints?geography=DE&geography=DE-NW&geography=XX";
    assert_eq!(demo.ids(or).await, ids(&[v3::HUB_HOC, v3::BIOETHANOL]));
    let or = format!("/3/footprints?companyId={}&companyId=urn:bogus:a&companyId=urn:bogus:b", v3::COMPANY_IDS[0]);
    assert_eq!(demo.ids(&or).await, all_v3_ids());
    let and = format!("/3/footprints?status=Active&productId={}", v3::ROAD_PRODUCT_ID);
    assert_eq!(demo.ids(&and).await, ids(&[v3::ROAD_TOC]));
    let and = format!("/3/footprints?geography=DE&productId={}", v3::ROAD_PRODUCT_ID);
    assert!(demo.ids(&and).await.is_empty());
}

#[tokio::test]
async fn v3_validity_filters_use_the_validity_period_or_three_years_from_the_reference_end() {
    let demo = demo().await;
    // The road TOC is valid in 2025, its 2023 predecessor in 2024, the ethanol from 2025-01-01
    // to 2027-12-31, and the hub (no validity period) from its reference period end,
    // 2025-01-01, for 3 years.
    assert_eq!(
        demo.ids("/3/footprints?validOn=2025-06-01T00:00:00Z").await,
        ids(&[v3::ROAD_TOC, v3::HUB_HOC, v3::BIOETHANOL])
    );
    assert_eq!(demo.ids("/3/footprints?validOn=2024-06-01").await, ids(&[v3::ROAD_TOC_2023]));
    assert_eq!(demo.ids("/3/footprints?validOn=2027-12-31T23:00:00-01:00").await, ids(&[v3::HUB_HOC]));
    // The spec's example leaves out the seconds.
    assert_eq!(demo.ids("/3/footprints?validon=2027-06-01T00:00Z").await, ids(&[v3::HUB_HOC, v3::BIOETHANOL]));
    // validAfter: the period starts after it; validBefore: the period ends before it.
    assert_eq!(
        demo.ids("/3/footprints?validAfter=2024-12-31T00:00:00.000Z").await,
        ids(&[v3::ROAD_TOC, v3::HUB_HOC, v3::BIOETHANOL])
    );
    assert_eq!(
        demo.ids("/3/footprints?validBefore=2026-01-02T00:00:00Z").await,
        ids(&[v3::ROAD_TOC, v3::ROAD_TOC_2023])
    );
    // An unencoded `+` in an offset arrives as a space.
    assert_eq!(demo.ids("/3/footprints?validBefore=2025-01-01T02:00:00+01:00").await, ids(&[v3::ROAD_TOC_2023]));
}

#[tokio::test]
async fn v3_filters_that_match_nothing_answer_an_empty_list() {
    let demo = demo().await;
    // The conformance service's negative cases (V3.0 test cases 30 to 39), and values that are
    // not dates: the spec asks for no 400 here.
    for query in [
        "productId=urn:bogus:product:x1y2",
        "companyId=urn:bogus:company:x1y2",
        "geography=XX",
        "classification=urn:bogus:classification:x1y2",
        "validOn=1900-01-01T00:00:00Z",
        "validAfter=2099-12-31T23:59:59Z",
        "validBefore=1900-01-01T00:00:00Z",
        "status=BogusStatusx1y2",
        "companyId=urn:bogus:company:a&productId=urn:bogus:product:b",
        "companyId=urn:bogus:company:a&companyId=urn:bogus:company:b&companyId=urn:bogus:company:c",
        "validOn=yesterday",
        "validAfter=2025-02-30T00:00:00Z",
    ] {
        let (status, link, found) = demo.list(&format!("/3/footprints?{query}"), HeaderMap::new()).await;
        assert_eq!(status, 200, "{query}");
        assert!(found.is_empty(), "{query}: {found:?}");
        assert!(link.is_none(), "{query}");
    }
    // Parameters the spec does not define are ignored.
    assert_eq!(demo.ids("/3/footprints?x-way-invoice-id=1234").await, all_v3_ids());
}

#[tokio::test]
async fn the_status_filter_separates_active_from_deprecated_footprints() {
    let demo = demo().await;
    assert_eq!(demo.ids("/3/footprints?status=Active").await, ids(&[v3::ROAD_TOC, v3::HUB_HOC, v3::BIOETHANOL]));
    assert_eq!(demo.ids("/3/footprints?status=deprecated").await, ids(&[v3::ROAD_TOC_2023]));
    assert_eq!(demo.ids("/3/footprints?status=Active&status=Deprecated").await, all_v3_ids());
}

#[tokio::test]
async fn next_links_on_v2_and_v3_use_the_scheme_and_host_from_forwarded() {
    let demo = demo().await;
    for path in ["/2/footprints", "/3/footprints"] {
        let forwarded = headers(&[("forwarded", "for=192.0.2.60;proto=https;host=pact.example.com, for=10.0.0.1")]);
        let (status, link, _) = demo.list(&format!("{path}?limit=1"), forwarded).await;
        assert_eq!(status, 200);
        let expected = format!("https://pact.example.com{path}?limit=1&offset=1");
        assert_eq!(next_target(&link.expect("a next link")), expected);

        // Quoted values, a port and an IPv6 host.
        let forwarded = headers(&[("forwarded", "proto=\"HTTPS\"; host=\"[2001:db8::1]:8443\"")]);
        let (_, link, _) = demo.list(&format!("{path}?limit=1"), forwarded).await;
        assert_eq!(next_target(&link.unwrap()), format!("https://[2001:db8::1]:8443{path}?limit=1&offset=1"));
    }
}

#[tokio::test]
async fn next_links_use_x_forwarded_proto_and_host_without_forwarded() {
    let demo = demo().await;
    for path in ["/2/footprints", "/3/footprints"] {
        let proxied = headers(&[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example.com:8443, internal.local"),
            ("x-forwarded-prefix", "/pact/"),
        ]);
        let (_, link, _) = demo.list(&format!("{path}?limit=2"), proxied).await;
        assert_eq!(next_target(&link.unwrap()), format!("https://api.example.com:8443/pact{path}?limit=2&offset=2"));

        // Only the scheme forwarded: the host is the `Host` header's.
        let (_, link, _) = demo.list(&format!("{path}?limit=2"), headers(&[("x-forwarded-proto", "https")])).await;
        assert_eq!(next_target(&link.unwrap()), format!("https://{}{path}?limit=2&offset=2", demo.addr));
    }
}

#[tokio::test]
async fn invalid_forwarded_hosts_and_schemes_are_ignored() {
    let demo = demo().await;
    let plain = |path: &str| format!("http://{}{path}?limit=1&offset=1", demo.addr);
    for path in ["/2/footprints", "/3/footprints"] {
        for host in [
            "evil.example.com/phish",
            "user@evil.example.com",
            "evil.example.com\\\\x",
            "evil example.com",
            "evil.example.com:99999",
            "evil.example.com:80:80",
            "[not-an-ip]",
            "evil.example.com\\\"><script>",
            "",
        ] {
            let quoted = host.replace('\\', "\\\\").replace('"', "\\\"");
            for proxied in
                [headers(&[("forwarded", &format!("host=\"{quoted}\""))]), headers(&[("x-forwarded-host", host)])]
            {
                let (status, link, _) = demo.list(&format!("{path}?limit=1"), proxied).await;
                assert_eq!(status, 200);
                assert_eq!(next_target(&link.unwrap()), plain(path), "host {host:?} is ignored");
            }
        }
        for scheme in ["javascript", "ftp", "https://evil.example.com/", ""] {
            for proxied in
                [headers(&[("forwarded", &format!("proto=\"{scheme}\""))]), headers(&[("x-forwarded-proto", scheme)])]
            {
                let (_, link, _) = demo.list(&format!("{path}?limit=1"), proxied).await;
                assert_eq!(next_target(&link.unwrap()), plain(path), "scheme {scheme:?} is ignored");
            }
        }
    }
}

#[tokio::test]
async fn forwarded_wins_over_x_forwarded_headers_and_an_invalid_value_falls_through() {
    let demo = demo().await;
    let both = headers(&[
        ("forwarded", "proto=https;host=a.example.com"),
        ("x-forwarded-proto", "http"),
        ("x-forwarded-host", "b.example.com"),
    ]);
    let (_, link, _) = demo.list("/3/footprints?limit=1", both).await;
    assert_eq!(next_target(&link.unwrap()), "https://a.example.com/3/footprints?limit=1&offset=1");

    let invalid_forwarded = headers(&[
        ("forwarded", "proto=gopher;host=\"a.example.com/x\""),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "b.example.com"),
    ]);
    let (_, link, _) = demo.list("/3/footprints?limit=1", invalid_forwarded).await;
    assert_eq!(next_target(&link.unwrap()), "https://b.example.com/3/footprints?limit=1&offset=1");
}

#[tokio::test]
async fn events_that_are_not_cloudevents_are_bad_requests_on_v2_and_v3() {
    let demo = demo().await;
    for version in [2, 3] {
        demo.assert_bad_event(version, "{}", "an empty object").await;
        demo.assert_bad_event(version, "pfIds=3a6c14a7-4deb-498a-b5ea-16ce2535b576", "not JSON").await;
        demo.assert_bad_event(version, "", "no body").await;
        demo.assert_bad_event(version, "[]", "a JSON array").await;
        let published = if version == 2 { PUBLISHED_V2 } else { PUBLISHED_V3 };
        let valid: Value = serde_json::from_str(&published_event(published)).unwrap();
        for (field, value) in [
            ("specversion", json!("0.3")),
            ("specversion", Value::Null),
            ("id", json!("")),
            ("id", json!(42)),
            ("source", Value::Null),
            ("source", json!("not a uri")),
            ("time", json!("yesterday")),
            ("time", Value::Null),
            ("data", json!("pfIds")),
            ("type", json!("com.example.SomethingElse")),
        ] {
            let mut event = valid.clone();
            if value.is_null() {
                event.as_object_mut().unwrap().remove(field);
            } else {
                event[field] = value.clone();
            }
            demo.assert_bad_event(version, event.to_string(), &format!("{field}: {value}")).await;
        }
    }
}

fn published_event(event_type: &str) -> String {
    published(event_type, json!(["3a6c14a7-4deb-498a-b5ea-16ce2535b576"]))
}

#[tokio::test]
async fn published_events_whose_pf_ids_are_not_uuids_are_bad_requests_on_v2_and_v3() {
    let demo = demo().await;
    for (version, event_type) in [(2, PUBLISHED_V2), (3, PUBLISHED_V3)] {
        for pf_ids in [
            json!(["urn:gtin:4712345060507"]),
            json!(["3a6c14a7-4deb-498a-b5ea-16ce2535b576", "not-a-uuid"]),
            json!(["3a6c14a74deb498ab5ea16ce2535b576"]),
            json!([42]),
            json!([]),
            json!("3a6c14a7-4deb-498a-b5ea-16ce2535b576"),
            Value::Null,
        ] {
            demo.assert_bad_event(version, published(event_type, pf_ids.clone()), &format!("pfIds {pf_ids}")).await;
        }
    }
}

#[tokio::test]
async fn valid_events_of_each_version_are_accepted_with_an_empty_200() {
    let demo = demo().await;
    let footprint_v2 = common::footprints().remove(0);
    let footprint_v3 = v3::footprints().remove(0);
    let event = |event_type: &str, data: Value| {
        json!({"type": event_type, "specversion": "1.0", "id": "req-1", "source": "//recipient.example.com/3/events",
               "time": "2026-05-01T10:00:00.123Z", "data": data})
        .to_string()
    };
    let valid = [
        (2, published_event(PUBLISHED_V2)),
        (
            2,
            event(
                "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
                json!({"pf": {"productIds": ["urn:gtin:4712345060507"]}, "comment": "Please send PCF data for this year."}),
            ),
        ),
        (
            2,
            event(
                "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1",
                json!({"requestEventId": "req-0", "pfs": [footprint_v2]}),
            ),
        ),
        (
            2,
            event(
                "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1",
                json!({"requestEventId": "req-0", "pfs": []}),
            ),
        ),
        (
            2,
            event(
                "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1",
                json!({"requestEventId": "req-0", "error": {"code": "NotFound", "message": "No such product"}}),
            ),
        ),
        (3, published_event(PUBLISHED_V3)),
        (
            3,
            event(
                "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
                json!({"productId": [v3::ROAD_PRODUCT_ID], "comment": "Please send PCF data for this year."}),
            ),
        ),
        (
            3,
            event(
                "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
                json!({"productId": ["urn:pact:null"], "companyId": [v3::COMPANY_IDS[0]], "geography": ["DE", "Western Europe"],
                       "classification": ["urn:cpc:6511"], "validOn": "2025-02-01T00:00:00Z",
                       "validAfter": "2025-02-01T00:00:00Z", "validBefore": "2025-02-01T00:00:00Z", "status": "Active"}),
            ),
        ),
        (
            3,
            event(
                "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3",
                json!({"requestEventId": "req-0", "pfs": [footprint_v3]}),
            ),
        ),
        (
            3,
            event(
                "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3",
                json!({"requestEventId": "req-0", "error": {"code": "NotFound", "message": "The requested footprint could not be found."}}),
            ),
        ),
    ];
    for (version, body) in valid {
        let (status, text) = demo.event(version, body.clone()).await;
        assert_eq!(status, 200, "v{version} {body}: {text}");
        assert_eq!(text, "", "the spec asks for an empty body");
    }
}

#[tokio::test]
async fn events_of_the_other_version_or_with_malformed_v3_criteria_are_bad_requests() {
    let demo = demo().await;
    demo.assert_bad_event(2, published_event(PUBLISHED_V3), "a v3 event on /2/events").await;
    demo.assert_bad_event(3, published_event(PUBLISHED_V2), "a v2 event on /3/events").await;
    let created = |data: Value| {
        json!({"type": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3", "specversion": "1.0", "id": "r",
               "source": "https://recipient.example.com", "time": "2026-05-01T10:00:00Z", "data": data})
        .to_string()
    };
    for data in [
        json!({"productId": "urn:pact:way.cloud:product-id:x"}),
        json!({"productId": []}),
        json!({"productId": ["not a urn"]}),
        json!({"companyId": [42]}),
        json!({"geography": [""]}),
        json!({"validOn": "next week"}),
        json!({"validAfter": 1_700_000_000}),
        json!({"status": "Bogus"}),
        json!({"comment": ["not", "a", "string"]}),
    ] {
        demo.assert_bad_event(3, created(data.clone()), &format!("criteria {data}")).await;
    }
    // v2 requests carry a product footprint fragment instead.
    let v2_created = json!({"type": "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1", "specversion": "1.0",
        "id": "r", "source": "https://recipient.example.com", "time": "2026-05-01T10:00:00Z",
        "data": {"productId": ["urn:gtin:4712345060507"]}});
    demo.assert_bad_event(2, v2_created.to_string(), "a v2 request without data.pf").await;
    let fulfilled_without_footprints = json!({"type": "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3",
        "specversion": "1.0", "id": "f", "source": "https://owner.example.com", "time": "2026-05-01T10:00:00Z",
        "data": {"requestEventId": "r", "pfs": []}});
    demo.assert_bad_event(3, fulfilled_without_footprints.to_string(), "v3 fulfilled with no footprints").await;
    let rejected_without_error = json!({"type": "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3",
        "specversion": "1.0", "id": "f", "source": "https://owner.example.com", "time": "2026-05-01T10:00:00Z",
        "data": {"requestEventId": "r"}});
    demo.assert_bad_event(3, rejected_without_error.to_string(), "v3 rejected without an error").await;
}

#[tokio::test]
async fn the_v3_routes_admit_no_request_without_a_valid_token() {
    let demo = demo().await;
    // Which refusal v3 gets is the layer's business (and configurable); here only that it is one.
    let base = format!("http://{}", demo.addr);
    for token in [None, Some("very-invalid-access-token-0123456789abcdef")] {
        let requests = [
            demo.client.get(format!("{base}/3/footprints")),
            demo.client.get(format!("{base}/3/footprints/{}", v3::ROAD_TOC)),
            demo.client.post(format!("{base}/3/events")).body(published_event(PUBLISHED_V3)),
        ];
        for request in requests {
            let request = match token {
                Some(token) => request.bearer_auth(token),
                None => request,
            };
            let response = request.send().await.unwrap();
            assert!(response.status().is_client_error(), "{token:?}: {}", response.status());
            assert!(response.headers().get(LINK).is_none());
        }
    }
}

#[tokio::test]
async fn a_busy_port_is_reported_in_one_line_that_names_bind_addr() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let error = pact::listen(Some(&addr)).await.expect_err("the port is taken");
    assert_eq!(error, format!("cannot listen on {addr}: address already in use (set BIND_ADDR to another address)"));
    assert!(!error.contains('\n'));
    let error = pact::listen(Some("localhost")).await.expect_err("not an address");
    assert_eq!(error, "BIND_ADDR=\"localhost\" is not an address and port like 127.0.0.1:8080");
}

#[test]
fn timestamps_read_rfc_3339_and_the_specs_shorter_forms() {
    let at = |text: &str| Timestamp::parse(text).unwrap_or_else(|| panic!("{text}"));
    assert_eq!(at("2025-04-01T00:00:00Z"), at("2025-04-01T02:00:00+02:00"));
    assert_eq!(at("2025-04-01T00:00:00Z"), at("2025-04-01t00:00:00.000z"));
    assert_eq!(at("2025-04-01T00:00:00Z"), at("2025-04-01T00:00Z"));
    assert_eq!(at("2025-04-01T00:00:00Z"), at("2025-04-01"));
    assert_eq!(at("2025-04-01T00:00:00Z"), at("2025-04-01T01:00:00 01:00"), "a `+` decoded as a space");
    assert!(at("2025-04-01T00:00:00.001Z") > at("2025-04-01T00:00:00Z"));
    assert_eq!(at("2024-02-29T12:00:00Z").plus_years(3), at("2027-03-01T12:00:00Z"));
    assert_eq!(at("2025-01-01T00:00:00Z").plus_years(3), at("2028-01-01T00:00:00Z"));
    assert!(at("1900-01-01T00:00:00Z") < at("1970-01-01T00:00:00Z"));
    for bad in [
        "",
        "yesterday",
        "2025-13-01",
        "2025-02-29",
        "2025-04-01T24:00:00Z",
        "2025-04-01T00:00:00",
        "2025-04-01T00:00:00.Z",
        "2025-04-01T00:00:00+0100",
        "2025-04-01T00:00:00Zjunk",
        "2025/04/01",
        "١٢٣٤-04-01",
    ] {
        assert_eq!(Timestamp::parse(bad), None, "{bad}");
    }
}

#[test]
fn only_hosts_with_an_optional_port_may_go_into_a_link() {
    for good in [
        "api.example.com",
        "api.example.com:8443",
        "127.0.0.1:8080",
        "[::1]:8080",
        "[2001:db8::1]",
        "localhost",
        "example.com.",
    ] {
        assert!(pact::links::is_host(good), "{good}");
    }
    for bad in [
        "",
        "a/b",
        "user@host",
        "host\\x",
        "a b",
        "host:",
        "host:abc",
        "host:65536",
        "[::1",
        "[::1]x",
        "[zz::1]:80",
        "::1",
        "a..b",
        ".a",
        "host\"",
        "<host>",
    ] {
        assert!(!pact::links::is_host(bad), "{bad}");
    }
}
