//! STIX objects as the server sees them: the verbatim JSON text plus the few fields that index
//! it (id, type, version, spec version). The rest of STIX is not modelled: objects of any type,
//! custom properties included, pass through unchanged.

use std::fmt;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::time::Timestamp;

/// A STIX specification version (`2.0`, `2.1`, ...), ordered numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpecVersion {
    pub major: u16,
    pub minor: u16,
}

impl SpecVersion {
    pub const V2_0: SpecVersion = SpecVersion { major: 2, minor: 0 };
    pub const V2_1: SpecVersion = SpecVersion { major: 2, minor: 1 };

    /// Parses `major.minor` (digits only).
    pub fn parse(s: &str) -> Option<Self> {
        let (major, minor) = s.split_once('.')?;
        let num = |p: &str| {
            (!p.is_empty() && p.len() <= 4 && p.bytes().all(|c| c.is_ascii_digit()))
                .then(|| p.parse::<u16>().ok())
                .flatten()
        };
        Some(SpecVersion {
            major: num(major)?,
            minor: num(minor)?,
        })
    }

    /// `application/stix+json;version=<this>`.
    pub fn media_type(self) -> String {
        format!("application/stix+json;version={self}")
    }

    /// Reads the version parameter out of a STIX or TAXII media type string.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        let (_, v) = media_type.split_once("version=")?;
        SpecVersion::parse(v.split(';').next()?.trim())
    }
}

impl fmt::Display for SpecVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The spec versions this server accepts in Add Objects.
pub const SUPPORTED_SPEC_VERSIONS: [SpecVersion; 2] = [SpecVersion::V2_0, SpecVersion::V2_1];

/// The version key of an object version: an instant for comparison plus the text the object
/// carries, echoed exactly in manifests, versions lists and statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionKey {
    pub instant: Timestamp,
    pub text: String,
}

/// A validated member of an Add Objects envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewObject {
    pub id: String,
    pub type_: String,
    pub spec_version: SpecVersion,
    /// `modified`, else `created`. `None` for objects with neither (SCOs): the store gives
    /// those the `date_added` of their first post as a stable version.
    pub version: Option<VersionKey>,
    /// The object exactly as received.
    pub json: Box<str>,
}

/// Why one member of an envelope was refused. The text goes into the status `failures`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFailure {
    /// The object's `id` when it had a string one.
    pub id: String,
    /// Its `modified` or `created` text when present.
    pub version: String,
    pub message: String,
}

/// Only the indexed fields; everything else in the object is skipped, not parsed into memory.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "type")]
    type_: Option<&'a RawValue>,
    #[serde(borrow, default)]
    spec_version: Option<&'a RawValue>,
    #[serde(borrow, default)]
    created: Option<&'a RawValue>,
    #[serde(borrow, default)]
    modified: Option<&'a RawValue>,
}

fn as_string(raw: Option<&RawValue>) -> Result<Option<String>, ()> {
    match raw {
        None => Ok(None),
        Some(r) => serde_json::from_str::<String>(r.get())
            .map(Some)
            .map_err(|_| ()),
    }
}

