//! Property tests of the parsers that read what clients send: query strings, Accept and
//! Content-Type headers, timestamps and envelope members. Whatever the input, they answer
//! (a value or an error) and never panic; what they accept obeys their contracts.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::Value;
use serde_json::value::RawValue;
use taxii_model::media::{MediaType, content_type_is, negotiate, parse_accept};
use taxii_model::{FilterSpec, NewObject, Params, Timestamp};

const NAMES: &[&str] = &[
    "match[type]",
    "match[id]",
    "match[version]",
    "match[spec_version]",
    "added_after",
    "limit",
    "next",
    "match[unknown]",
    "x",
];

/// Query strings made of TAXII parameter names and values that come close to valid ones.
fn taxii_query() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "[a-z0-9\\-]{0,12}(--[0-9a-f\\-]{0,36})?",
        "(first|last|all|2\\.0|2\\.1|0|1|-1|100|99999999999999999999)",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-9]{2}(\\.[0-9]{0,12})?Z?",
        "[%&=,;\\[\\] a-zA-Z0-9]{0,20}",
    ];
    prop::collection::vec((prop::sample::select(NAMES), value), 0..6).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn check_query(q: &str) {
    if let Ok(params) = Params::parse(Some(q)) {
        if let Ok(paging) = params.paging() {
            // A limit is positive when given.
            assert!(paging.limit.is_none_or(|l| l > 0), "{q}: {paging:?}");
        }
        for spec in [
            FilterSpec::listing(),
            FilterSpec::one_object(),
            FilterSpec::versions(),
            FilterSpec::delete(),
        ] {
            if let Ok(filter) = params.filter(spec) {
                // Equal filters bind `next` tokens alike: the fingerprint is stable.
                assert_eq!(filter.fingerprint(), filter.fingerprint());
            }
        }
    }
}

/// JSON values built from STIX-like members, nested a little.
fn stixish_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "(indicator|malware|relationship|ipv4-addr|bundle|x-custom|)(--[0-9a-f\\-]{0,40})?"
            .prop_map(Value::from),
        "(2\\.0|2\\.1|3\\.0|)".prop_map(Value::from),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-9]{2}(\\.[0-9]{0,12})?Z?"
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "type",
                        "id",
                        "spec_version",
                        "created",
                        "modified",
                        "name",
                        "x_extra",
                    ]),
                    inner
                ),
                0..7
            )
            .prop_map(|members| {
                Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_query_strings_never_panic(q in ".{0,120}") {
        check_query(&q);
    }

    #[test]
    fn query_strings_of_taxii_parameters_never_panic(q in taxii_query()) {
        check_query(&q);
    }

    #[test]
    fn accept_and_content_type_headers_never_panic(
        h in "(application/(taxii|stix)\\+json|\\*/\\*|text/html|[a-z/+*]{0,10})(;[ ]?[a-z]{0,8}=[\"0-9.a-z]{0,6}){0,3}(,.{0,20})?"
    ) {
        let _ = parse_accept(&h);
        let chosen = negotiate(Some(&h), &[MediaType::TAXII_21]);
        prop_assert!(chosen.is_none_or(|i| i == 0));
        let _ = content_type_is(Some(&h), &MediaType::TAXII_21);
    }

    #[test]
    fn arbitrary_headers_never_panic(h in ".{0,200}") {
        let _ = parse_accept(&h);
        let _ = negotiate(Some(&h), &[MediaType::TAXII_21]);
        let _ = content_type_is(Some(&h), &MediaType::TAXII_21);
    }

    #[test]
    fn timestamps_that_parse_print_in_the_taxii_form(t in "[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}T[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\\.[0-9]{0,12})?[Zz+]?|.{0,30}") {
        if let Ok(ts) = Timestamp::parse(&t) {
            let printed = ts.to_taxii_string();
            prop_assert_eq!(printed.len(), 27, "{}", printed);
            // The printed form is itself a valid timestamp, at microsecond precision.
            prop_assert_eq!(Timestamp::parse(&printed).unwrap().to_taxii_string(), printed);
        }
    }

    #[test]
    fn envelope_members_never_panic(v in stixish_json()) {
        let text = v.to_string();
        let raw: &RawValue = serde_json::from_str(&text).unwrap();
        if let Ok(object) = NewObject::from_raw(raw) {
            // An accepted object keeps the exact text it came with.
            prop_assert_eq!(&*object.json, text.as_str());
        }
    }
}
