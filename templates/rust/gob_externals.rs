//! Other libraries' types that the contract carries as their JSON encoding (`OpaqueJson` in the
//! generator's externals table), in their gob form: written by hand, since the IR records
//! nothing of their shape. Each converts to the JSON Go's `encoding/json` writes for it and
//! back; gob matches fields by name, so only the fields declared here cross the wire.

use std::collections::HashMap;

use gobwire::{GoTime, Zone};
use serde::{Deserialize, Serialize};

/// A gob type carried in the contract as JSON.
pub trait OpaqueJson: Sized {
    /// Go's JSON encoding of the value.
    fn to_json(&self) -> Vec<u8>;
    /// The value from its JSON encoding, or why the text is not one.
    fn from_json(json: &[u8]) -> Result<Self, String>;
}

/// Checks a JSON argument before a call, so a malformed one is the caller's error rather than
/// a zero value sent to the server.
pub fn check_json<T: OpaqueJson>(
    method: &str,
    argument: &str,
    json: &[u8],
) -> Result<(), mattermost_plugin_api::ApiError> {
    T::from_json(json).map(|_| ()).map_err(|e| {
        mattermost_plugin_api::ApiError::app(
            400,
            "api.plugin.invalid_argument.app_error",
            &format!(
                "{method}: `{argument}` is not a valid {}: {e}",
                short_name::<T>()
            ),
        )
    })
}

/// The value from JSON the caller already checked ([`check_json`]); the zero value otherwise.
pub fn from_checked_json<T: OpaqueJson + Default>(json: &[u8]) -> T {
    T::from_json(json).unwrap_or_default()
}

fn short_name<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    name.rsplit("::").next().unwrap_or(name)
}

macro_rules! opaque_json {
    ($($t:ty),*) => {$(
        impl OpaqueJson for $t {
            fn to_json(&self) -> Vec<u8> {
                serde_json::to_vec(self).expect("plain data always serialises")
            }
            fn from_json(json: &[u8]) -> Result<Self, String> {
                serde_json::from_slice(json).map_err(|e| e.to_string())
            }
        }
    )*};
}

opaque_json!(Level, AssertionInfo);

/// `mlog.Level` (logr's level): JSON `{"id", "name", "stacktrace", "color"}`.
#[derive(gobwire::Gob, Serialize, Deserialize, Debug, Default, Clone, PartialEq)]
pub struct Level {
    #[gob(name = "ID")]
    #[serde(rename = "id", default)]
    pub id: u64,
    #[gob(name = "Name")]
    #[serde(rename = "name", default)]
    pub name: String,
    #[gob(name = "Stacktrace")]
    #[serde(rename = "stacktrace", default, skip_serializing_if = "is_false")]
    pub stacktrace: bool,
    #[gob(name = "Color")]
    #[serde(rename = "color", default, skip_serializing_if = "is_zero")]
    pub color: u8,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(c: &u8) -> bool {
    *c == 0
}

/// `saml2.AssertionInfo` (gosaml2), as OnSAMLLogin receives it. The raw XML `Assertions`
/// are not carried (their Go types are XML documents of their own); everything a plugin reads
/// to map a login — the name id, the attribute values, the session and the warnings — is.
#[derive(gobwire::Gob, Serialize, Deserialize, Debug, Default, Clone, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct AssertionInfo {
    #[gob(name = "NameID")]
    #[serde(rename = "NameID")]
    pub name_id: String,
    #[gob(name = "Values")]
    #[serde(deserialize_with = "null_as_default")]
    pub values: HashMap<String, Attribute>,
    #[gob(name = "WarningInfo")]
    pub warning_info: Option<Box<WarningInfo>>,
    #[gob(name = "SessionIndex")]
    pub session_index: String,
    #[gob(name = "AuthnInstant")]
    #[serde(with = "go_time")]
    pub authn_instant: Option<GoTime>,
    #[gob(name = "SessionNotOnOrAfter")]
    #[serde(with = "go_time")]
    pub session_not_on_or_after: Option<GoTime>,
    #[gob(name = "ResponseSignatureValidated")]
    pub response_signature_validated: bool,
}

/// gosaml2's `types.Attribute`.
#[derive(gobwire::Gob, Serialize, Deserialize, Debug, Default, Clone, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Attribute {
    #[gob(name = "XMLName")]
    #[serde(rename = "XMLName")]
    pub xml_name: XmlName,
    #[gob(name = "FriendlyName")]
    pub friendly_name: String,
    #[gob(name = "Name")]
    pub name: String,
    #[gob(name = "NameFormat")]
    pub name_format: String,
    #[gob(name = "Values")]
    #[serde(deserialize_with = "null_as_default")]
    pub values: Vec<AttributeValue>,
}

/// gosaml2's `types.AttributeValue`.
#[derive(gobwire::Gob, Serialize, Deserialize, Debug, Default, Clone, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct AttributeValue {
    #[gob(name = "XMLName")]
    #[serde(rename = "XMLName")]
    pub xml_name: XmlName,
    #[gob(name = "Type")]
    pub r#type: String,
    #[gob(name = "Value")]
    pub value: String,
}

/// Go's `xml.Name`.
#[derive(gobwire::Gob, Serialize, Deserialize, Debug, Default, Clone, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct XmlName {
    #[gob(name = "Space")]
    pub space: String,
    #[gob(name = "Local")]
    pub local: String,
}

