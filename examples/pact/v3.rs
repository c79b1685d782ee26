//! PACT v3 product footprints (tech spec v3.0.3, `spec/v3/openapi.yaml` of
//! `wbcsd/data-exchange-protocol`): `productIds` and `productClassifications` as URNs, the
//! `pcf` object with `declaredUnitOfMeasurement`, `pcfExcludingBiogenicUptake`,
//! `pcfIncludingBiogenicUptake`, `ipccCharacterizationFactors`, `crossSectoralStandards`, string
//! decimals, and the life cycle of v3 (no `version`/`updated`: a change is a new footprint whose
//! `precedingPfIds` name the old one, which turns `Deprecated`).

use serde_json::{Value, json};

use crate::common;

/// The current TOC of the road lane (replaces [`ROAD_TOC_2023`]).
pub const ROAD_TOC: &str = "0f965857-cce7-4859-bb7a-50a0c52861ab";
/// The hub's HOC.
pub const HUB_HOC: &str = "ee5c3f1c-64d3-4410-8018-c25c59410d83";
/// A plain product.
pub const BIOETHANOL: &str = "a414a9da-6832-4747-839d-227f6e2e9dc1";
/// Last year's TOC of the road lane, deprecated by [`ROAD_TOC`].
pub const ROAD_TOC_2023: &str = "b847c34b-375e-4de2-a633-cad23a34e8de";

/// The data owner's company identifiers.
pub const COMPANY_IDS: [&str; 2] =
    ["urn:uuid:51131fb5-42a2-4267-a402-0ecfefad1619", "urn:pact:way.cloud:company-id:way-demo"];
/// The road lane's product identifier (shared by both of its TOCs).
pub const ROAD_PRODUCT_ID: &str = "urn:pact:way.cloud:product-id:toc-road-40t-ber-ams";

/// The spec version the footprints declare.
pub const SPEC_VERSION: &str = "3.0.3";

/// Every v3 footprint of the demo, the deprecated one included (PACT v3: a list SHOULD include
/// deprecated footprints unless `status` asks for active ones only).
pub fn footprints() -> Vec<Value> {
    let diesel = json!([{"energyCarrier": "Diesel", "emissionFactorWTW": "3.6801", "emissionFactorTTW": "3.2801", "relativeShare": "1"}]);
    let toc = |intensity: &str| {
        common::ileap_extension(
            "toc",
            json!({"tocId": "toc-road-40t", "mode": "Road", "energyCarriers": diesel, "co2eIntensityWTW": intensity,
                   "co2eIntensityTTW": "66.6", "transportActivityUnit": "tkm"}),
        )
    };
    let mut road = footprint(ROAD_TOC, "Road transport Berlin-Amsterdam, 40 t truck", ROAD_PRODUCT_ID, "urn:cpc:6511");
    road["created"] = json!("2025-02-03T08:00:00Z");
    road["precedingPfIds"] = json!([ROAD_TOC_2023]);
    road["validityPeriodStart"] = json!("2025-01-01T00:00:00Z");
    road["validityPeriodEnd"] = json!("2026-01-01T00:00:00Z");
    road["comment"] = json!("Replaces the 2023 TOC: new fleet mix (Euro VI trucks).");
    road["pcf"] = logistics_pcf("0.0747", "2024", json!({"geographyRegionOrSubregion": "Western Europe"}));
    road["extensions"] = json!([toc("74.7")]);

    let mut hub = footprint(
        HUB_HOC,
        "Cross-dock hub Duisburg",
        "urn:pact:way.cloud:product-id:hoc-duisburg",
        "urn:pact:way.cloud:category-id:transshipment-hub",
    );
    hub["pcf"] = logistics_pcf("0.0033", "2024", json!({"geographyCountrySubdivision": "DE-NW"}));
    hub["pcf"]["declaredUnitOfMeasurement"] = json!("kilogram");
    hub["extensions"] = json!([common::ileap_extension(
        "hoc",
        json!({"hocId": "hoc-duisburg", "hubType": "Transshipment", "energyCarriers": diesel,
               "co2eIntensityWTW": "3.3", "co2eIntensityTTW": "3.0", "hubActivityUnit": "tonnes"}),
    )]);

    let mut ethanol = footprint(
        BIOETHANOL,
        "Bio-Ethanol 98%, corn feedstock (bulk - no packaging)",
        "urn:pact:way.cloud:product-id:bioethanol-98",
        "urn:pact:cas.org:substance-number:64-17-5",
    );
    ethanol["validityPeriodStart"] = json!("2025-01-01T00:00:00Z");
    ethanol["validityPeriodEnd"] = json!("2027-12-31T00:00:00Z");
    ethanol["pcf"] = json!({
        "declaredUnitOfMeasurement": "liter",
        "declaredUnitAmount": "1",
        "productMassPerDeclaredUnit": "0.789",
        "referencePeriodStart": "2024-01-01T00:00:00Z",
        "referencePeriodEnd": "2025-01-01T00:00:00Z",
        "geographyCountry": "DE",
        "boundaryProcessesDescription": "Cradle-to-gate: corn cultivation, transport to the plant, fermentation and distillation",
        "pcfExcludingBiogenicUptake": "1.63",
        "pcfIncludingBiogenicUptake": "0.12",
        "fossilGhgEmissions": "1.41",
        "fossilCarbonContent": "0",
        "biogenicCarbonContent": "0.41",
        "biogenicCO2Uptake": "-1.51",
        "packagingEmissionsIncluded": false,
        "ipccCharacterizationFactors": ["AR6"],
        "crossSectoralStandards": ["ISO14067", "GHGP-Product", "PACT-3.0"],
        "exemptedEmissionsPercent": "0",
        "exemptedEmissionsDescription": "",
        "primaryDataShare": "56.1"
    });

    let mut road_2023 =
        footprint(ROAD_TOC_2023, "Road transport Berlin-Amsterdam, 40 t truck", ROAD_PRODUCT_ID, "urn:cpc:6511");
    road_2023["created"] = json!("2024-02-05T08:00:00Z");
    road_2023["status"] = json!("Deprecated");
    road_2023["validityPeriodStart"] = json!("2024-01-01T00:00:00Z");
    road_2023["validityPeriodEnd"] = json!("2025-01-01T00:00:00Z");
    road_2023["pcf"] = logistics_pcf("0.0781", "2023", json!({"geographyRegionOrSubregion": "Western Europe"}));
    road_2023["extensions"] = json!([toc("78.1")]);

    vec![road, hub, ethanol, road_2023]
}

