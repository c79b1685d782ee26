//! Demo data and the fake Clerk shared by the examples: a few PACT v2 product footprints (two
//! with iLEAP TOC/HOC extensions) and iLEAP transport activity data (TAD).

#![allow(dead_code)]

use std::time::Duration;

use clerk_basic_auth::testing::{FakeClerk, FakeOrganization, FakeUser};
use clerk_basic_auth::{ClerkBasicAuthConfig, ConfigError};
use serde_json::{Value, json};

/// The demo user of every example.
pub const DEMO_USER: &str = "ileap-demo@way.cloud";
/// The demo user's password.
pub const DEMO_PASSWORD: &str = "HelloPrimaryData";
/// The demo user's organization.
pub const DEMO_ORG: &str = "org_2xDemo";
/// The JWT template the demo hands out: PACT clients get an hour-long token.
pub const DEMO_TEMPLATE: &str = "pact";

/// A fake Clerk with the demo user, admin of the `way-demo` organization, and the JWT template
/// `pact`: an hour-long token that carries the active organization (Clerk's v1 organization
/// claims), so OAuth clients that refresh a minute early (authlib) are not refreshing all the
/// time. Everything else is Clerk's default for a new application, Device Trust included.
pub async fn demo_clerk() -> FakeClerk {
    FakeClerk::builder()
        .user(FakeUser::new(DEMO_USER, DEMO_PASSWORD).id("user_2xDemo").member_of(DEMO_ORG, "admin"))
        .organization(
            FakeOrganization::new(DEMO_ORG, "way-demo")
                .name("Way Demo Logistics")
                .role_permissions("admin", ["org:footprints:read", "org:footprints:manage"]),
        )
        .jwt_template(
            DEMO_TEMPLATE,
            json!({"aud": "pact", "org_id": "{{org.id}}", "org_slug": "{{org.slug}}", "org_role": "{{org.role}}"}),
            Duration::from_secs(3600),
        )
        .start()
        .await
}

/// The demo's layer configuration for `clerk`, the recommended one: sign-ins through the
/// Backend API with the instance's secret key (Device Trust does not stop them), the demo
/// organization activated and required, and tokens of the `pact` template handed out.
pub fn demo_config(clerk: &FakeClerk) -> Result<ClerkBasicAuthConfig, ConfigError> {
    Ok(ClerkBasicAuthConfig::new(clerk.url())?
        .with_secret_key(clerk.secret_key())?
        .with_backend_api_url(&clerk.backend_api_url())?
        .with_organization(DEMO_ORG)
        .with_jwt_template(DEMO_TEMPLATE))
}

/// An iLEAP data model extension (`toc`, `hoc`, ...) of a product footprint.
pub fn ileap_extension(schema: &str, data: Value) -> Value {
    json!({
        "specVersion": "2.0.0",
        "dataSchema": format!("https://api.ileap.sine.dev/{schema}.json"),
        "documentation": "https://sine-fdn.github.io/ileap-extension/",
        "data": data
    })
}

fn footprint(id: &str, product: &str, cpc: &str, unit: &str, amount: &str, pcf: &str, extensions: Vec<Value>) -> Value {
    let mut footprint = json!({
        "id": id,
        "specVersion": "2.2.0",
        "version": 1,
        "created": "2025-03-01T09:32:20Z",
        "status": "Active",
        "companyName": "Way Demo Logistics",
        "companyIds": ["urn:uuid:51131fb5-42a2-4267-a402-0ecfefad1619"],
        "productDescription": product,
        "productIds": [format!("urn:pathfinder:product:customcode:vendor-assigned:{id}")],
        "productCategoryCpc": cpc,
        "productNameCompany": product,
        "comment": "",
        "pcf": {
            "declaredUnit": unit,
            "unitaryProductAmount": amount,
            "pCfExcludingBiogenic": pcf,
            "fossilGhgEmissions": pcf,
            "fossilCarbonContent": "0",
            "biogenicCarbonContent": "0",
            "characterizationFactors": "AR6",
            "ipccCharacterizationFactorsSources": ["AR6"],
            "crossSectoralStandardsUsed": ["GHG Protocol Product standard"],
            "boundaryProcessesDescription": "Well-to-wheel emissions of the transport and hub operations (GLEC Framework v3)",
            "referencePeriodStart": "2024-01-01T00:00:00Z",
            "referencePeriodEnd": "2025-01-01T00:00:00Z",
            "geographyCountry": "DE",
            "exemptedEmissionsPercent": 0,
            "exemptedEmissionsDescription": "",
            "packagingEmissionsIncluded": false
        }
    });
    if !extensions.is_empty() {
        footprint["extensions"] = Value::Array(extensions);
    }
    footprint
}