/// gosaml2's `WarningInfo`.
#[derive(gobwire::Gob, Serialize, Deserialize, Debug, Default, Clone, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct WarningInfo {
    #[gob(name = "OneTimeUse")]
    pub one_time_use: bool,
    #[gob(name = "ProxyRestriction")]
    pub proxy_restriction: Option<Box<ProxyRestriction>>,
    #[gob(name = "NotInAudience")]
    pub not_in_audience: bool,
    #[gob(name = "InvalidTime")]
    pub invalid_time: bool,
}

/// gosaml2's `ProxyRestriction`.
#[derive(gobwire::Gob, Serialize, Deserialize, Debug, Default, Clone, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ProxyRestriction {
    #[gob(name = "Count")]
    pub count: i64,
    #[gob(name = "Audience")]
    #[serde(deserialize_with = "null_as_default")]
    pub audience: Vec<String>,
}

/// Go writes a nil map or slice as `null`.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A `*time.Time` as Go's JSON writes it: RFC 3339 with nanoseconds (trailing zeros dropped)
/// and the zone's offset (`Z` for UTC), or `null`.
mod go_time {
    use super::{GoTime, Zone};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<GoTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            None => s.serialize_none(),
            Some(t) => s.serialize_str(&format(t)),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<GoTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => parse(&text).map(Some).map_err(serde::de::Error::custom),
        }
    }

    pub(super) fn format(t: &GoTime) -> String {
        let offset = match t.zone {
            Zone::Utc => 0,
            Zone::Offset(o) => o,
        };
        let local = t.unix() + i64::from(offset);
        let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        let mut out = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        if t.nsec != 0 {
            let frac = format!("{:09}", t.nsec);
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        if offset == 0 {
            out.push('Z');
        } else {
            let sign = if offset < 0 { '-' } else { '+' };
            let o = offset.abs();
            out.push_str(&format!("{sign}{:02}:{:02}", o / 3600, o / 60 % 60));
        }
        out
    }

    pub(super) fn parse(text: &str) -> Result<GoTime, String> {
        let bad = || format!("{text:?} is not an RFC 3339 time");
        let b = text.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
            text.get(r).and_then(|s| s.parse().ok()).ok_or_else(bad)
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
            return Err(bad());
        }
        let mut rest = &text[19..];
        let mut nsec = 0i32;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 9 {
                return Err(bad());
            }
            nsec = format!("{:0<9}", &frac[..digits])
                .parse()
                .map_err(|_| bad())?;
            rest = &frac[digits..];
        }
        let offset = match rest {
            "Z" => 0,
            _ if rest.len() == 6
                && (rest.starts_with('+') || rest.starts_with('-'))
                && &rest[3..4] == ":" =>
            {
                let oh: i32 = rest[1..3].parse().map_err(|_| bad())?;
                let om: i32 = rest[4..6].parse().map_err(|_| bad())?;
                let o = oh * 3600 + om * 60;
                if rest.starts_with('-') { -o } else { o }
            }
            _ => return Err(bad()),
        };
        let local = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
        // Go's parser gives "Z" the UTC location and any other offset a fixed zone.
        let zone = if rest == "Z" {
            Zone::Utc
        } else {
            Zone::Offset(offset)
        };
        Ok(GoTime::from_unix(local - i64::from(offset), nsec, zone))
    }

    // Howard Hinnant's days-from-civil algorithms (proleptic Gregorian, day 0 = 1970-01-01).
    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn civil_from_days(z: i64) -> (i64, i64, i64) {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i64::from(m <= 2), m, d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_and_parse_as_go_does() {
        for (t, text) in [
            (
                GoTime::from_unix(1_715_000_000, 123_456_789, Zone::Utc),
                "2024-05-06T12:53:20.123456789Z",
            ),
            (GoTime::from_unix(0, 0, Zone::Utc), "1970-01-01T00:00:00Z"),
            (
                GoTime::from_unix(951_782_400, 500_000_000, Zone::Offset(-5 * 3600 - 1800)),
                "2000-02-28T18:30:00.5-05:30",
            ),
        ] {
            assert_eq!(go_time::format(&t), text);
            assert_eq!(go_time::parse(text).unwrap(), t);
        }
        for bad in [
            "",
            "2024-05-06",
            "2024-13-06T00:00:00Z",
            "2024-05-06T00:00:00.Z",
            "2024-05-06T00:00:00+0100",
        ] {
            assert!(go_time::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn levels_and_assertions_keep_go_json_shapes() {
        let level = Level {
            id: 10,
            name: "audit-api".into(),
            ..Default::default()
        };
        assert_eq!(level.to_json(), br#"{"id":10,"name":"audit-api"}"#);
        assert_eq!(
            Level::from_json(br#"{"id":10,"name":"audit-api","color":3}"#)
                .unwrap()
                .color,
            3
        );
        assert!(Level::from_json(b"warn").is_err());
        let info = AssertionInfo::from_json(
            br#"{"NameID":"ada","Values":null,"WarningInfo":null,"AuthnInstant":"2024-05-06T07:08:09Z","Assertions":null}"#,
        )
        .unwrap();
        assert_eq!(info.name_id, "ada");
        assert!(info.values.is_empty());
        assert_eq!(
            info.authn_instant,
            Some(GoTime::from_unix(1_714_979_289, 0, Zone::Utc))
        );
    }
}