/// The properties every demo footprint shares.
fn footprint(id: &str, product: &str, product_id: &str, classification: &str) -> Value {
    json!({
        "id": id,
        "specVersion": SPEC_VERSION,
        "created": "2025-03-01T09:32:20Z",
        "status": "Active",
        "companyName": "Way Demo Logistics",
        "companyIds": COMPANY_IDS,
        "productDescription": product,
        "productIds": [product_id],
        "productClassifications": [classification],
        "productNameCompany": product,
        "comment": "",
        "pcf": {}
    })
}

/// A transport or hub operation's carbon footprint for calendar year `year`, in kgCO2e per
/// declared unit, with the geography properties in `geography` (exactly one of them).
fn logistics_pcf(pcf: &str, year: &str, geography: Value) -> Value {
    let next_year = year.parse::<u32>().map(|year| year + 1).unwrap_or_default();
    let mut carbon_footprint = json!({
        "declaredUnitOfMeasurement": "ton kilometer",
        "declaredUnitAmount": "1",
        // Logistics services carry no product mass (PACT v3: `0` for logistics).
        "productMassPerDeclaredUnit": "0",
        "referencePeriodStart": format!("{year}-01-01T00:00:00Z"),
        "referencePeriodEnd": format!("{next_year}-01-01T00:00:00Z"),
        "boundaryProcessesDescription": "Well-to-wheel emissions of the transport and hub operations (GLEC Framework v3)",
        "pcfExcludingBiogenicUptake": pcf,
        "pcfIncludingBiogenicUptake": pcf,
        "fossilGhgEmissions": pcf,
        "fossilCarbonContent": "0",
        "biogenicCarbonContent": "0",
        "packagingEmissionsIncluded": false,
        "ipccCharacterizationFactors": ["AR6"],
        "crossSectoralStandards": ["ISO14083", "GHGP-Product", "PACT-3.0"],
        "exemptedEmissionsPercent": "0",
        "exemptedEmissionsDescription": "",
        "primaryDataShare": "100"
    });
    if let (Some(target), Value::Object(geography)) = (carbon_footprint.as_object_mut(), geography) {
        target.extend(geography);
    }
    carbon_footprint
}