/// Whether `s` is a STIX type name: 3 to 250 characters of `a-z`, `0-9` and `-`.
pub fn is_stix_type(s: &str) -> bool {
    (3..=250).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Whether `s` is a UUID in its canonical 8-4-4-4-12 hexadecimal form.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Splits `type--uuid`.
pub fn split_stix_id(id: &str) -> Option<(&str, &str)> {
    let (t, u) = id.split_once("--")?;
    (is_stix_type(t) && is_uuid(u)).then_some((t, u))
}

impl NewObject {
    /// Validates one envelope member. Checks the structure a TAXII server depends on: a JSON
    /// object, a `type--uuid` id whose prefix is the `type`, a supported `spec_version`,
    /// well-formed `created`/`modified`, and `modified` not before `created`.
    pub fn from_raw(raw: &RawValue) -> Result<NewObject, ObjectFailure> {
        let text = raw.get();
        let mut failure = ObjectFailure {
            id: String::new(),
            version: String::new(),
            message: String::new(),
        };
        let fail = |mut f: ObjectFailure, msg: String| {
            f.message = msg;
            Err(f)
        };
        if !text.trim_start().starts_with('{') {
            return fail(failure, "an envelope member must be a JSON object".into());
        }
        if let Err(e) = crate::json::check_unique_names(text) {
            return fail(failure, e);
        }
        let head: Head<'_> = match serde_json::from_str(text) {
            Ok(h) => h,
            Err(e) => return fail(failure, format!("the object could not be read: {e}")),
        };
        let Ok(id) = as_string(head.id) else {
            return fail(failure, "'id' must be a string".into());
        };
        if let Some(id) = &id {
            failure.id.clone_from(id);
        }
        let (Ok(created), Ok(modified)) = (as_string(head.created), as_string(head.modified))
        else {
            return fail(failure, "'created' and 'modified' must be strings".into());
        };
        failure.version = modified
            .clone()
            .or_else(|| created.clone())
            .unwrap_or_default();
        let Some(id) = id else {
            return fail(failure, "the object has no 'id'".into());
        };
        let Ok(Some(type_)) = as_string(head.type_) else {
            return fail(failure, "the object has no string 'type'".into());
        };
        let Some((prefix, _)) = split_stix_id(&id) else {
            return fail(
                failure,
                format!("'{id}' is not a STIX identifier (type--UUID)"),
            );
        };
        if prefix != type_ {
            return fail(
                failure,
                format!("the id prefix '{prefix}' does not match the type '{type_}'"),
            );
        }
        let stamp = |name: &str, v: &Option<String>| -> Result<Option<VersionKey>, String> {
            v.as_ref()
                .map(|text| {
                    Timestamp::parse(text)
                        .map(|instant| VersionKey {
                            instant,
                            text: text.clone(),
                        })
                        .map_err(|e| format!("'{name}': {e}"))
                })
                .transpose()
        };
        let created = match stamp("created", &created) {
            Ok(c) => c,
            Err(m) => return fail(failure, m),
        };
        let modified = match stamp("modified", &modified) {
            Ok(m) => m,
            Err(m) => return fail(failure, m),
        };
        if let (Some(c), Some(m)) = (&created, &modified)
            && m.instant < c.instant
        {
            return fail(failure, "'modified' is earlier than 'created'".into());
        }
        let spec_version = match as_string(head.spec_version) {
            Err(()) => return fail(failure, "'spec_version' must be a string".into()),
            Ok(Some(s)) => match SpecVersion::parse(&s) {
                Some(v) if SUPPORTED_SPEC_VERSIONS.contains(&v) => v,
                _ => return fail(failure, format!("spec_version '{s}' is not supported")),
            },
            // STIX 2.1 §3.2: 2.1 SDOs and SROs must carry spec_version, so an object without it
            // is STIX 2.0, except SCOs (no created/modified), which may omit it in 2.1.
            Ok(None) if created.is_none() && modified.is_none() => SpecVersion::V2_1,
            Ok(None) => SpecVersion::V2_0,
        };
        Ok(NewObject {
            id,
            type_,
            spec_version,
            version: modified.or(created),
            json: text.into(),
        })
    }
}

