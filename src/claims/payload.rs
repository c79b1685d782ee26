//! The claims of a token payload that the verification rules and [`ClerkClaims`](super::ClerkClaims)
//! read, parsed in one pass straight from the payload's JSON: strings are borrowed from it where
//! they need no unescaping, numbers are read as numbers, and every other claim is skipped without
//! being built. The whole claim set as a `serde_json::Map` is built only if a handler asks for it.
//!
//! Each claim keeps the distinction the rules make: absent, a non-negative integer, a string, or
//! anything else (`null`, a float, a negative number, a bool, an array, an object). `exp: null`
//! is therefore "present but not a number", as `serde_json::Value::as_u64` would say, and not
//! "absent". A payload that names one of these claims twice is refused as malformed.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The claims the rules and the normalised claims read; every other claim is skipped.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Payload<'a> {
    #[serde(borrow)]
    pub(crate) exp: Claim<'a>,
    #[serde(borrow)]
    pub(crate) nbf: Claim<'a>,
    #[serde(borrow)]
    pub(crate) iat: Claim<'a>,
    #[serde(borrow)]
    pub(crate) iss: Claim<'a>,
    #[serde(borrow)]
    pub(crate) sub: Claim<'a>,
    #[serde(borrow)]
    pub(crate) sid: Claim<'a>,
    #[serde(borrow)]
    pub(crate) azp: Claim<'a>,
    #[serde(borrow)]
    pub(crate) sts: Claim<'a>,
    /// The claim format's version: `2` for the `o` organization claim.
    #[serde(borrow)]
    pub(crate) v: Claim<'a>,
    /// v2: the feature list the `fpm` masks refer to.
    #[serde(borrow)]
    pub(crate) fea: Claim<'a>,
    /// v2: the active organization.
    #[serde(borrow)]
    pub(crate) o: OrganizationClaim<'a>,
    #[serde(borrow)]
    pub(crate) org_id: Claim<'a>,
    #[serde(borrow)]
    pub(crate) org_slug: Claim<'a>,
    #[serde(borrow)]
    pub(crate) org_role: Claim<'a>,
    /// v1: the permissions, strings in an array (anything else in it is ignored).
    #[serde(borrow)]
    pub(crate) org_permissions: Texts<'a>,
}

impl<'a> Payload<'a> {
    /// The claims of a payload's JSON text; `None` unless it is one JSON object.
    pub(crate) fn parse(json: &'a str) -> Option<Self> {
        // A derived struct would also accept a JSON array, field by field.
        if !json.trim_start().starts_with('{') {
            return None;
        }
        serde_json::from_str(json).ok()
    }
}

/// One claim's value as the rules tell values apart.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) enum Claim<'a> {
    /// Not in the payload.
    #[default]
    Absent,
    /// A non-negative integer that fits in a `u64`.
    Number(u64),
    /// A string.
    Text(Cow<'a, str>),
    /// Anything else: `null`, a float, a negative number, a bool, an array or an object.
    Other,
}

impl<'a> Claim<'a> {
    /// The number, if the claim is one (as `serde_json::Value::as_u64`).
    pub(crate) fn number(&self) -> Option<u64> {
        match self {
            Self::Number(number) => Some(*number),
            _ => None,
        }
    }

    /// The string, if the claim is one (as `serde_json::Value::as_str`).
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The string, if the claim is a non-empty one.
    pub(crate) fn non_empty_text(&self) -> Option<&str> {
        self.text().filter(|text| !text.is_empty())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Claim<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ClaimVisitor(PhantomData))
    }
}

struct ClaimVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ClaimVisitor<'a> {
    type Value = Claim<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Claim::Number(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(value).map_or(Claim::Other, Claim::Number))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Claim::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Claim::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Claim::Other)
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Claim::Text(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Claim::Text(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Claim::Text(Cow::Owned(value)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Claim::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Claim::Other)
    }
}

/// The v2 `o` claim: `{id, slg, rol, per, fpm}` when it is an object (other members skipped; a
/// member named twice counts as JSON objects count it, the last one).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) enum OrganizationClaim<'a> {
    /// Not in the payload, or not an object.
    #[default]
    NotAnObject,
    /// An object, with the members the normalisation reads.
    Object { id: Claim<'a>, slg: Claim<'a>, rol: Claim<'a>, per: Claim<'a>, fpm: Claim<'a> },
}

impl<'de: 'a, 'a> Deserialize<'de> for OrganizationClaim<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrganizationVisitor(PhantomData))
    }
}

struct OrganizationVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for OrganizationVisitor<'a> {
    type Value = OrganizationClaim<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut id, mut slg, mut rol, mut per, mut fpm) = Default::default();
        while let Some(member) = map.next_key::<Member>()? {
            let slot = match member {
                Member::Id => &mut id,
                Member::Slug => &mut slg,
                Member::Role => &mut rol,
                Member::Permissions => &mut per,
                Member::FeaturePermissionMasks => &mut fpm,
                Member::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value::<Claim<'a>>()?;
        }
        Ok(OrganizationClaim::Object { id, slg, rol, per, fpm })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ClaimVisitor(PhantomData).visit_seq(seq).map(|_| OrganizationClaim::NotAnObject)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(OrganizationClaim::NotAnObject)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(OrganizationClaim::NotAnObject)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(OrganizationClaim::NotAnObject)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(OrganizationClaim::NotAnObject)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(OrganizationClaim::NotAnObject)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(OrganizationClaim::NotAnObject)
    }
}

