//! The store test suite: every backend runs these cases through [`run_all`], so the TAXII
//! behaviour of a store is pinned once. The in-memory store defines the reference semantics.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use taxii_model::query::{FilterSpec, Params};
use taxii_model::{Filter, NewObject, Position, SpecVersion, Timestamp};

use crate::{
    AddOutcome, ApiRootRecord, CollectionRecord, Grant, ListQuery, RangeQuery, StatusRecord, Store,
    StoredVersion, TokenRecord, UserRecord,
};

const ROOT: &str = "api1";
const COLL: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";

/// Runs every case, each on a fresh store from `make`.
pub async fn run_all<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    adds_get_strictly_increasing_dates_and_latest_is_default(setup(make().await).await).await;
    duplicates_succeed_and_conflicts_are_reported(setup(make().await).await).await;
    scos_get_a_stable_version(setup(make().await).await).await;
    filters_select_by_type_id_date_and_spec_version(setup(make().await).await).await;
    pages_never_skip_or_repeat_while_others_add(setup(make().await).await).await;
    deletes_remove_only_selected_versions(setup(make().await).await).await;
    the_default_selection_follows_every_write(setup(make().await).await).await;
    statuses_are_kept_per_api_root_and_purged_by_age(setup(make().await).await).await;
    collections_are_ordered_and_found_by_alias(setup(make().await).await).await;
    objects_round_trip_byte_for_byte(setup(make().await).await).await;
    imports_keep_their_dates_and_are_idempotent(setup(make().await).await).await;
    users_and_meta_values_are_kept(setup(make().await).await).await;
    tokens_are_kept_revoked_and_go_with_their_user(setup(make().await).await).await;
    removing_a_collection_removes_its_objects(setup(make().await).await).await;
    per_user_grants_are_kept(setup(make().await).await).await;
    concurrent_writers_never_lose_or_duplicate_a_version(setup(make().await).await).await;
    envelopes_are_stored_with_their_status_and_fail_alone(setup(make().await).await).await;
    item_ranges_count_and_cut_what_a_walk_of_the_pages_sees(setup(make().await).await).await;
}

/// The version texts of the first page of `collection` with the default filters (the store
/// upgrade tests read a hand-made old database with it).
pub async fn default_page_versions(
    store: &dyn Store,
    api_root: &str,
    collection: &str,
) -> Vec<String> {
    let filter = filter("");
    let query = ListQuery {
        filter: &filter,
        object_id: None,
        after: None,
        limit: 100,
    };
    let page = store.list(api_root, collection, &query).await.unwrap();
    page.items.into_iter().map(|v| v.version_text).collect()
}

async fn setup(store: Arc<dyn Store>) -> Arc<dyn Store> {
    let mut info = Map::new();
    info.insert("title".into(), "API root".into());
    store
        .put_api_root(ApiRootRecord {
            name: ROOT.into(),
            information: info,
        })
        .await
        .unwrap();
    store
        .put_collection(ROOT, collection(COLL, None))
        .await
        .unwrap();
    store
}

fn collection(id: &str, alias: Option<&str>) -> CollectionRecord {
    CollectionRecord {
        id: id.into(),
        title: format!("collection {id}"),
        description: None,
        alias: alias.map(str::to_owned),
        read: Grant::Everyone,
        write: Grant::Everyone,
        media_types: None,
        extra: Map::new(),
    }
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn obj(v: Value) -> NewObject {
    let raw: Box<RawValue> = serde_json::from_str(&v.to_string()).unwrap();
    NewObject::from_raw(&raw).unwrap()
}

fn indicator(n: u32, modified: &str) -> NewObject {
    obj(json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
        "created": "2016-01-01T00:00:00.000Z", "modified": modified,
        "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix",
        "valid_from": "2016-01-01T00:00:00Z"
    }))
}

fn filter(query: &str) -> Filter {
    Params::parse(Some(query))
        .unwrap()
        .filter(FilterSpec::listing())
        .unwrap()
}

async fn list(store: &dyn Store, f: &Filter, object_id: Option<&str>) -> Vec<(String, String)> {
    let q = ListQuery {
        filter: f,
        object_id,
        after: None,
        limit: 1000,
    };
    let page = store.list(ROOT, COLL, &q).await.unwrap();
    page.items
        .into_iter()
        .map(|v| (v.id, v.version_text))
        .collect()
}