/// Whether two JSON texts denote the same value (member order and spacing aside). Used to tell
/// a harmless re-post of a version from a conflicting one.
pub fn same_json(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<NewObject, ObjectFailure> {
        let raw: Box<RawValue> = serde_json::from_str(json).unwrap();
        NewObject::from_raw(&raw)
    }

    const IND: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--a932fcc6-e032-476c-826f-cb970a5a1ade","created":"2014-05-08T09:00:00.000Z","modified":"2014-05-08T09:00:00.000Z","x_custom":{"a":[1,2.50]}}"#;

    #[test]
    fn a_valid_object_keeps_its_exact_text_and_version() {
        let o = parse(IND).unwrap();
        assert_eq!(&*o.json, IND);
        assert_eq!(o.type_, "indicator");
        assert_eq!(o.spec_version, SpecVersion::V2_1);
        assert_eq!(o.version.unwrap().text, "2014-05-08T09:00:00.000Z");
    }

    #[test]
    fn spec_version_defaults_follow_stix() {
        let sco = parse(r#"{"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"1.2.3.4"}"#).unwrap();
        assert_eq!(sco.spec_version, SpecVersion::V2_1);
        assert!(sco.version.is_none());
        let old = parse(r#"{"type":"malware","id":"malware--fdd60b30-b67c-41e3-b0b9-f01faf20d111","created":"2017-01-27T13:49:53.997Z","modified":"2018-01-27T13:49:53.997Z"}"#).unwrap();
        assert_eq!(old.spec_version, SpecVersion::V2_0);
        let marking = parse(r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da","created":"2017-01-20T00:00:00.000Z"}"#).unwrap();
        assert_eq!(marking.version.unwrap().text, "2017-01-20T00:00:00.000Z");
    }

    #[test]
    fn invalid_members_are_refused_with_a_reason() {
        let id = "indicator--a932fcc6-e032-476c-826f-cb970a5a1ade";
        let cases = [
            ("42", "JSON object"),
            ("[]", "JSON object"),
            (r#"{"type":"indicator"}"#, "no 'id'"),
            (&format!(r#"{{"id":"{id}"}}"#), "no string 'type'"),
            (
                &format!(r#"{{"id":"{id}","type":"malware"}}"#),
                "does not match",
            ),
            (
                r#"{"id":"indicator-x","type":"indicator"}"#,
                "not a STIX identifier",
            ),
            (
                &format!(r#"{{"id":"{id}","type":"indicator","modified":"nope"}}"#),
                "'modified'",
            ),
            (
                &format!(
                    r#"{{"id":"{id}","type":"indicator","created":"2017-01-01T00:00:00Z","modified":"2016-01-01T00:00:00Z"}}"#
                ),
                "earlier",
            ),
            (
                &format!(
                    r#"{{"id":"{id}","type":"indicator","spec_version":"2.2","created":"2017-01-01T00:00:00Z"}}"#
                ),
                "not supported",
            ),
            (r#"{"id":{},"type":"indicator"}"#, "'id' must be a string"),
            (
                &format!(r#"{{"id":"{id}","id":"{id}","type":"indicator"}}"#),
                "'id' appears twice",
            ),
            (
                &format!(r#"{{"id":"{id}","type":"indicator","x_a":{{"k":1,"k":2}}}}"#),
                "'k' appears twice",
            ),
        ];
        for (json, expect) in cases {
            let err = parse(json).unwrap_err();
            assert!(err.message.contains(expect), "{json}: {}", err.message);
        }
        let err = parse(&format!(
            r#"{{"id":"{id}","type":"malware","modified":"2016-01-01T00:00:00Z"}}"#
        ))
        .unwrap_err();
        assert_eq!(err.id, id);
        assert_eq!(err.version, "2016-01-01T00:00:00Z");
    }

    #[test]
    fn same_json_ignores_member_order() {
        assert!(same_json(r#"{"a":1,"b":[1,2]}"#, r#"{ "b":[1,2], "a":1 }"#));
        assert!(!same_json(r#"{"a":1}"#, r#"{"a":2}"#));
    }

    #[test]
    fn spec_versions_parse_and_order() {
        assert!(SpecVersion::V2_0 < SpecVersion::V2_1);
        assert_eq!(
            SpecVersion::parse("2.10"),
            Some(SpecVersion {
                major: 2,
                minor: 10
            })
        );
        assert_eq!(
            SpecVersion::from_media_type("application/stix+json;version=2.0"),
            Some(SpecVersion::V2_0)
        );
        assert_eq!(SpecVersion::parse("2"), None);
    }
}
