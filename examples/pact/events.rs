//! Validation of the CloudEvents that `POST /2/events` and `POST /3/events` accept, as the PACT
//! event schemas say (tech spec v2.3 and v3.0.3, `components/schemas/*Event` of
//! `spec/v2/openapi.yaml` and `spec/v3/openapi.yaml`):
//!
//! - a JSON object in CloudEvents structured content mode, with `specversion` `"1.0"`, a
//!   non-empty string `id` and `source`, a `time` in RFC 3339 (required by the PACT schemas
//!   except for v2's fulfilled and rejected events, and checked wherever present) and an object
//!   `data`;
//! - a `type` of the route's version: v2 `org.wbcsd.pathfinder.…​.v1`, v3
//!   `org.wbcsd.pact.ProductFootprint.…​.3`;
//! - published: `data.pfIds`, a non-empty array of UUIDs;
//! - request created: v2 `data.pf`, a product footprint fragment (an object); v3 the list
//!   criteria (`productId`, `companyId`, `geography`, `classification`: non-empty arrays of
//!   strings, URNs but for `geography`; `validOn`, `validAfter`, `validBefore`: date-times;
//!   `status`: `Active` or `Deprecated`); `data.comment` a string if present;
//! - request fulfilled: `data.requestEventId`, a string, and `data.pfs`, an array (non-empty in
//!   v3) of footprints whose `id` is a UUID;
//! - request rejected: `data.requestEventId` and `data.error`, an error response (`code` and
//!   `message`).

use serde_json::{Map, Value};

use super::filters::Timestamp;

/// The PACT API version of an events route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2,
    V3,
}

#[derive(Clone, Copy)]
enum Kind {
    Published,
    RequestCreated,
    RequestFulfilled,
    RequestRejected,
}

impl Version {
    fn kind(self, event_type: &str) -> Option<Kind> {
        let kind = match (self, event_type) {
            (Version::V2, "org.wbcsd.pathfinder.ProductFootprint.Published.v1") => Kind::Published,
            (Version::V2, "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1") => Kind::RequestCreated,
            (Version::V2, "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1") => Kind::RequestFulfilled,
            (Version::V2, "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1") => Kind::RequestRejected,
            (Version::V3, "org.wbcsd.pact.ProductFootprint.PublishedEvent.3") => Kind::Published,
            (Version::V3, "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3") => Kind::RequestCreated,
            (Version::V3, "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3") => Kind::RequestFulfilled,
            (Version::V3, "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3") => Kind::RequestRejected,
            _ => return None,
        };
        Some(kind)
    }

    fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// A valid event's type and id, for the log.
#[derive(Debug)]
pub struct Accepted {
    pub event_type: String,
    pub id: String,
}

/// Checks `body` against the event schemas of `version`; the error is the `message` of a
/// `400 BadRequest`.
pub fn validate(version: Version, body: &[u8]) -> Result<Accepted, String> {
    let event: Value = serde_json::from_slice(body)
        .map_err(|_| "the body must be a JSON CloudEvent (structured content mode)".to_owned())?;
    let event = event.as_object().ok_or("the event must be a JSON object")?;
    let event_type = string(event, "type")?;
    let kind = version
        .kind(event_type)
        .ok_or_else(|| format!("\"type\" {event_type:?} is not a PACT v{} event type", version.number()))?;
    if event.get("specversion").and_then(Value::as_str) != Some("1.0") {
        return Err("\"specversion\" must be \"1.0\"".to_owned());
    }
    let id = string(event, "id")?;
    let source = string(event, "source")?;
    if source.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("\"source\" must be a URI reference".to_owned());
    }
    let time_required = version == Version::V3 || matches!(kind, Kind::Published | Kind::RequestCreated);
    match event.get("time") {
        None | Some(Value::Null) if !time_required => {}
        Some(Value::String(time)) if Timestamp::parse(time).is_some() => {}
        _ => return Err("\"time\" must be an RFC 3339 date-time".to_owned()),
    }
    let data = event.get("data").and_then(Value::as_object).ok_or("\"data\" must be an object")?;
    match kind {
        Kind::Published => published(data)?,
        Kind::RequestCreated if version == Version::V2 => {
            if !data.get("pf").is_some_and(Value::is_object) {
                return Err("\"data.pf\" must be a product footprint fragment (an object)".to_owned());
            }
            comment(data)?;
        }
        Kind::RequestCreated => request_criteria(data)?,
        Kind::RequestFulfilled => fulfilled(version, data)?,
        Kind::RequestRejected => rejected(data)?,
    }
    Ok(Accepted { event_type: event_type.to_owned(), id: id.to_owned() })
}

