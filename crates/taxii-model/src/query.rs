//! Query parameters: `added_after`, `limit`, `next` and the `match[...]` filters (TAXII 2.1
//! §3.4), parsed strictly once at the edge into [`Filter`] and [`Paging`].

use std::collections::BTreeMap;

use crate::object::SpecVersion;
use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query parameter '{0}' was given more than once")]
    Repeated(String),
    #[error("the query parameter '{param}' is invalid: {reason}")]
    Invalid { param: String, reason: String },
}

fn invalid(param: &str, reason: impl Into<String>) -> QueryError {
    QueryError::Invalid {
        param: param.to_owned(),
        reason: reason.into(),
    }
}

/// The decoded query string, each name at most once.
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// Decodes `application/x-www-form-urlencoded` pairs (so `match%5Btype%5D` is
    /// `match[type]`). A name given twice is an error (TAXII 2.1 §3.4).
    pub fn parse(raw: Option<&str>) -> Result<Self, QueryError> {
        let mut values = BTreeMap::new();
        for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            if name.is_empty() {
                continue;
            }
            let name = name.into_owned();
            if values.contains_key(&name) {
                return Err(QueryError::Repeated(name));
            }
            values.insert(name, value.into_owned());
        }
        Ok(Params { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// `limit` and `next`.
    pub fn paging(&self) -> Result<Paging, QueryError> {
        let limit = self.get("limit").map(parse_limit).transpose()?;
        let next = match self.get("next") {
            Some("") => return Err(invalid("next", "must not be empty")),
            other => other.map(str::to_owned),
        };
        Ok(Paging { limit, next })
    }

    /// Builds the filter of one endpoint. Parameters the endpoint does not take are ignored
    /// (not validated), as are unknown ones.
    pub fn filter(&self, spec: FilterSpec) -> Result<Filter, QueryError> {
        let added_after = self
            .get("added_after")
            .map(|v| {
                Timestamp::parse_saturating(v).map_err(|e| invalid("added_after", e.to_string()))
            })
            .transpose()?;
        let list = |name: &str| -> Result<Option<Vec<String>>, QueryError> {
            self.get(name)
                .map(|v| {
                    split_list(name, v).map(|items| items.into_iter().map(str::to_owned).collect())
                })
                .transpose()
        };
        let ids = if spec.ids { list("match[id]")? } else { None };
        let types = if spec.types {
            list("match[type]")?
        } else {
            None
        };
        let versions = match self.get("match[version]") {
            Some(v) if spec.versions => parse_version_select(v)?,
            _ => spec.default_versions.clone(),
        };
        let spec_versions = match self.get("match[spec_version]") {
            Some(v) if spec.spec_versions => SpecSelect::Only(parse_spec_versions(v)?),
            _ => spec.default_spec,
        };
        Ok(Filter {
            added_after,
            ids,
            types,
            versions,
            spec_versions,
        })
    }
}

/// Items a `match[…]` list may hold: an expensive query is refused up front (TAXII 2.1
/// Appendix B) rather than sent to the store as thousands of lookups.
pub const MAX_LIST_ITEMS: usize = 1000;

/// Splits a comma list; spaces around items are tolerated, empty items are not.
fn split_list<'a>(name: &str, value: &'a str) -> Result<Vec<&'a str>, QueryError> {
    if value.split(',').nth(MAX_LIST_ITEMS).is_some() {
        return Err(invalid(
            name,
            format!("more than {MAX_LIST_ITEMS} comma-separated items"),
        ));
    }
    value
        .split(',')
        .map(|item| {
            let item = item.trim();
            if item.is_empty() {
                Err(invalid(name, "empty item in comma-separated list"))
            } else {
                Ok(item)
            }
        })
        .collect()
}

fn parse_limit(v: &str) -> Result<u64, QueryError> {
    if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid("limit", "must be a positive integer"));
    }
    // Digits only: anything too large for u64 is simply "more than the server maximum".
    let n = v.parse::<u64>().unwrap_or(u64::MAX);
    if n == 0 {
        return Err(invalid("limit", "must be a positive integer"));
    }
    Ok(n)
}

fn parse_version_select(v: &str) -> Result<VersionSelect, QueryError> {
    const P: &str = "match[version]";
    let items = split_list(P, v)?;
    let mut select = Selection::default();
    let mut all = false;
    for item in &items {
        let repeated = match *item {
            "all" => std::mem::replace(&mut all, true),
            "first" => std::mem::replace(&mut select.first, true),
            "last" => std::mem::replace(&mut select.last, true),
            ts => {
                let t = Timestamp::parse_saturating(ts).map_err(|_| {
                    invalid(
                        P,
                        format!("'{ts}' is neither first, last, all nor a timestamp"),
                    )
                })?;
                if select.exact.contains(&t) {
                    true
                } else {
                    select.exact.push(t);
                    false
                }
            }
        };
        if repeated {
            return Err(invalid(P, format!("'{item}' is listed twice")));
        }
    }
    if all && items.len() > 1 {
        return Err(invalid(P, "'all' cannot be combined with other values"));
    }
    select.exact.sort();
    Ok(if all {
        VersionSelect::All
    } else {
        VersionSelect::Some(select)
    })
}