/// A member name of the `o` claim, told apart without copying it.
#[derive(Deserialize)]
enum Member {
    #[serde(rename = "id")]
    Id,
    #[serde(rename = "slg")]
    Slug,
    #[serde(rename = "rol")]
    Role,
    #[serde(rename = "per")]
    Permissions,
    #[serde(rename = "fpm")]
    FeaturePermissionMasks,
    #[serde(other)]
    Other,
}

/// The strings of an array claim, in order (other elements skipped); empty when the claim is
/// absent or not an array.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Texts<'a>(pub(crate) Vec<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Texts<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let claim = deserializer.deserialize_any(TextsVisitor(PhantomData))?;
        Ok(claim)
    }
}

struct TextsVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextsVisitor<'a> {
    type Value = Texts<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut texts = Vec::new();
        while let Some(element) = seq.next_element::<Claim<'a>>()? {
            if let Claim::Text(text) = element {
                texts.push(text);
            }
        }
        Ok(Texts(texts))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ClaimVisitor(PhantomData).visit_map(map).map(|_| Texts::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Texts::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Texts::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Texts::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Texts::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Texts::default())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Texts::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// What `serde_json::Value` says of a claim, in this module's terms.
    fn as_value_sees(value: Option<&Value>) -> Claim<'static> {
        match value {
            None => Claim::Absent,
            Some(value) => match (value.as_u64(), value.as_str()) {
                (Some(number), _) => Claim::Number(number),
                (_, Some(text)) => Claim::Text(Cow::Owned(text.to_owned())),
                _ => Claim::Other,
            },
        }
    }

    #[test]
    fn each_claim_is_told_apart_as_serde_json_values_are() {
        let cases = [
            json!(1_700_000_000u64),
            json!(0),
            json!(-1),
            json!(1.5),
            json!(1e3),
            json!(u64::MAX),
            json!("text"),
            json!("esc\"aped\u{e9}"),
            json!(""),
            json!(null),
            json!(true),
            json!([1, "a"]),
            json!({"a": 1}),
        ];
        for value in cases {
            let json = json!({ "exp": value }).to_string();
            let payload = Payload::parse(&json).unwrap();
            assert_eq!(payload.exp, as_value_sees(Some(&value)), "{json}");
            assert_eq!(payload.nbf, Claim::Absent);
        }
    }

    #[test]
    fn strings_without_escapes_are_borrowed_from_the_payload() {
        let json = r#"{"sub":"user_1","iss":"https://clerk.example.com","azp":"a\"b"}"#;
        let payload = Payload::parse(json).unwrap();
        assert!(matches!(payload.sub, Claim::Text(Cow::Borrowed("user_1"))));
        assert!(matches!(payload.azp, Claim::Text(Cow::Owned(ref text)) if text == "a\"b"));
    }

    #[test]
    fn only_one_json_object_is_a_payload() {
        for json in ["[1,2]", "\"sub\"", "1", "null", "", "{", r#"{"sub":"a"} x"#, r#"{"sub":"a"}{}"#] {
            assert!(Payload::parse(json).is_none(), "{json}");
        }
        assert!(Payload::parse(" {} ").is_some());
        assert!(Payload::parse(r#"{"custom":{"deep":[1,{"x":null}]},"sub":"u"}"#).is_some());
    }

    #[test]
    fn a_rule_claim_named_twice_is_refused() {
        assert!(Payload::parse(r#"{"sub":"user_1","sub":"user_2"}"#).is_none());
        assert!(Payload::parse(r#"{"custom":1,"custom":2}"#).is_some(), "other claims are only skipped");
    }

    #[test]
    fn the_organization_claim_reads_its_members_when_it_is_an_object() {
        let json = r#"{"o":{"id":"org_1","slg":"acme","rol":"admin","per":"read","fpm":"1","x":[1]}}"#;
        let OrganizationClaim::Object { id, slg, rol, per, fpm } = Payload::parse(json).unwrap().o else {
            panic!("an object")
        };
        assert_eq!(
            [id.text(), slg.text(), rol.text(), per.text(), fpm.text()].map(Option::unwrap),
            ["org_1", "acme", "admin", "read", "1"]
        );
        for o in ["[1]", "\"org_1\"", "null", "3"] {
            let json = format!(r#"{{"o":{o}}}"#);
            assert_eq!(Payload::parse(&json).unwrap().o, OrganizationClaim::NotAnObject, "{o}");
        }
    }

    #[test]
    fn array_claims_keep_their_strings_only() {
        let payload = Payload::parse(r#"{"org_permissions":["org:a:read",1,null,"org:b:read",["x"]]}"#).unwrap();
        assert_eq!(payload.org_permissions.0, ["org:a:read", "org:b:read"]);
        for value in ["\"org:a:read\"", "{}", "null", "7"] {
            let json = format!(r#"{{"org_permissions":{value}}}"#);
            assert!(Payload::parse(&json).unwrap().org_permissions.0.is_empty(), "{value}");
        }
    }
}