async fn adds_get_strictly_increasing_dates_and_latest_is_default(store: Arc<dyn Store>) {
    let now = ts("2020-01-01T00:00:00Z");
    let objs = vec![
        indicator(1, "2016-01-01T00:00:00.000Z"),
        indicator(1, "2018-01-01T00:00:00.000Z"),
        indicator(1, "2017-01-01T00:00:00.000Z"),
        indicator(2, "2016-05-01T00:00:00.000Z"),
    ];
    let out = store.add_objects(ROOT, COLL, objs, now).await.unwrap();
    assert!(out.iter().all(|o| matches!(o, AddOutcome::Added { .. })));
    let all = filter("match[version]=all");
    let q = ListQuery {
        filter: &all,
        object_id: None,
        after: None,
        limit: 100,
    };
    let page = store.list(ROOT, COLL, &q).await.unwrap();
    let dates: Vec<Timestamp> = page.items.iter().map(|v| v.date_added()).collect();
    assert_eq!(dates.len(), 4);
    assert!(dates.windows(2).all(|w| w[0] < w[1]), "{dates:?}");
    assert!(dates[0] >= now);
    // Default: the greatest `modified`, not the last added.
    let latest = list(&*store, &filter(""), None).await;
    assert_eq!(
        latest,
        vec![
            (
                "indicator--00000000-0000-4000-8000-000000000001".into(),
                "2018-01-01T00:00:00.000Z".into()
            ),
            (
                "indicator--00000000-0000-4000-8000-000000000002".into(),
                "2016-05-01T00:00:00.000Z".into()
            ),
        ]
    );
    let first = list(&*store, &filter("match[version]=first"), None).await;
    assert_eq!(first[0].1, "2016-01-01T00:00:00.000Z");
    let exact = list(
        &*store,
        &filter("match[version]=2017-01-01T00:00:00Z"),
        None,
    )
    .await;
    assert_eq!(exact.len(), 1);
    assert_eq!(exact[0].1, "2017-01-01T00:00:00.000Z");
    // A later request gets later dates even if the clock went backwards.
    store
        .add_objects(
            ROOT,
            COLL,
            vec![indicator(3, "2016-01-01T00:00:00.000Z")],
            ts("2019-01-01T00:00:00Z"),
        )
        .await
        .unwrap();
    let page = store.list(ROOT, COLL, &q).await.unwrap();
    assert!(page.items[4].date_added() > dates[3]);
}

async fn duplicates_succeed_and_conflicts_are_reported(store: Arc<dyn Store>) {
    let now = ts("2020-01-01T00:00:00Z");
    let a = indicator(1, "2016-01-01T00:00:00.000Z");
    store
        .add_objects(ROOT, COLL, vec![a.clone()], now)
        .await
        .unwrap();
    let before = list(&*store, &filter("match[version]=all"), None).await;
    let changed = obj(json!({
        "type": "indicator", "spec_version": "2.1", "id": a.id,
        "created": "2016-01-01T00:00:00.000Z", "modified": "2016-01-01T00:00:00Z",
        "pattern": "[ipv4-addr:value = '10.9.9.9']", "pattern_type": "stix",
        "valid_from": "2016-01-01T00:00:00Z"
    }));
    // Same content with members reordered is the same version.
    let reordered: Value = serde_json::from_str(&a.json).unwrap();
    let out = store
        .add_objects(ROOT, COLL, vec![obj(reordered), changed], now)
        .await
        .unwrap();
    assert_eq!(
        out,
        vec![
            AddOutcome::AlreadyPresent {
                version: "2016-01-01T00:00:00.000Z".into()
            },
            AddOutcome::Conflict {
                version: "2016-01-01T00:00:00Z".into()
            },
        ]
    );
    assert_eq!(
        list(&*store, &filter("match[version]=all"), None).await,
        before
    );
}

