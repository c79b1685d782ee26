//! The filters of PACT v3 `ListFootprints` (tech spec v3.0.3, `/3/footprints` parameters):
//! `productId`, `companyId`, `geography`, `classification`, `validOn`, `validAfter`,
//! `validBefore` and `status`. Values of one criterion are ORed, criteria are ANDed, and every
//! match is case-insensitive. The same criteria make up a v3 `RequestCreatedEvent`'s `data`.
//!
//! The spec does not ask for a `400` on a value that cannot match (the conformance service
//! expects `200` and an empty list for `status=BogusStatus…`), so a value that is not a date or
//! a status simply matches no footprint. Parameters the spec does not name (an implementor's
//! `x-…` criteria, v2's deprecated `$filter`) are ignored.

use serde_json::Value;

/// One list query's criteria. An empty list of values means the criterion is absent.
#[derive(Debug, Default)]
pub struct Filters {
    product_ids: Vec<String>,
    company_ids: Vec<String>,
    geographies: Vec<String>,
    classifications: Vec<String>,
    valid_on: Option<Option<Timestamp>>,
    valid_after: Option<Option<Timestamp>>,
    valid_before: Option<Option<Timestamp>>,
    statuses: Vec<String>,
}

impl Filters {
    /// The criteria among a query's `(name, value)` pairs (names matched case-insensitively:
    /// the spec's own example writes `productid` and `validon`).
    pub fn from_query(pairs: &[(String, String)]) -> Self {
        let mut filters = Self::default();
        for (name, value) in pairs {
            filters.add(name, value);
        }
        filters
    }

    fn add(&mut self, name: &str, value: &str) {
        let date = || Some(Timestamp::parse(value));
        match name.to_ascii_lowercase().as_str() {
            "productid" => self.product_ids.push(value.to_owned()),
            "companyid" => self.company_ids.push(value.to_owned()),
            "geography" => self.geographies.push(value.to_owned()),
            "classification" => self.classifications.push(value.to_owned()),
            "validon" => self.valid_on = date(),
            "validafter" => self.valid_after = date(),
            "validbefore" => self.valid_before = date(),
            "status" => self.statuses.push(value.to_owned()),
            _ => {}
        }
    }

    /// Whether `footprint` (a v3 `ProductFootprint`) meets every criterion.
    pub fn matches(&self, footprint: &Value) -> bool {
        let any_of = |wanted: &[String], have: Vec<&str>| {
            wanted.is_empty() || wanted.iter().any(|want| have.iter().any(|have| want.eq_ignore_ascii_case(have)))
        };
        let pcf = &footprint["pcf"];
        let geography = ["geographyCountry", "geographyRegionOrSubregion", "geographyCountrySubdivision"]
            .iter()
            .filter_map(|field| pcf[field].as_str())
            .collect();
        let (start, end) = validity_period(footprint);
        let date_filter = |filter: &Option<Option<Timestamp>>, test: &dyn Fn(Timestamp) -> bool| match filter {
            None => true,
            Some(Some(date)) => test(*date),
            Some(None) => false,
        };
        any_of(&self.product_ids, strings(&footprint["productIds"]))
            && any_of(&self.company_ids, strings(&footprint["companyIds"]))
            && any_of(&self.geographies, geography)
            && any_of(&self.classifications, strings(&footprint["productClassifications"]))
            && any_of(&self.statuses, footprint["status"].as_str().into_iter().collect())
            && date_filter(&self.valid_on, &|on| start.zip(end).is_some_and(|(start, end)| start <= on && on <= end))
            && date_filter(&self.valid_after, &|after| start.is_some_and(|start| start > after))
            && date_filter(&self.valid_before, &|before| end.is_some_and(|end| end < before))
    }
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().map(|items| items.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// A footprint's validity period (PACT v3 §Validity Period): `validityPeriodStart` and
/// `validityPeriodEnd` where given, otherwise from `pcf.referencePeriodEnd` for 3 years.
pub fn validity_period(footprint: &Value) -> (Option<Timestamp>, Option<Timestamp>) {
    let date = |value: &Value| value.as_str().and_then(Timestamp::parse);
    let reference_end = date(&footprint["pcf"]["referencePeriodEnd"]);
    let start = date(&footprint["validityPeriodStart"]).or(reference_end);
    let end = date(&footprint["validityPeriodEnd"]).or_else(|| reference_end.map(|end| end.plus_years(3)));
    (start, end)
}

/// An instant, from an RFC 3339 date-time (`2025-04-01T00:00:00Z`, `…T00:00:00.000+02:00`),
/// also without seconds (`2025-04-01T00:00Z`, as in the spec's example) or a bare date (midnight
/// UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    seconds: i64,
    nanos: u32,
}

impl Timestamp {
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let digits = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = bytes.get(range)?;
            part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
        };
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        if bytes[4] != b'-' || bytes[7] != b'-' || !(1..=12).contains(&month) || day < 1 || day > days_in(year, month) {
            return None;
        }
        let days = days_from_civil(year, month, day);
        if bytes.len() == 10 {
            return Some(Self { seconds: days * 86_400, nanos: 0 });
        }
        if !matches!(bytes[10], b'T' | b't' | b' ') || bytes.get(13) != Some(&b':') {
            return None;
        }
        let (hour, minute) = (digits(11..13)?, digits(14..16)?);
        let mut at = 16;
        let mut second = 0;
        let mut nanos = 0u32;
        if bytes.get(at) == Some(&b':') {
            second = digits(at + 1..at + 3)?;
            at += 3;
            if bytes.get(at) == Some(&b'.') {
                let fraction: Vec<u8> = bytes[at + 1..].iter().copied().take_while(u8::is_ascii_digit).collect();
                if fraction.is_empty() {
                    return None;
                }
                at += 1 + fraction.len();
                for (place, digit) in fraction.iter().take(9).enumerate() {
                    nanos += u32::from(digit - b'0') * 10u32.pow(8 - place as u32);
                }
            }
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let offset = match bytes.get(at..)? {
            b"Z" | b"z" => 0,
            // `+` arrives as a space when a client leaves it unencoded in a query string.
            [sign @ (b'+' | b'-' | b' '), ..] if bytes.len() == at + 6 && bytes[at + 3] == b':' => {
                let (hours, minutes) = (digits(at + 1..at + 3)?, digits(at + 4..at + 6)?);
                if hours > 23 || minutes > 59 {
                    return None;
                }
                let offset = hours * 3600 + minutes * 60;
                if *sign == b'-' { -offset } else { offset }
            }
            _ => return None,
        };
        Some(Self { seconds: days * 86_400 + hour * 3600 + minute * 60 + second - offset, nanos })
    }

    /// The same time of day `years` calendar years later, in UTC (29 February rolls over to
    /// 1 March, as JavaScript's `setFullYear` does).
    pub fn plus_years(self, years: i64) -> Self {
        let days = self.seconds.div_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let later = days_from_civil(year + years, month, day);
        Self { seconds: self.seconds + (later - days) * 86_400, nanos: self.nanos }
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`); a day
/// past the month's end counts on into the next month.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
