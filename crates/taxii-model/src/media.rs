//! Media types and content negotiation, in one place.
//!
//! `Accept` is parsed per RFC 9110: a comma-separated list of media ranges with parameters and
//! q-values, optional whitespace, case-insensitive type, subtype and parameter names. Each
//! representation the server can produce is a [`MediaType`]; [`negotiate`] picks the one the
//! client prefers, using the most specific matching range for each candidate (so
//! `*/*, application/taxii+json;q=0` refuses TAXII). A TAXII 2.0 handler joins by adding its
//! media types to the candidate list.

/// `application/taxii+json;version=2.1`, the label of every TAXII 2.1 response.
pub const TAXII_21: &str = "application/taxii+json;version=2.1";

/// The TAXII 2.0 resource type, spelt as the 2.0 specification and its clients write it.
pub const TAXII_20: &str = "application/vnd.oasis.taxii+json; version=2.0";

/// The STIX 2.0 type: TAXII 2.0's Get Objects answers and Add Objects bodies (a STIX bundle).
pub const STIX_20: &str = "application/vnd.oasis.stix+json; version=2.0";

/// A concrete media type the server can produce or consume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaType {
    pub type_: &'static str,
    pub subtype: &'static str,
    /// The `version` parameter this representation has. A range without a version parameter
    /// matches it too (the spec says a missing version means the latest the server supports).
    pub version: &'static str,
}

impl MediaType {
    pub const TAXII_21: MediaType = MediaType {
        type_: "application",
        subtype: "taxii+json",
        version: "2.1",
    };
    pub const TAXII_20: MediaType = MediaType {
        type_: "application",
        subtype: "vnd.oasis.taxii+json",
        version: "2.0",
    };
    pub const STIX_20: MediaType = MediaType {
        type_: "application",
        subtype: "vnd.oasis.stix+json",
        version: "2.0",
    };
}

/// One item of an `Accept` header.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRange {
    pub type_: String,
    pub subtype: String,
    /// Parameters other than `q`, names lower-cased, values unquoted.
    pub params: Vec<(String, String)>,
    /// Quality in thousandths (0..=1000).
    pub quality: u16,
}

impl MediaRange {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// How specifically this range matches `candidate`, or `None` when it does not match.
    fn specificity(&self, candidate: &MediaType) -> Option<u8> {
        match (self.type_.as_str(), self.subtype.as_str()) {
            ("*", "*") => Some(1),
            (t, "*") if t.eq_ignore_ascii_case(candidate.type_) => Some(2),
            (t, s)
                if t.eq_ignore_ascii_case(candidate.type_)
                    && s.eq_ignore_ascii_case(candidate.subtype) =>
            {
                match self.param("version") {
                    None => Some(3),
                    Some(v) if v == candidate.version => Some(4),
                    Some(_) => None,
                }
            }
            _ => None,
        }
    }
}