async fn scos_get_a_stable_version(store: Arc<dyn Store>) {
    let sco = obj(
        json!({"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "1.2.3.4"}),
    );
    let now = ts("2020-01-01T00:00:01.5Z");
    let out = store
        .add_objects(ROOT, COLL, vec![sco.clone()], now)
        .await
        .unwrap();
    assert_eq!(
        out,
        vec![AddOutcome::Added {
            version: "2020-01-01T00:00:01.500000Z".into()
        }]
    );
    let again = store
        .add_objects(ROOT, COLL, vec![sco], ts("2021-01-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        again,
        vec![AddOutcome::AlreadyPresent {
            version: "2020-01-01T00:00:01.500000Z".into()
        }]
    );
    let listed = list(&*store, &filter("match[version]=all"), None).await;
    assert_eq!(listed.len(), 1);
    let v = store
        .list(
            ROOT,
            COLL,
            &ListQuery {
                filter: &filter(""),
                object_id: None,
                after: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(v.items[0].spec_version, taxii_model::SpecVersion::V2_1);
    assert_eq!(v.items[0].media_type, "application/stix+json;version=2.1");
}

async fn filters_select_by_type_id_date_and_spec_version(store: Arc<dyn Store>) {
    let t0 = ts("2020-01-01T00:00:00Z");
    let malware20 = obj(
        json!({"type": "malware", "id": "malware--fdd60b30-b67c-41e3-b0b9-f01faf20d111",
        "created": "2017-01-27T13:49:53.997Z", "modified": "2018-02-27T13:49:53.997Z", "name": "old"}),
    );
    let malware21 = obj(
        json!({"type": "malware", "spec_version": "2.1", "id": "malware--fdd60b30-b67c-41e3-b0b9-f01faf20d111",
        "created": "2017-01-27T13:49:53.997Z", "modified": "2017-01-27T13:49:53.997Z", "name": "new", "is_family": false}),
    );
    store
        .add_objects(
            ROOT,
            COLL,
            vec![indicator(1, "2016-01-01T00:00:00.000Z"), malware20],
            t0,
        )
        .await
        .unwrap();
    let t1 = ts("2020-06-01T00:00:00Z");
    store
        .add_objects(
            ROOT,
            COLL,
            vec![malware21, indicator(2, "2016-01-01T00:00:00.000Z")],
            t1,
        )
        .await
        .unwrap();
    let ids = |v: Vec<(String, String)>| {
        v.into_iter()
            .map(|(i, _)| i[..10].to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(list(&*store, &filter("match[type]=malware"), None).await),
        ["malware--f"]
    );
    assert_eq!(
        ids(list(&*store, &filter("match[type]=indicator,malware"), None).await),
        ["indicator-", "malware--f", "indicator-"]
    );
    assert_eq!(
        ids(list(&*store, &filter("match[type]=grouping"), None).await),
        Vec::<String>::new()
    );
    let by_id =
        filter("match[id]=indicator--00000000-0000-4000-8000-000000000002&match[type]=indicator");
    assert_eq!(list(&*store, &by_id, None).await.len(), 1);
    let both =
        filter("match[id]=indicator--00000000-0000-4000-8000-000000000002&match[type]=malware");
    assert!(list(&*store, &both, None).await.is_empty());
    // added_after is strict, and applies before version selection.
    let first_date = store
        .list(
            ROOT,
            COLL,
            &ListQuery {
                filter: &filter(""),
                object_id: None,
                after: None,
                limit: 1,
            },
        )
        .await
        .unwrap()
        .items[0]
        .date_added();
    let after = filter(&format!("added_after={first_date}"));
    assert_eq!(
        ids(list(&*store, &after, None).await),
        ["malware--f", "indicator-"]
    );
    // Default: only the latest spec version, even though the 2.0 version is modified later.
    let m = list(&*store, &filter("match[type]=malware"), None).await;
    assert_eq!(m[0].1, "2017-01-27T13:49:53.997Z");
    let m20 = list(
        &*store,
        &filter("match[type]=malware&match[spec_version]=2.0"),
        None,
    )
    .await;
    assert_eq!(m20[0].1, "2018-02-27T13:49:53.997Z");
    let both = list(
        &*store,
        &filter("match[type]=malware&match[spec_version]=2.0,2.1&match[version]=all"),
        None,
    )
    .await;
    assert_eq!(both.len(), 2);
    // One object: the same rules, restricted to its id.
    let one = list(
        &*store,
        &filter("match[version]=all"),
        Some("malware--fdd60b30-b67c-41e3-b0b9-f01faf20d111"),
    )
    .await;
    assert_eq!(one.len(), 1);
}

async fn pages_never_skip_or_repeat_while_others_add(store: Arc<dyn Store>) {
    let base = ts("2020-01-01T00:00:00Z");
    let first: Vec<NewObject> = (0..25)
        .map(|n| indicator(n, "2016-01-01T00:00:00.000Z"))
        .collect();
    store.add_objects(ROOT, COLL, first, base).await.unwrap();
    let f = filter("");
    let mut seen = Vec::new();
    let mut after: Option<Position> = None;
    let mut round = 0u32;
    loop {
        let q = ListQuery {
            filter: &f,
            object_id: None,
            after,
            limit: 7,
        };
        let page = store.list(ROOT, COLL, &q).await.unwrap();
        assert!(page.items.len() <= 7);
        seen.extend(page.items.iter().map(|v| v.id.clone()));
        after = page.items.last().map(|v| v.position).or(after);
        // Another client adds new objects and a newer version of an object already seen.
        if round < 2 {
            let more = vec![
                indicator(100 + round, "2016-01-01T00:00:00.000Z"),
                indicator(0, &format!("2017-0{}-01T00:00:00.000Z", round + 1)),
            ];
            store.add_objects(ROOT, COLL, more, base).await.unwrap();
        }
        round += 1;
        if !page.more {
            break;
        }
    }
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    // 25 originals + 2 new ids; the newer versions of object 0 re-appear at the end once.
    assert_eq!(unique.len(), 27);
    assert_eq!(
        seen.iter().filter(|i| i.ends_with("000000000000")).count(),
        2
    );
    assert_eq!(seen.len(), 28);
}

async fn deletes_remove_only_selected_versions(store: Arc<dyn Store>) {
    let now = ts("2020-01-01T00:00:00Z");
    let id = "indicator--00000000-0000-4000-8000-000000000001";
    let versions = [
        "2016-01-01T00:00:00.000Z",
        "2017-01-01T00:00:00.000Z",
        "2018-01-01T00:00:00.000Z",
    ];
    store
        .add_objects(
            ROOT,
            COLL,
            versions.iter().map(|v| indicator(1, v)).collect(),
            now,
        )
        .await
        .unwrap();
    let del = |q: &str| {
        Params::parse(Some(q))
            .unwrap()
            .filter(FilterSpec::delete())
            .unwrap()
    };
    assert_eq!(
        store
            .delete_versions(ROOT, COLL, id, &del("match[version]=2017-01-01T00:00:00Z"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .delete_versions(ROOT, COLL, id, &del("match[version]=2017-01-01T00:00:00Z"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .delete_versions(ROOT, COLL, id, &del("match[version]=last"))
            .await
            .unwrap(),
        1
    );
    let left = list(&*store, &filter("match[version]=all"), None).await;
    assert_eq!(left, vec![(id.to_owned(), versions[0].to_owned())]);
    assert!(store.object_exists(ROOT, COLL, id).await.unwrap());
    assert_eq!(
        store
            .delete_versions(ROOT, COLL, id, &del(""))
            .await
            .unwrap(),
        1
    );
    assert!(!store.object_exists(ROOT, COLL, id).await.unwrap());
    assert!(
        list(&*store, &filter("match[version]=all"), None)
            .await
            .is_empty()
    );
}

/// The SQL stores keep, per version, whether the default filters select it; these writes
/// each move that answer (older versions arriving later, `added_after` dropping the winner,
/// deleting the winner or its spec version, imports).
async fn the_default_selection_follows_every_write(store: Arc<dyn Store>) {
    let id = "indicator--00000000-0000-4000-8000-000000000001";
    let add = |objects: Vec<NewObject>, at: &str| {
        let store = Arc::clone(&store);
        let at = ts(at);
        async move { store.add_objects(ROOT, COLL, objects, at).await.unwrap() }
    };
    let versions = |q: &str| {
        let store = Arc::clone(&store);
        let f = filter(q);
        async move {
            list(&*store, &f, None)
                .await
                .into_iter()
                .map(|(_, v)| v)
                .collect::<Vec<_>>()
        }
    };
    add(
        vec![indicator(1, "2018-01-01T00:00:00.000Z")],
        "2020-01-01T00:00:00Z",
    )
    .await;
    add(
        vec![indicator(1, "2016-01-01T00:00:00.000Z")],
        "2020-02-01T00:00:00Z",
    )
    .await;
    assert_eq!(versions("").await, ["2018-01-01T00:00:00.000Z"]);
    // Only the older version was added after this instant, so it is the latest that is left.
    assert_eq!(
        versions("added_after=2020-01-15T00:00:00Z").await,
        ["2016-01-01T00:00:00.000Z"]
    );
    assert_eq!(
        versions("match[version]=all").await,
        ["2018-01-01T00:00:00.000Z", "2016-01-01T00:00:00.000Z"]
    );
    let del = Params::parse(Some("match[version]=2018-01-01T00:00:00.000Z"))
        .unwrap()
        .filter(FilterSpec::delete())
        .unwrap();
    assert_eq!(
        store.delete_versions(ROOT, COLL, id, &del).await.unwrap(),
        1
    );
    assert_eq!(versions("").await, ["2016-01-01T00:00:00.000Z"]);
    let imported = StoredVersion {
        id: id.into(),
        type_: "indicator".into(),
        version: ts("2019-01-01T00:00:00.000Z"),
        version_text: "2019-01-01T00:00:00.000Z".into(),
        spec_version: taxii_model::SpecVersion::V2_1,
        media_type: "application/stix+json;version=2.1".into(),
        position: Position {
            date_added: ts("2021-01-01T00:00:00Z"),
            seq: 0,
        },
        json: format!(
            r#"{{"type":"indicator","id":"{id}","modified":"2019-01-01T00:00:00.000Z"}}"#
        )
        .into(),
    };
    assert_eq!(
        store
            .import_versions(ROOT, COLL, vec![imported])
            .await
            .unwrap(),
        1
    );
    assert_eq!(versions("").await, ["2019-01-01T00:00:00.000Z"]);
    // A 2.0 version modified later loses to the 2.1 version until that one is deleted.
    let m = "malware--fdd60b30-b67c-41e3-b0b9-f01faf20d111";
    add(
        vec![obj(
            json!({"type": "malware", "spec_version": "2.1", "id": m, "is_family": false,
            "created": "2017-01-27T13:49:53.997Z", "modified": "2017-01-27T13:49:53.997Z"}),
        )],
        "2021-02-01T00:00:00Z",
    )
    .await;
    add(
        vec![obj(json!({"type": "malware", "id": m,
            "created": "2017-01-27T13:49:53.997Z", "modified": "2018-02-27T13:49:53.997Z"}))],
        "2021-03-01T00:00:00Z",
    )
    .await;
    assert_eq!(
        versions("match[type]=malware&match[version]=all").await,
        ["2017-01-27T13:49:53.997Z"]
    );
    let del21 = Params::parse(Some("match[spec_version]=2.1"))
        .unwrap()
        .filter(FilterSpec::delete())
        .unwrap();
    assert_eq!(
        store.delete_versions(ROOT, COLL, m, &del21).await.unwrap(),
        1
    );
    assert_eq!(
        versions("match[type]=malware").await,
        ["2018-02-27T13:49:53.997Z"]
    );
    assert_eq!(
        versions("match[type]=malware&match[version]=all").await,
        ["2018-02-27T13:49:53.997Z"]
    );
}

async fn statuses_are_kept_per_api_root_and_purged_by_age(store: Arc<dyn Store>) {
    let status = |id: &str, created: &str| StatusRecord {
        api_root: ROOT.into(),
        id: id.into(),
        owner: Some("alice".into()),
        created: ts(created),
        json: format!(r#"{{"id":"{id}","status":"complete"}}"#),
    };
    store
        .put_status(status("s-old", "2020-01-01T00:00:00Z"))
        .await
        .unwrap();
    store
        .put_status(status("s-new", "2020-01-03T00:00:00Z"))
        .await
        .unwrap();
    let got = store.status(ROOT, "s-old").await.unwrap().unwrap();
    assert_eq!(got.json, r#"{"id":"s-old","status":"complete"}"#);
    assert_eq!(got.owner.as_deref(), Some("alice"));
    assert!(store.status("other-root", "s-old").await.unwrap().is_none());
    assert_eq!(
        store
            .purge_statuses(ts("2020-01-02T00:00:00Z"))
            .await
            .unwrap(),
        1
    );
    assert!(store.status(ROOT, "s-old").await.unwrap().is_none());
    assert!(store.status(ROOT, "s-new").await.unwrap().is_some());
}

async fn collections_are_ordered_and_found_by_alias(store: Arc<dyn Store>) {
    store
        .put_collection(
            ROOT,
            collection("0a000000-0000-4000-8000-000000000000", Some("first")),
        )
        .await
        .unwrap();
    store
        .put_collection(
            ROOT,
            collection("ff000000-0000-4000-8000-000000000000", None),
        )
        .await
        .unwrap();
    let ids: Vec<String> = store
        .collections(ROOT)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert_eq!(ids.len(), 3);
    // One alias names one collection.
    let clash = collection("0c000000-0000-4000-8000-000000000000", Some("first"));
    assert!(store.put_collection(ROOT, clash).await.is_err());
    let by_alias = store.collection(ROOT, "first").await.unwrap().unwrap();
    assert_eq!(by_alias.id, "0a000000-0000-4000-8000-000000000000");
    assert!(store.collection(ROOT, "nope").await.unwrap().is_none());
    assert!(store.collection("nope", COLL).await.unwrap().is_none());
}

async fn objects_round_trip_byte_for_byte(store: Arc<dyn Store>) {
    let text = r#"{ "type":"x-acme-widget","spec_version":"2.1","id":"x-acme-widget--6ba7b810-9dad-41d1-80b4-00c04fd430c8","created":"2016-01-01T00:00:00.123456789Z","modified":"2016-01-01T00:00:00.123456789Z","x_acme":{"nested":[1,2.50,"é"]} }"#;
    let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
    let o = NewObject::from_raw(&raw).unwrap();
    store
        .add_objects(ROOT, COLL, vec![o], ts("2020-01-01T00:00:00Z"))
        .await
        .unwrap();
    let f = filter("");
    let page = store
        .list(
            ROOT,
            COLL,
            &ListQuery {
                filter: &f,
                object_id: None,
                after: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(&*page.items[0].json, text);
    assert_eq!(page.items[0].version_text, "2016-01-01T00:00:00.123456789Z");
}

async fn all_versions(store: &dyn Store) -> Vec<StoredVersion> {
    let f = Params::parse(Some("match[version]=all&match[spec_version]=2.0,2.1"))
        .unwrap()
        .filter(FilterSpec::listing())
        .unwrap();
    let q = ListQuery {
        filter: &f,
        object_id: None,
        after: None,
        limit: 10_000,
    };
    store.list(ROOT, COLL, &q).await.unwrap().items
}

async fn imports_keep_their_dates_and_are_idempotent(store: Arc<dyn Store>) {
    let version = |id: &str, v: &str, added: &str| StoredVersion {
        id: id.into(),
        type_: "indicator".into(),
        version: ts(v),
        version_text: v.into(),
        spec_version: taxii_model::SpecVersion::V2_1,
        media_type: "application/stix+json;version=2.1".into(),
        position: Position {
            date_added: ts(added),
            seq: 0,
        },
        json: format!(r#"{{"type":"indicator","id":"{id}","modified":"{v}"}}"#).into(),
    };
    let a = "indicator--00000000-0000-4000-8000-00000000000a";
    let batch = vec![
        version(a, "2016-01-01T00:00:00.000Z", "2016-02-01T00:00:00.123456Z"),
        version(a, "2017-01-01T00:00:00Z", "2016-02-01T00:00:00.123456Z"),
        version(
            "indicator--00000000-0000-4000-8000-00000000000b",
            "2015-01-01T00:00:00.000Z",
            "2015-06-01T00:00:00Z",
        ),
    ];
    assert_eq!(
        store
            .import_versions(ROOT, COLL, batch.clone())
            .await
            .unwrap(),
        3
    );
    assert_eq!(store.import_versions(ROOT, COLL, batch).await.unwrap(), 0);
    let stored = all_versions(&*store).await;
    let seen: Vec<(String, String, String)> = stored
        .iter()
        .map(|v| {
            (
                v.id[v.id.len() - 10..].to_owned(),
                v.version_text.clone(),
                v.date_added().to_taxii_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "000000000b".to_owned(),
                "2015-01-01T00:00:00.000Z".to_owned(),
                "2015-06-01T00:00:00.000000Z".to_owned()
            ),
            (
                "000000000a".to_owned(),
                "2016-01-01T00:00:00.000Z".to_owned(),
                "2016-02-01T00:00:00.123456Z".to_owned()
            ),
            (
                "000000000a".to_owned(),
                "2017-01-01T00:00:00Z".to_owned(),
                "2016-02-01T00:00:00.123456Z".to_owned()
            ),
        ]
    );
    // A later add still gets a date after everything imported.
    store
        .add_objects(
            ROOT,
            COLL,
            vec![indicator(9, "2016-01-01T00:00:00.000Z")],
            ts("2010-01-01T00:00:00Z"),
        )
        .await
        .unwrap();
    let last = all_versions(&*store).await.pop().unwrap();
    assert!(last.date_added() > ts("2016-02-01T00:00:00.123456Z"));
}

async fn users_and_meta_values_are_kept(store: Arc<dyn Store>) {
    assert!(store.users().await.unwrap().is_empty());
    let alice = UserRecord {
        name: "alice".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$abc$def".into(),
    };
    store.put_user(alice.clone()).await.unwrap();
    store
        .put_user(UserRecord {
            name: "bob".into(),
            password_hash: "$argon2id$x".into(),
        })
        .await
        .unwrap();
    assert_eq!(store.user("alice").await.unwrap(), Some(alice));
    let changed = UserRecord {
        name: "alice".into(),
        password_hash: "$argon2id$new".into(),
    };
    store.put_user(changed.clone()).await.unwrap();
    assert_eq!(store.user("alice").await.unwrap(), Some(changed));
    assert_eq!(store.users().await.unwrap().len(), 2);
    let rival = UserRecord {
        name: "alice".into(),
        password_hash: "$argon2id$rival".into(),
    };
    assert!(!store.insert_user(rival).await.unwrap());
    assert_eq!(
        store.user("alice").await.unwrap().unwrap().password_hash,
        "$argon2id$new"
    );
    let carol = UserRecord {
        name: "carol".into(),
        password_hash: "$argon2id$c".into(),
    };
    assert!(store.insert_user(carol.clone()).await.unwrap());
    assert_eq!(store.user("carol").await.unwrap(), Some(carol));
    assert!(store.remove_user("carol").await.unwrap());
    assert!(store.remove_user("bob").await.unwrap());
    assert!(!store.remove_user("bob").await.unwrap());
    assert!(store.user("bob").await.unwrap().is_none());
    assert!(store.meta("k").await.unwrap().is_none());
    store.set_meta("k", "v1").await.unwrap();
    store.set_meta("k", "v2").await.unwrap();
    assert_eq!(store.meta("k").await.unwrap().as_deref(), Some("v2"));
    assert_eq!(store.init_meta("k", "v3").await.unwrap(), "v2");
    assert_eq!(store.init_meta("fresh", "f1").await.unwrap(), "f1");
    assert_eq!(store.init_meta("fresh", "f2").await.unwrap(), "f1");
    assert_eq!(store.meta("fresh").await.unwrap().as_deref(), Some("f1"));
}

async fn tokens_are_kept_revoked_and_go_with_their_user(store: Arc<dyn Store>) {
    assert!(store.tokens().await.unwrap().is_empty());
    let token = |id: &str, user: &str, expires: Option<&str>| TokenRecord {
        id: id.into(),
        user: user.into(),
        secret_sha256: format!("{id:0>64}"),
        label: expires.is_none().then(|| format!("label of {id}")),
        created: ts("2026-01-02T03:04:05.123456789Z"),
        expires: expires.map(ts),
    };
    let (a1, a2, b1) = (
        token("a1", "alice", None),
        token("a2", "alice", Some("2027-01-01T00:00:00.000000001Z")),
        token("b1", "bob", None),
    );
    store
        .put_user(UserRecord {
            name: "alice".into(),
            password_hash: "$argon2id$a".into(),
        })
        .await
        .unwrap();
    for t in [&b1, &a2, &a1] {
        assert!(store.insert_token(t.clone()).await.unwrap());
    }
    let rival = token("a1", "mallory", None);
    assert!(!store.insert_token(rival).await.unwrap());
    assert_eq!(store.token("a1").await.unwrap(), Some(a1.clone()));
    assert_eq!(store.token("a2").await.unwrap(), Some(a2.clone()));
    assert_eq!(store.token("zz").await.unwrap(), None);
    assert_eq!(
        store.tokens().await.unwrap(),
        vec![a1.clone(), a2.clone(), b1.clone()]
    );
    assert!(store.remove_token("a2").await.unwrap());
    assert!(!store.remove_token("a2").await.unwrap());
    assert_eq!(store.token("a2").await.unwrap(), None);
    // Removing a user revokes their tokens; a token of a user the store does not keep (one of
    // the configuration file) stays.
    assert!(store.remove_user("alice").await.unwrap());
    assert_eq!(store.tokens().await.unwrap(), vec![b1]);
}

async fn removing_a_collection_removes_its_objects(store: Arc<dyn Store>) {
    let before = store.count_versions().await.unwrap();
    store
        .add_objects(
            ROOT,
            COLL,
            vec![
                indicator(1, "2016-01-01T00:00:00.000Z"),
                indicator(1, "2017-01-01T00:00:00.000Z"),
            ],
            ts("2020-01-01T00:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(store.count_versions().await.unwrap(), before + 2);
    assert!(store.remove_collection(ROOT, COLL).await.unwrap());
    assert_eq!(store.count_versions().await.unwrap(), before);
    assert!(!store.remove_collection(ROOT, COLL).await.unwrap());
    assert!(store.collection(ROOT, COLL).await.unwrap().is_none());
    // Re-created under the same id, it starts empty.
    store
        .put_collection(ROOT, collection(COLL, None))
        .await
        .unwrap();
    assert!(all_versions(&*store).await.is_empty());
    let status = StatusRecord {
        api_root: ROOT.into(),
        id: "s1".into(),
        owner: None,
        created: ts("2020-01-01T00:00:00Z"),
        json: "{}".into(),
    };
    store.put_status(status.clone()).await.unwrap();
    assert_eq!(store.statuses(ROOT).await.unwrap(), vec![status]);
}

async fn per_user_grants_are_kept(store: Arc<dyn Store>) {
    let mut c = collection("0b000000-0000-4000-8000-000000000000", Some("shared"));
    c.read = Grant::Users(["alice".to_owned(), "bob".to_owned()].into());
    c.write = Grant::Nobody;
    c.media_types = Some(vec!["application/stix+json;version=2.1".into()]);
    c.description = Some("for partners".into());
    c.extra.insert("x_acme_tier".into(), json!(2));
    store.put_collection(ROOT, c.clone()).await.unwrap();
    assert_eq!(store.collection(ROOT, "shared").await.unwrap(), Some(c));
}

async fn concurrent_writers_never_lose_or_duplicate_a_version(store: Arc<dyn Store>) {
    // Four writers; each posts its own objects and, in every envelope, the same shared ones.
    let mut tasks = Vec::new();
    for w in 0..4u32 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for e in 0..10u32 {
                let mut batch: Vec<NewObject> = (0..5)
                    .map(|i| indicator(1000 * (w + 1) + 10 * e + i, "2016-01-01T00:00:00.000Z"))
                    .collect();
                batch.push(indicator(1, "2016-01-01T00:00:00.000Z"));
                batch.push(indicator(2, &format!("2017-01-01T00:00:0{e}.000Z")));
                outcomes.extend(
                    store
                        .add_objects(ROOT, COLL, batch, ts("2020-01-01T00:00:00Z"))
                        .await
                        .unwrap(),
                );
            }
            outcomes
        }));
    }
    let mut added = 0;
    for t in tasks {
        for o in t.await.unwrap() {
            match o {
                AddOutcome::Added { .. } => added += 1,
                AddOutcome::AlreadyPresent { .. } => {}
                AddOutcome::Conflict { version } => panic!("unexpected conflict at {version}"),
            }
        }
    }
    // 200 own objects + 1 shared + 10 versions of another shared object, each stored once.
    assert_eq!(added, 211);
    let stored = all_versions(&*store).await;
    assert_eq!(stored.len(), 211);
    let dates: std::collections::BTreeSet<Timestamp> =
        stored.iter().map(StoredVersion::date_added).collect();
    assert_eq!(dates.len(), 211, "date_added values must be unique");
}

async fn envelopes_are_stored_with_their_status_and_fail_alone(store: Arc<dyn Store>) {
    // Four writers at once (the SQLite store commits waiting envelopes together); every fifth
    // envelope of writer 0 names a collection that does not exist and must fail on its own.
    let now = ts("2020-01-01T00:00:00Z");
    let mut tasks = Vec::new();
    for w in 0..4u32 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for e in 0..10u32 {
                let mut batch: Vec<NewObject> = (0..5)
                    .map(|i| indicator(1000 * (w + 1) + 10 * e + i, "2016-01-01T00:00:00.000Z"))
                    .collect();
                batch.push(indicator(1, "2016-01-01T00:00:00.000Z"));
                let id = format!("w{w}-e{e}");
                let target = if w == 0 && e % 5 == 0 {
                    "no-such-collection"
                } else {
                    COLL
                };
                let status_id = id.clone();
                let status_of: crate::StatusOf = Box::new(move |outcomes: &[AddOutcome]| {
                    let added = outcomes
                        .iter()
                        .filter(|o| matches!(o, AddOutcome::Added { .. }))
                        .count();
                    StatusRecord {
                        api_root: ROOT.into(),
                        id: status_id,
                        owner: Some("writer".into()),
                        created: now,
                        json: format!("{{\"added\":{added},\"total\":{}}}", outcomes.len()),
                    }
                });
                let answer = store
                    .add_envelope(ROOT, target, batch, now, status_of)
                    .await;
                answers.push((id, target == COLL, answer));
            }
            answers
        }));
    }
    let mut added = 0;
    for t in tasks {
        for (id, valid, answer) in t.await.unwrap() {
            let kept = store.status(ROOT, &id).await.unwrap();
            if !valid {
                assert!(answer.is_err(), "{id} went to a missing collection");
                assert_eq!(kept, None, "{id} failed, so it has no status");
                continue;
            }
            let status = answer.unwrap();
            assert_eq!(
                kept.as_ref(),
                Some(&status),
                "{id}'s status is stored as answered"
            );
            let v: Value = serde_json::from_str(&status.json).unwrap();
            assert_eq!(v["total"], 6, "{id}");
            added += v["added"].as_u64().unwrap();
        }
    }
    // 38 envelopes of 5 own objects, plus the shared one once.
    assert_eq!(added, 38 * 5 + 1);
    let stored = all_versions(&*store).await;
    assert_eq!(stored.len() as u64, added);
    let dates: std::collections::BTreeSet<Timestamp> =
        stored.iter().map(StoredVersion::date_added).collect();
    assert_eq!(
        dates.len() as u64,
        added,
        "date_added values must be unique"
    );
}

/// A STIX 2.0 malware object (no `spec_version`).
fn malware_20(n: u32, modified: &str) -> NewObject {
    obj(json!({
        "type": "malware", "id": format!("malware--00000000-0000-4000-8000-{n:012}"),
        "created": "2016-01-01T00:00:00.000Z", "modified": modified,
        "name": format!("malware {n}"), "labels": ["trojan"]
    }))
}

/// TAXII 2.0's item ranges, however a store counts and cuts them, are what walking `list`
/// page by page finds: the same items in the same order, and the same total.
async fn item_ranges_count_and_cut_what_a_walk_of_the_pages_sees(store: Arc<dyn Store>) {
    let mixed_21 = obj(json!({
        "type": "malware", "spec_version": "2.1", "id": "malware--00000000-0000-4000-8000-000000000001",
        "created": "2016-01-01T00:00:00.000Z", "modified": "2016-06-01T00:00:00.000Z",
        "name": "moved on to 2.1", "is_family": false
    }));
    let batches = vec![
        vec![
            indicator(1, "2016-01-01T00:00:00.000Z"),
            malware_20(1, "2017-01-01T00:00:00.000Z"),
            malware_20(2, "2016-01-01T00:00:00.000Z"),
        ],
        vec![
            indicator(1, "2016-02-01T00:00:00.000Z"),
            malware_20(3, "2016-01-01T00:00:00.000Z"),
            indicator(2, "2016-01-01T00:00:00.000Z"),
            mixed_21,
        ],
        vec![
            malware_20(2, "2016-03-01T00:00:00.000Z"),
            malware_20(4, "2016-01-01T00:00:00.000Z"),
        ],
    ];
    for (i, batch) in batches.into_iter().enumerate() {
        let at = ts(&format!("2020-01-0{}T00:00:00Z", i + 1));
        store.add_objects(ROOT, COLL, batch, at).await.unwrap();
    }
    let specs = [None, Some(SpecVersion::V2_0), Some(SpecVersion::V2_1)];
    for query in [
        "",
        "match[version]=all",
        "match[version]=first",
        "match[type]=malware",
        "match[type]=indicator,malware&match[version]=all",
        "added_after=2020-01-01T00:00:00Z",
        "match[id]=malware--00000000-0000-4000-8000-000000000002&match[version]=all",
    ] {
        let f = filter(query);
        for spec in specs {
            for (offset, limit) in [(0, 100), (0, 2), (1, 2), (3, 10), (6, 1), (100, 5)] {
                let q = RangeQuery {
                    filter: &f,
                    object_id: None,
                    spec,
                    offset,
                    limit,
                };
                let got = store.list_range(ROOT, COLL, &q).await.unwrap();
                let walked = crate::walk_range(&*store, ROOT, COLL, &q).await.unwrap();
                assert_eq!(got, walked, "{query} {spec:?} {offset}+{limit}");
            }
        }
    }
    // The walk itself: by default the latest version of each object's latest spec version;
    // the object that moved on to STIX 2.1 is no STIX 2.0 item.
    let f = filter("");
    let q = |spec, offset, limit| RangeQuery {
        filter: &f,
        object_id: None,
        spec,
        offset,
        limit,
    };
    let all = store
        .list_range(ROOT, COLL, &q(None, 0, 100))
        .await
        .unwrap();
    assert_eq!(all.total, 6);
    let only_20 = store
        .list_range(ROOT, COLL, &q(Some(SpecVersion::V2_0), 0, 100))
        .await
        .unwrap();
    assert_eq!(only_20.total, 3);
    let names: Vec<String> = only_20
        .items
        .iter()
        .map(|v| v.id[33..].to_owned())
        .collect();
    assert_eq!(names, ["000000000003", "000000000002", "000000000004"]);
    let cut = store
        .list_range(ROOT, COLL, &q(Some(SpecVersion::V2_0), 1, 1))
        .await
        .unwrap();
    assert_eq!((cut.total, cut.items.len()), (3, 1));
    assert_eq!(cut.items[0], only_20.items[1]);
}