fn parse_spec_versions(v: &str) -> Result<Vec<SpecVersion>, QueryError> {
    const P: &str = "match[spec_version]";
    let mut out: Vec<SpecVersion> = Vec::new();
    for item in split_list(P, v)? {
        let sv = SpecVersion::parse(item)
            .ok_or_else(|| invalid(P, format!("'{item}' is not of the form major.minor")))?;
        if !out.contains(&sv) {
            out.push(sv);
        }
    }
    out.sort();
    Ok(out)
}

/// `limit` and `next` of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paging {
    pub limit: Option<u64>,
    pub next: Option<String>,
}

/// Which versions of each object a request selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSelect {
    All,
    Some(Selection),
}

/// A union of `first`, `last` and exact versions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub first: bool,
    pub last: bool,
    pub exact: Vec<Timestamp>,
}

impl VersionSelect {
    /// The default of the object and manifest endpoints: the latest version.
    pub fn last() -> Self {
        VersionSelect::Some(Selection {
            last: true,
            ..Selection::default()
        })
    }
}

/// Which STIX specification versions a request selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecSelect {
    /// The default for reads: per object, only its latest spec version.
    Latest,
    /// Every spec version (the default for delete).
    Any,
    Only(Vec<SpecVersion>),
}

/// What one endpoint takes, and its defaults.
#[derive(Debug, Clone)]
pub struct FilterSpec {
    pub ids: bool,
    pub types: bool,
    pub versions: bool,
    pub spec_versions: bool,
    pub default_versions: VersionSelect,
    pub default_spec: SpecSelect,
}

impl FilterSpec {
    /// GET objects and GET manifest: every filter.
    pub fn listing() -> Self {
        FilterSpec {
            ids: true,
            types: true,
            versions: true,
            spec_versions: true,
            default_versions: VersionSelect::last(),
            default_spec: SpecSelect::Latest,
        }
    }

    /// GET one object: `match[id]` and `match[type]` are ignored (the path names the object).
    pub fn one_object() -> Self {
        FilterSpec {
            ids: false,
            types: false,
            ..FilterSpec::listing()
        }
    }

    /// GET versions: every version of the latest spec version unless told otherwise.
    pub fn versions() -> Self {
        FilterSpec {
            ids: false,
            types: false,
            versions: false,
            spec_versions: true,
            default_versions: VersionSelect::All,
            default_spec: SpecSelect::Latest,
        }
    }

    /// TAXII 2.0 Get Objects and Get Manifest: `added_after`, `match[id]`, `match[type]` and
    /// `match[version]`. 2.1's `match[spec_version]` is no 2.0 parameter and is ignored.
    pub fn taxii20_listing() -> Self {
        FilterSpec {
            spec_versions: false,
            ..FilterSpec::listing()
        }
    }

    /// TAXII 2.0 Get an Object: only `match[version]` (the path names the object).
    pub fn taxii20_object() -> Self {
        FilterSpec {
            ids: false,
            types: false,
            ..FilterSpec::taxii20_listing()
        }
    }

    /// DELETE: without `match[version]` every version goes, of every spec version.
    pub fn delete() -> Self {
        FilterSpec {
            ids: false,
            types: false,
            versions: true,
            spec_versions: true,
            default_versions: VersionSelect::All,
            default_spec: SpecSelect::Any,
        }
    }
}

/// A parsed filter set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub added_after: Option<Timestamp>,
    pub ids: Option<Vec<String>>,
    pub types: Option<Vec<String>>,
    pub versions: VersionSelect,
    pub spec_versions: SpecSelect,
}

impl Filter {
    /// A canonical text of the filter (lists sorted), to bind a `next` token to the query
    /// that produced it.
    pub fn fingerprint(&self) -> String {
        let sorted = |l: &Option<Vec<String>>| {
            l.as_ref().map(|v| {
                let mut v = v.clone();
                v.sort();
                v.dedup();
                v.join(",")
            })
        };
        format!(
            "aa={:?};id={:?};type={:?};v={:?};sv={:?}",
            self.added_after.map(Timestamp::nanos),
            sorted(&self.ids),
            sorted(&self.types),
            self.versions,
            self.spec_versions
        )
    }

    pub fn matches_type(&self, type_: &str) -> bool {
        self.types
            .as_ref()
            .is_none_or(|ts| ts.iter().any(|t| t == type_))
    }