/// Splits a header value on commas that are not inside a quoted string.
fn split_outside_quotes(value: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            c if c == sep && !in_quotes => {
                parts.push(&value[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    match v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => v.to_owned(),
    }
}

/// Parses one media type or range (`type/subtype; name=value ...`). Returns `None` when the
/// item is not of that shape.
pub fn parse_media_range(item: &str) -> Option<MediaRange> {
    let mut pieces = split_outside_quotes(item, ';').into_iter();
    let essence = pieces.next()?.trim();
    let (type_, subtype) = essence.split_once('/')?;
    let is_token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$&-^_.+*".contains(&c))
    };
    if !is_token(type_) || !is_token(subtype) {
        return None;
    }
    let mut range = MediaRange {
        type_: type_.to_ascii_lowercase(),
        subtype: subtype.to_ascii_lowercase(),
        params: Vec::new(),
        quality: 1000,
    };
    for param in pieces {
        let param = param.trim();
        if param.is_empty() {
            continue;
        }
        let (name, value) = param.split_once('=')?;
        let name = name.trim().to_ascii_lowercase();
        let value = unquote(value);
        if name == "q" {
            range.quality = parse_quality(&value)?;
        } else {
            range.params.push((name, value));
        }
    }
    Some(range)
}

/// `q` values are `0`, `1` or a decimal with up to three digits (RFC 9110 §12.4.2).
fn parse_quality(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Parses an `Accept` header. Malformed items are ignored, as RFC 9110 permits.
pub fn parse_accept(header: &str) -> Vec<MediaRange> {
    split_outside_quotes(header, ',')
        .into_iter()
        .filter(|item| !item.trim().is_empty())
        .filter_map(parse_media_range)
        .collect()
}

/// Picks the candidate the client accepts with the highest quality (earlier candidates win
/// ties). `None` means 406. A missing or empty `Accept` accepts the first candidate.
pub fn negotiate(accept: Option<&str>, candidates: &[MediaType]) -> Option<usize> {
    let header = match accept {
        Some(h) if !h.trim().is_empty() => h,
        _ => return (!candidates.is_empty()).then_some(0),
    };
    let ranges = parse_accept(header);
    let mut best: Option<(usize, u16)> = None;
    for (i, candidate) in candidates.iter().enumerate() {
        let quality = ranges
            .iter()
            .filter_map(|r| r.specificity(candidate).map(|s| (s, r.quality)))
            .max_by_key(|(s, _)| *s)
            .map(|(_, q)| q)
            .unwrap_or(0);
        if quality > 0 && best.is_none_or(|(_, q)| quality > q) {
            best = Some((i, quality));
        }
    }
    best.map(|(i, _)| i)
}

/// Whether a request `Content-Type` names `expected` (a missing version parameter means the
/// latest, other parameters such as `charset` are allowed).
pub fn content_type_is(header: Option<&str>, expected: &MediaType) -> bool {
    let Some(range) = header.and_then(parse_media_range) else {
        return false;
    };
    range.type_ != "*" && range.subtype != "*" && range.specificity(expected).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t21(accept: &str) -> bool {
        negotiate(Some(accept), &[MediaType::TAXII_21]).is_some()
    }

    #[test]
    fn accepts_the_taxii_21_type_in_its_many_spellings() {
        for ok in [
            "application/taxii+json;version=2.1",
            "application/taxii+json",
            "application/taxii+json; version=2.1",
            "Application/TAXII+JSON;Version=2.1",
            "text/html;q=0.9, application/taxii+json; version=2.1;q=0.5",
            "application/json, application/taxii+json;version=2.1",
            "application/taxii+json;version=\"2.1\"",
            "*/*",
            "application/*",
            "application/taxii+json;version=2.1,application/stix+json;version=2.1",
            "  application/taxii+json ;  version=2.1 ; q=1.0 ",
        ] {
            assert!(t21(ok), "{ok} should be accepted");
        }
        assert_eq!(negotiate(None, &[MediaType::TAXII_21]), Some(0));
        assert_eq!(negotiate(Some(""), &[MediaType::TAXII_21]), Some(0));
    }

    #[test]
    fn refuses_other_versions_and_families() {
        for bad in [
            "application/taxii+json;version=2.0",
            "application/taxii+json;version=2.2",
            "application/taxii+json;version=3.0",
            "application/stix+json;version=2.1",
            "application/json",
            "application/xml",
            "text/html",
            "application/taxii+json;q=0",
            "application/taxii+json;version=2.1;q=0, text/html",
            "*/*, application/taxii+json;q=0",
            "application/taxii+json;q=abc",
            "garbage",
        ] {
            assert!(!t21(bad), "{bad} should be refused");
        }
    }

    #[test]
    fn taxii_20_types_are_their_own_family() {
        let both = [MediaType::TAXII_21, MediaType::TAXII_20, MediaType::STIX_20];
        for (accept, chosen) in [
            ("application/vnd.oasis.taxii+json; version=2.0", Some(1)),
            ("application/vnd.oasis.taxii+json;version=2.0", Some(1)),
            ("application/vnd.oasis.taxii+json", Some(1)),
            ("application/vnd.oasis.stix+json; version=2.0", Some(2)),
            ("application/vnd.oasis.taxii+json; version=2.1", None),
            ("application/taxii+json;version=2.1", Some(0)),
            ("*/*", Some(0)),
            (
                "application/taxii+json;q=0.5, application/vnd.oasis.taxii+json; version=2.0",
                Some(1),
            ),
        ] {
            assert_eq!(negotiate(Some(accept), &both), chosen, "{accept}");
        }
        assert!(!t21("application/vnd.oasis.taxii+json; version=2.0"));
        assert!(content_type_is(Some(STIX_20), &MediaType::STIX_20));
        assert!(!content_type_is(Some(TAXII_21), &MediaType::STIX_20));
    }

    #[test]
    fn quality_values_are_parsed_strictly() {
        assert_eq!(parse_quality("0.5"), Some(500));
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("0"), Some(0));
        assert_eq!(parse_quality("0.001"), Some(1));
        assert_eq!(parse_quality("1.5"), None);
        assert_eq!(parse_quality("0.0001"), None);
        assert_eq!(parse_quality("-1"), None);
    }

    #[test]
    fn content_type_check_allows_extra_parameters_but_not_other_types() {
        let t = &MediaType::TAXII_21;
        assert!(content_type_is(
            Some("application/taxii+json;version=2.1"),
            t
        ));
        assert!(content_type_is(Some("application/taxii+json"), t));
        assert!(content_type_is(
            Some("application/taxii+json; version=2.1; charset=utf-8"),
            t
        ));
        assert!(content_type_is(
            Some("APPLICATION/TAXII+JSON;VERSION=2.1"),
            t
        ));
        assert!(!content_type_is(None, t));
        assert!(!content_type_is(Some("application/json"), t));
        assert!(!content_type_is(
            Some("application/stix+json;version=2.1"),
            t
        ));
        assert!(!content_type_is(
            Some("application/taxii+json;version=2.0"),
            t
        ));
        assert!(!content_type_is(Some("*/*"), t));
        assert!(!content_type_is(Some("application/*"), t));
    }
}