/// PACT v2 product footprints: a road transport TOC, a hub HOC, and a plain product.
pub fn footprints() -> Vec<Value> {
    let energy = json!([{"energyCarrier": "Diesel", "emissionFactorWTW": "3.6801", "emissionFactorTTW": "3.2801", "relativeShare": "1"}]);
    vec![
        footprint(
            "91715e5e-fd0b-4d1c-8fab-76290c46e6ed",
            "Road transport Berlin-Amsterdam, 40 t truck",
            "83117",
            "ton kilometer",
            "1",
            "0.0747",
            vec![ileap_extension(
                "toc",
                json!({"tocId": "toc-road-40t", "mode": "Road", "energyCarriers": energy, "co2eIntensityWTW": "74.7",
                       "co2eIntensityTTW": "66.6", "transportActivityUnit": "tkm"}),
            )],
        ),
        footprint(
            "3a8c2b7e-6d1f-4f0a-9b3e-5c2d8e7f1a04",
            "Cross-dock hub Duisburg",
            "83117",
            "kilogram",
            "1000",
            "3.3",
            vec![ileap_extension(
                "hoc",
                json!({"hocId": "hoc-duisburg", "hubType": "Transshipment", "energyCarriers": energy,
                       "co2eIntensityWTW": "3.3", "co2eIntensityTTW": "3.0", "hubActivityUnit": "tonnes"}),
            )],
        ),
        footprint(
            "c7e1b5d2-0f4a-4e8b-a3c6-9d2f1e0b7a58",
            "Bio-Ethanol 98%, corn feedstock (bulk - no packaging)",
            "3342",
            "liter",
            "1",
            "1.63",
            vec![],
        ),
    ]
}

/// iLEAP transport activity data.
pub fn transport_activity_data() -> Vec<Value> {
    let diesel = json!([{"energyCarrier": "Diesel", "emissionFactorWTW": "3.6801", "emissionFactorTTW": "3.2801", "relativeShare": "1"}]);
    vec![
        json!({
            "activityId": "tad-0001", "consignmentIds": ["cons-4711"], "distance": {"actual": "656.0"}, "mass": "1000.0",
            "loadFactor": "0.8", "emptyDistanceFactor": "0.1",
            "origin": {"street": "Bredowstraße", "zip": "10551", "city": "Berlin", "country": "DE", "locode": "DEBER", "lat": "52.52437", "lng": "13.41053"},
            "destination": {"street": "Keizersgracht", "zip": "1017", "city": "Amsterdam", "country": "NL", "locode": "NLAMS", "lat": "52.37403", "lng": "4.88969"},
            "departureAt": "2025-03-14T09:39:09Z", "arrivalAt": "2025-03-15T03:10:00Z", "mode": "Road",
            "packagingOrTrEqType": "Pallet", "packagingOrTrEqAmount": 10, "energyCarriers": diesel, "temperatureControl": "ambient"
        }),
        json!({
            "activityId": "tad-0002", "consignmentIds": ["cons-4712", "cons-4713"], "distance": {"gcd": "557.0"}, "mass": "18500.0",
            "origin": {"city": "Duisburg", "country": "DE", "locode": "DEDUI"},
            "destination": {"city": "Milano", "country": "IT", "locode": "ITMIL"},
            "departureAt": "2025-03-16T06:00:00Z", "arrivalAt": "2025-03-17T14:30:00Z", "mode": "Rail",
            "packagingOrTrEqType": "Container-FEU", "packagingOrTrEqAmount": 1,
            "energyCarriers": [{"energyCarrier": "Electricity", "emissionFactorWTW": "0.2940", "emissionFactorTTW": "0", "relativeShare": "1"}],
            "temperatureControl": "ambient"
        }),
        json!({
            "activityId": "tad-0003", "consignmentIds": ["cons-4714"], "distance": {"sfd": "9850.0"}, "mass": "2400.0",
            "origin": {"city": "Hamburg", "country": "DE", "locode": "DEHAM"},
            "destination": {"city": "Shanghai", "country": "CN", "locode": "CNSHA"},
            "departureAt": "2025-03-02T18:00:00Z", "arrivalAt": "2025-04-06T08:00:00Z", "mode": "Sea",
            "packagingOrTrEqType": "Container-TEU", "packagingOrTrEqAmount": 2,
            "energyCarriers": [{"energyCarrier": "HFO", "emissionFactorWTW": "3.7360", "emissionFactorTTW": "3.1140", "relativeShare": "1"}],
            "temperatureControl": "refrigerated"
        }),
    ]
}