    pub fn matches_id(&self, id: &str) -> bool {
        self.ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|i| i == id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(q: &str) -> Result<Filter, QueryError> {
        Params::parse(Some(q))?.filter(FilterSpec::listing())
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert_eq!(
            Params::parse(Some("match[type]=a&match[type]=b")).unwrap_err(),
            QueryError::Repeated("match[type]".into())
        );
        assert!(
            Params::parse(Some(
                "added_after=2016-01-01T00:00:00Z&added_after=2017-01-01T00:00:00Z"
            ))
            .is_err()
        );
        assert!(Params::parse(Some("limit=1&limit=2")).is_err());
    }

    #[test]
    fn percent_encoded_names_and_values_are_decoded() {
        let f = listing("match%5Btype%5D=indicator%2Cmalware&added_after=2016-01-01T00%3A00%3A00Z")
            .unwrap();
        assert_eq!(f.types, Some(vec!["indicator".into(), "malware".into()]));
        assert_eq!(
            f.added_after,
            Some(Timestamp::parse("2016-01-01T00:00:00Z").unwrap())
        );
    }

    #[test]
    fn limit_must_be_a_positive_integer() {
        for bad in ["0", "-1", "abc", "1.5", "", "+1", " 1"] {
            let q = format!("limit={bad}");
            assert!(Params::parse(Some(&q)).unwrap().paging().is_err(), "{bad}");
        }
        let p = Params::parse(Some("limit=5")).unwrap().paging().unwrap();
        assert_eq!(p.limit, Some(5));
        let p = Params::parse(Some("limit=99999999999999999999999"))
            .unwrap()
            .paging()
            .unwrap();
        assert_eq!(p.limit, Some(u64::MAX));
    }

    #[test]
    fn version_lists_follow_the_spec() {
        assert_eq!(listing("").unwrap().versions, VersionSelect::last());
        assert_eq!(
            listing("match[version]=all").unwrap().versions,
            VersionSelect::All
        );
        let f = listing("match[version]=last, first").unwrap();
        assert_eq!(
            f.versions,
            VersionSelect::Some(Selection {
                first: true,
                last: true,
                exact: vec![]
            })
        );
        for bad in [
            "all,last",
            "last,last",
            "first,,last",
            "last,",
            "",
            "latest",
            "2016-01-01T00:00:00Z,2016-01-01T00:00:00.000Z",
        ] {
            assert!(listing(&format!("match[version]={bad}")).is_err(), "{bad}");
        }
        let f = listing("match[version]=2016-01-01T00:00:00.000Z,2017-01-01T00:00:00Z").unwrap();
        let VersionSelect::Some(sel) = f.versions else {
            panic!()
        };
        assert_eq!(sel.exact.len(), 2);
    }

    #[test]
    fn spec_versions_must_look_like_versions() {
        assert_eq!(listing("").unwrap().spec_versions, SpecSelect::Latest);
        let f = listing("match[spec_version]=2.1,2.0").unwrap();
        assert_eq!(
            f.spec_versions,
            SpecSelect::Only(vec![SpecVersion::V2_0, SpecVersion::V2_1])
        );
        for bad in ["2", "two", "2.1.1", "2.", ",2.1"] {
            assert!(
                listing(&format!("match[spec_version]={bad}")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_timestamps_and_empty_items_are_refused() {
        for bad in [
            "added_after=yesterday",
            "added_after=",
            "match[id]=a,,b",
            "match[type]=",
            "next=",
        ] {
            let r = Params::parse(Some(bad)).and_then(|p| {
                p.paging()?;
                p.filter(FilterSpec::listing())
            });
            assert!(r.is_err(), "{bad}");
        }
    }

    #[test]
    fn match_lists_hold_at_most_a_thousand_items() {
        let ids = |n: usize| {
            (0..n)
                .map(|i| format!("indicator--00000000-0000-4000-8000-{i:012}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let filter =
            |q: String| Params::parse(Some(&q)).and_then(|p| p.filter(FilterSpec::listing()));
        assert!(filter(format!("match[id]={}", ids(MAX_LIST_ITEMS))).is_ok());
        let e = filter(format!("match[id]={}", ids(MAX_LIST_ITEMS + 1))).unwrap_err();
        assert!(e.to_string().contains("more than 1000"), "{e}");
        let types = vec!["indicator"; MAX_LIST_ITEMS + 1].join(",");
        assert!(filter(format!("match[type]={types}")).is_err());
    }

    #[test]
    fn unknown_and_unused_parameters_are_ignored() {
        assert_eq!(
            listing("match[foo]=bar&foo=1").unwrap(),
            listing("").unwrap()
        );
        let p = Params::parse(Some("match[type]=!!!&match[id]=")).unwrap();
        assert!(p.filter(FilterSpec::one_object()).is_ok());
    }

    #[test]
    fn fingerprint_ignores_list_order_but_not_content() {
        let a = listing("match[type]=a,b").unwrap().fingerprint();
        let b = listing("match[type]=b,a").unwrap().fingerprint();
        let c = listing("match[type]=a").unwrap().fingerprint();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