fn string<'a>(object: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    match object.get(name).and_then(Value::as_str) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(format!("\"{name}\" must be a non-empty string")),
    }
}

fn published(data: &Map<String, Value>) -> Result<(), String> {
    let pf_ids = data.get("pfIds").and_then(Value::as_array).filter(|ids| !ids.is_empty());
    let pf_ids = pf_ids.ok_or("\"data.pfIds\" must be a non-empty array of product footprint ids")?;
    for pf_id in pf_ids {
        if !pf_id.as_str().is_some_and(is_uuid) {
            return Err(format!("\"data.pfIds\" must hold product footprint ids (UUIDs), not {pf_id}"));
        }
    }
    Ok(())
}

fn comment(data: &Map<String, Value>) -> Result<(), String> {
    match data.get("comment") {
        None | Some(Value::String(_)) => Ok(()),
        Some(_) => Err("\"data.comment\" must be a string".to_owned()),
    }
}

/// A v3 `RequestCreatedEvent`'s criteria: those of `ListFootprints`.
fn request_criteria(data: &Map<String, Value>) -> Result<(), String> {
    for (name, urns) in [("productId", true), ("companyId", true), ("geography", false), ("classification", true)] {
        let Some(value) = data.get(name) else { continue };
        let items = value.as_array().filter(|items| !items.is_empty());
        let valid = items.is_some_and(|items| {
            items
                .iter()
                .all(|item| item.as_str().is_some_and(|item| if urns { is_urn(item) } else { !item.is_empty() }))
        });
        if !valid {
            let what = if urns { "URNs" } else { "geographies" };
            return Err(format!("\"data.{name}\" must be a non-empty array of {what}"));
        }
    }
    for name in ["validOn", "validAfter", "validBefore"] {
        if let Some(value) = data.get(name)
            && value.as_str().and_then(Timestamp::parse).is_none()
        {
            return Err(format!("\"data.{name}\" must be an RFC 3339 date-time"));
        }
    }
    if let Some(status) = data.get("status")
        && !status
            .as_str()
            .is_some_and(|status| ["Active", "Deprecated"].iter().any(|s| s.eq_ignore_ascii_case(status)))
    {
        return Err("\"data.status\" must be \"Active\" or \"Deprecated\"".to_owned());
    }
    comment(data)
}

fn fulfilled(version: Version, data: &Map<String, Value>) -> Result<(), String> {
    string(data, "requestEventId").map_err(|_| "\"data.requestEventId\" must be a non-empty string".to_owned())?;
    let pfs = data.get("pfs").and_then(Value::as_array).ok_or("\"data.pfs\" must be an array of product footprints")?;
    if version == Version::V3 && pfs.is_empty() {
        return Err("\"data.pfs\" must not be empty (a request without footprints is rejected instead)".to_owned());
    }
    if !pfs.iter().all(|pf| pf.get("id").and_then(Value::as_str).is_some_and(is_uuid)) {
        return Err("\"data.pfs\" must hold product footprints, each with a UUID \"id\"".to_owned());
    }
    Ok(())
}

fn rejected(data: &Map<String, Value>) -> Result<(), String> {
    string(data, "requestEventId").map_err(|_| "\"data.requestEventId\" must be a non-empty string".to_owned())?;
    let error = data.get("error").and_then(Value::as_object);
    let valid = error.is_some_and(|error| string(error, "code").is_ok() && string(error, "message").is_ok());
    if !valid {
        return Err("\"data.error\" must be an error response with a \"code\" and a \"message\"".to_owned());
    }
    Ok(())
}

/// A UUID in its canonical 8-4-4-4-12 hex form (JSON Schema's `format: uuid`).
pub fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(at, byte)| match at {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// A URN, as the v3 schema's `Urn` pattern has it: `urn:` in any case, then something.
fn is_urn(text: &str) -> bool {
    text.len() > 4
        && text.get(..4).is_some_and(|scheme| scheme.eq_ignore_ascii_case("urn:"))
        && !text.contains(char::is_whitespace)
}
