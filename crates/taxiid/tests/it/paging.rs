//! Pagination (TAXII 2.1 §3.5): checklist PAGE, HDR-4/HDR-5 and SORT-3/SORT-4, mostly over
//! hundreds of indicators posted to the sample's empty collection.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::objects::*;

/// Posts indicators `from..from + n` (one version each) to the empty collection.
async fn fill(s: &TestServer, from: u32, n: u32) -> Vec<Value> {
    let objects: Vec<Value> = (from..from + n)
        .map(|i| indicator(i, "2020-01-01T00:00:00.000Z"))
        .collect();
    for chunk in objects.chunks(50) {
        add_ok(s, EMPTY, chunk).await;
    }
    objects
}

/// One page as fetched.
struct Page {
    body: Value,
    first: Option<String>,
    last: Option<String>,
}

/// Follows `next` from `url` (which already carries its query, possibly empty) until `more`
/// is not true. Every page is a 200; every page with `more: true` carries `next`.
async fn walk(s: &TestServer, url: &str) -> Vec<Page> {
    let sep = if url.contains('?') { '&' } else { '?' };
    let mut pages = Vec::new();
    let mut current = url.to_owned();
    for _ in 0..1000 {
        let r = s.get(&current).await;
        assert_eq!(r.status, 200, "{current}: {}", r.text);
        assert_t21(&r);
        let body = r.json();
        let more = body["more"] == true;
        let next = body["next"].as_str().map(str::to_owned);
        pages.push(Page {
            first: r.header("x-taxii-date-added-first").map(str::to_owned),
            last: r.header("x-taxii-date-added-last").map(str::to_owned),
            body,
        });
        if !more {
            return pages;
        }
        let next = next.expect("more: true without next");
        current = format!("{url}{sep}next={next}");
    }
    panic!("no end after 1000 pages")
}

fn records(pages: &[Page]) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|p| p.body["objects"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// Every manifest page's headers are its first and last record's `date_added`, and each page
/// starts strictly after the previous one ended.
fn assert_manifest_page_headers(pages: &[Page]) {
    let mut previous_last: Option<&str> = None;
    for p in pages {
        let recs = p.body["objects"].as_array().unwrap();
        let first = recs[0]["date_added"].as_str().unwrap();
        let last = recs.last().unwrap()["date_added"].as_str().unwrap();
        assert_eq!(p.first.as_deref(), Some(first));
        assert_eq!(p.last.as_deref(), Some(last));
        assert!(is_taxii_timestamp(first) && is_taxii_timestamp(last));
        if let Some(prev) = previous_last {
            assert!(
                first > prev,
                "page starts at {first}, previous ended at {prev}"
            );
        }
        previous_last = Some(last);
    }
}

#[tokio::test]
async fn a_result_larger_than_the_page_has_more_true() {
    let s = TestServer::medallion();
    fill(&s, 0, 250).await;
    for url in [
        format!("{}?limit=10", objects_url(EMPTY)),
        format!("{}?limit=10", manifest_url(EMPTY)),
        objects_url(EMPTY),
    ] {
        let r = s.get(&url).await;
        let body = r.json();
        assert_eq!(body["more"], true, "{url}");
        let n = body["objects"].as_array().unwrap().len();
        assert_eq!(n, if url.contains("limit") { 10 } else { 100 }, "{url}");
    }
}

#[tokio::test]
async fn the_final_page_has_more_false_and_no_next() {
    let s = TestServer::medallion();
    fill(&s, 0, 25).await;
    let pages = walk(&s, &format!("{}?limit=10", objects_url(EMPTY))).await;
    assert_eq!(pages.len(), 3);
    let last = &pages[2].body;
    assert_eq!(last["more"], false);
    assert_eq!(last.get("next"), None);
    assert_eq!(last["objects"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn every_page_with_more_true_carries_next_on_all_paged_endpoints() {
    let s = TestServer::medallion_with(|c| c["taxii"]["max_page_size"] = json!(2));
    // walk() fails on a more: true page without next.
    for url in [
        objects_url(RW),
        manifest_url(RW),
        format!("{}?match[version]=all", object_url(RW, INDICATOR)),
        versions_url(RW, INDICATOR),
    ] {
        let pages = walk(&s, &url).await;
        assert!(pages.len() >= 2, "{url}");
        for p in &pages[..pages.len() - 1] {
            assert_eq!(p.body["more"], true);
            assert!(p.body["next"].as_str().is_some_and(|n| !n.is_empty()));
        }
    }
}

#[tokio::test]
async fn following_next_visits_every_record_exactly_once() {
    let s = TestServer::medallion_with(|c| c["taxii"]["max_page_size"] = json!(1000));
    let posted = fill(&s, 0, 250).await;
    let whole = s.get(&objects_url(EMPTY)).await.json();
    assert_eq!(whole["more"], false);
    assert_eq!(whole["objects"], json!(posted));
    for limit in [1, 7, 100, 249, 250] {
        let pages = walk(&s, &format!("{}?limit={limit}", objects_url(EMPTY))).await;
        assert_eq!(pages.len(), 250_usize.div_ceil(limit));
        assert_eq!(json!(records(&pages)), whole["objects"], "limit {limit}");
    }
    let manifest_pages = walk(&s, &format!("{}?limit=7", manifest_url(EMPTY))).await;
    let manifest = records(&manifest_pages);
    assert_eq!(manifest.len(), 250);
    assert_manifest_page_headers(&manifest_pages);
    // Object pages: headers from the manifest, and each page after the previous one.
    let pages = walk(&s, &format!("{}?limit=7", objects_url(EMPTY))).await;
    let mut previous_last: Option<String> = None;
    for p in &pages {
        let objs = p.body["objects"].as_array().unwrap();
        let first = date_added_of(&manifest, &objs[0]);
        let last = date_added_of(&manifest, objs.last().unwrap());
        assert_eq!(p.first.as_deref(), Some(first.as_str()));
        assert_eq!(p.last.as_deref(), Some(last.as_str()));
        if let Some(prev) = &previous_last {
            assert!(first > *prev);
        }
        previous_last = Some(last);
    }
}

#[tokio::test]
async fn a_limit_above_the_server_maximum_yields_the_maximum_with_more_true() {
    let s = TestServer::medallion_with(|c| c["taxii"]["max_page_size"] = json!(5));
    fill(&s, 0, 12).await;
    for limit in ["6", "1000", "99999999999999999999999"] {
        for url in [objects_url(EMPTY), manifest_url(EMPTY)] {
            let r = s.get(&format!("{url}?limit={limit}")).await;
            let body = r.json();
            assert_eq!(
                body["objects"].as_array().unwrap().len(),
                5,
                "{url} {limit}"
            );
            assert_eq!(body["more"], true);
        }
    }
    let r = s
        .get(&format!("{}?limit=1000", versions_url(RW, INDICATOR)))
        .await;
    assert_eq!(r.json()["versions"].as_array().unwrap().len(), 3);
    let r = s.get(&format!("{}?limit=1000", objects_url(RW))).await;
    assert_eq!(r.json()["objects"].as_array().unwrap().len(), 5);
    assert_eq!(r.json()["more"], true);
}

#[tokio::test]
async fn when_everything_fits_all_of_it_is_returned_and_more_is_not_true() {
    let s = TestServer::medallion_with(|c| c["taxii"]["max_page_size"] = json!(6));
    for q in ["", "?limit=6", "?limit=7", "?limit=1000"] {
        let r = s.get(&format!("{}{q}", objects_url(RW))).await;
        assert_page(&r, REL_D, WIDGET_D);
        let body = r.json();
        assert_eq!(body["objects"].as_array().unwrap().len(), 6, "{q}");
        assert_ne!(body["more"], true);
        assert_eq!(body.get("next"), None);
    }
}

#[tokio::test]
async fn paging_by_added_after_the_last_header_visits_every_record_once() {
    let s = TestServer::medallion();
    let posted = fill(&s, 0, 250).await;
    for base in [objects_url(EMPTY), manifest_url(EMPTY)] {
        let mut got: Vec<Value> = Vec::new();
        let mut url = format!("{base}?limit=10");
        let mut previous_last: Option<String> = None;
        for _ in 0..100 {
            let r = s.get(&url).await;
            assert_eq!(r.status, 200);
            let body = r.json();
            let Some(objs) = body["objects"].as_array() else {
                assert_empty_page(&r);
                break;
            };
            let first = r.header("x-taxii-date-added-first").unwrap().to_owned();
            let last = r.header("x-taxii-date-added-last").unwrap().to_owned();
            if let Some(prev) = &previous_last {
                assert!(first > *prev);
            }
            got.extend(objs.iter().cloned());
            url = format!("{base}?limit=10&added_after={last}");
            previous_last = Some(last);
            if body["more"] != true {
                break;
            }
        }
        assert_eq!(got.len(), 250, "{base}");
        let ids: Vec<&str> = got.iter().map(|o| o["id"].as_str().unwrap()).collect();
        let want: Vec<&str> = posted.iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(ids, want, "{base}");
    }
}

#[tokio::test]
async fn a_next_value_reused_with_other_filters_is_400_but_limit_may_change() {
    let s = TestServer::medallion();
    fill(&s, 0, 30).await;
    let base = format!("{}?match[type]=indicator", objects_url(EMPTY));
    let first = s.get(&format!("{base}&limit=10")).await.json();
    let next = first["next"].as_str().unwrap().to_owned();
    for other in [
        format!("{}?limit=10&next={next}", objects_url(EMPTY)),
        format!(
            "{}?match[type]=malware&limit=10&next={next}",
            objects_url(EMPTY)
        ),
        format!("{base}&match[version]=all&limit=10&next={next}"),
        format!("{base}&added_after=2000-01-01T00:00:00Z&limit=10&next={next}"),
        format!("{base}&match[spec_version]=2.1&limit=10&next={next}"),
        format!("{base}&match[id]={}&limit=10&next={next}", indicator_id(12)),
    ] {
        s.get(&other).await.assert_error(400);
    }
    // Changing limit is allowed: the walk continues where it stopped.
    let r = s.get(&format!("{base}&limit=15&next={next}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    let want: Vec<String> = (10..25).map(indicator_id).collect();
    assert_eq!(ids(&body), want);
    assert_eq!(body["more"], true);
    let next2 = body["next"].as_str().unwrap();
    let r = s.get(&format!("{base}&next={next2}")).await;
    let want: Vec<String> = (25..30).map(indicator_id).collect();
    assert_eq!(ids(&r.json()), want);
    // A list given in another order is the same filter.
    let r = s
        .get(&format!(
            "{}?match[type]=malware,indicator&limit=10",
            objects_url(EMPTY)
        ))
        .await;
    let n = r.json()["next"].as_str().unwrap().to_owned();
    let r = s
        .get(&format!(
            "{}?match[type]=indicator,malware&limit=10&next={n}",
            objects_url(EMPTY)
        ))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn forged_truncated_and_foreign_next_values_are_400() {
    let s = TestServer::medallion();
    fill(&s, 0, 30).await;
    let url = format!("{}?limit=10", objects_url(EMPTY));
    let next = s.get(&url).await.json()["next"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(s.get(&format!("{url}&next={next}")).await.status == 200);
    let mut flipped = next.clone().into_bytes();
    flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let manifest_next = s
        .get(&format!("{}?limit=10", manifest_url(EMPTY)))
        .await
        .json()["next"]
        .as_str()
        .unwrap()
        .to_owned();
    let rw_next = s.get(&format!("{}?limit=2", objects_url(RW))).await.json()["next"]
        .as_str()
        .unwrap()
        .to_owned();
    let longer = format!("{next}A");
    for bad in [
        flipped.as_str(),
        &next[..next.len() - 1],
        &next[..10],
        longer.as_str(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "not a token",
        "%00%FF",
        "10",
        manifest_next.as_str(),
        rw_next.as_str(),
    ] {
        let r = s
            .req(Method::GET, &url)
            .query(&[("next", bad)])
            .send()
            .await
            .unwrap();
        Resp::from(r).await.assert_error(400);
    }
    // Another user's token, same query: 400 for user1.
    let r = get_as(&s, "user1", "Password1", &format!("{url}&next={next}")).await;
    r.assert_error(400);
    // user1's own token works for user1.
    let own = get_as(&s, "user1", "Password1", &url).await.json()["next"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = get_as(&s, "user1", "Password1", &format!("{url}&next={own}")).await;
    assert_eq!(r.status, 200);
    assert_ne!(own, next);
}

#[tokio::test]
async fn a_next_value_never_yields_objects_the_caller_may_not_read() {
    let s = TestServer::medallion();
    let next = s.get(&format!("{}?limit=2", objects_url(RW))).await.json()["next"]
        .as_str()
        .unwrap()
        .to_owned();
    // Permission is checked first on every page.
    for c in [WRITE_ONLY, NO_ACCESS] {
        s.get(&format!("{}?limit=2&next={next}", objects_url(c)))
            .await
            .assert_error(403);
        s.get(&format!("{}?limit=2&next={next}", manifest_url(c)))
            .await
            .assert_error(403);
    }
    // A readable collection does not accept a token of another collection.
    s.get(&format!("{}?limit=2&next={next}", objects_url(READ_ONLY)))
        .await
        .assert_error(400);
    // Without credentials there is nothing to continue.
    let r = s
        .bare(
            Method::GET,
            &format!("{}?limit=2&next={next}", objects_url(RW)),
        )
        .header("Accept", T21)
        .send()
        .await
        .unwrap();
    assert_unauthorized(&Resp::from(r).await);
}

#[tokio::test]
async fn more_true_followed_by_an_empty_page_is_served_as_an_empty_page() {
    let s = TestServer::medallion();
    fill(&s, 0, 3).await;
    let url = format!("{}?limit=2", objects_url(EMPTY));
    let first = s.get(&url).await.json();
    let next = first["next"].as_str().unwrap().to_owned();
    let murl = format!("{}?limit=2", manifest_url(EMPTY));
    let mnext = s.get(&murl).await.json()["next"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .req(Method::DELETE, &object_url(EMPTY, &indicator_id(2)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_empty_page(&s.get(&format!("{url}&next={next}")).await);
    assert_empty_page(&s.get(&format!("{murl}&next={mnext}")).await);
    // The same on one object's versions: a continuation page is empty, not 404.
    let s = TestServer::medallion();
    let url = format!("{}?match[version]=all&limit=2", object_url(RW, INDICATOR));
    let vurl = format!("{}?limit=2", versions_url(RW, INDICATOR));
    let next = s.get(&url).await.json()["next"]
        .as_str()
        .unwrap()
        .to_owned();
    let vnext = s.get(&vurl).await.json()["next"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .req(
            Method::DELETE,
            &format!("{}?match[version]={IND_V3}", object_url(RW, INDICATOR)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_empty_page(&s.get(&format!("{url}&next={next}")).await);
    assert_empty_page(&s.get(&format!("{vurl}&next={vnext}")).await);
}

#[tokio::test]
async fn a_next_value_stays_usable_across_a_server_restart() {
    let secret = "a shared secret of sufficient length";
    let mut s = TestServer::medallion_with(|c| c["taxii"]["next_token_secret"] = json!(secret));
    let url = format!("{}?match[version]=all&limit=3", manifest_url(RW));
    let first = s.get(&url).await.json();
    let next = first["next"].as_str().unwrap().to_owned();
    let second = s.get(&format!("{url}&next={next}")).await;
    assert_eq!(second.status, 200);
    // A new process with the same secret: the token still works, nothing is kept in memory.
    let dir = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
    assert!(s.terminate().success());
    let s2 = TestServer::start_in(dir, &["--conf-file", "config.json"], &[]);
    let again = s2.get(&format!("{url}&next={next}")).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.text, second.text);
    assert_eq!(
        again.header("x-taxii-date-added-first"),
        second.header("x-taxii-date-added-first")
    );
}

#[tokio::test]
async fn without_limit_the_page_is_capped_at_the_configured_maximum() {
    let s = TestServer::medallion_with(|c| c["taxii"]["max_page_size"] = json!(2));
    for url in [
        objects_url(RW),
        manifest_url(RW),
        versions_url(RW, INDICATOR),
        format!("{}?match[version]=all", object_url(RW, INDICATOR)),
    ] {
        let body = s.get(&url).await.json();
        let key = if url.contains("/versions/") {
            "versions"
        } else {
            "objects"
        };
        assert_eq!(body[key].as_array().unwrap().len(), 2, "{url}");
        assert_eq!(body["more"], true, "{url}");
    }
}

#[tokio::test]
async fn objects_added_during_a_walk_appear_after_those_already_seen_without_duplicates() {
    let s = TestServer::medallion();
    fill(&s, 0, 100).await;
    let base = format!("{}?match[version]=all&limit=20", manifest_url(EMPTY));
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut dates: Vec<String> = Vec::new();
    let mut url = base.clone();
    let mut round = 0;
    loop {
        let r = s.get(&url).await;
        assert_eq!(r.status, 200);
        let body = r.json();
        for rec in body["objects"].as_array().unwrap() {
            seen.push((
                rec["id"].as_str().unwrap().to_owned(),
                rec["version"].as_str().unwrap().to_owned(),
            ));
            dates.push(rec["date_added"].as_str().unwrap().to_owned());
        }
        // Meanwhile: new objects, and a newer version of one already seen.
        if round < 3 {
            add_ok(
                &s,
                EMPTY,
                &[
                    indicator(1000 + round, "2020-01-01T00:00:00.000Z"),
                    indicator(round, "2021-01-01T00:00:00.000Z"),
                ],
            )
            .await;
        }
        round += 1;
        if body["more"] != true {
            break;
        }
        url = format!("{base}&next={}", body["next"].as_str().unwrap());
    }
    assert_eq!(seen.len(), 106);
    let unique: HashSet<&(String, String)> = seen.iter().collect();
    assert_eq!(unique.len(), 106);
    assert!(dates.windows(2).all(|w| w[0] < w[1]));
    for round in 0..3 {
        assert!(seen.contains(&(
            indicator_id(1000 + round),
            "2020-01-01T00:00:00.000Z".into()
        )));
        assert!(seen.contains(&(indicator_id(round), "2021-01-01T00:00:00.000Z".into())));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_walk_racing_concurrent_writers_never_skips_or_repeats_a_record() {
    let s = TestServer::medallion();
    fill(&s, 0, 200).await;
    let (base_url, user) = (s.base.clone(), s.user.clone());
    let writer = tokio::spawn(async move {
        let client = reqwest::Client::new();
        for batch in 0..20u32 {
            let objects: Vec<Value> = (0..5)
                .map(|i| indicator(10_000 + batch * 5 + i, "2020-01-01T00:00:00.000Z"))
                .collect();
            let r = client
                .post(format!("{base_url}{}", objects_url(EMPTY)))
                .basic_auth(&user.0, Some(&user.1))
                .header("Accept", T21)
                .header("Content-Type", T21)
                .body(json!({ "objects": objects }).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 202);
        }
    });
    let mut seen: Vec<String> = Vec::new();
    let mut dates: Vec<String> = Vec::new();
    let pages = walk(&s, &format!("{}?limit=3", manifest_url(EMPTY))).await;
    for rec in records(&pages) {
        seen.push(rec["id"].as_str().unwrap().to_owned());
        dates.push(rec["date_added"].as_str().unwrap().to_owned());
    }
    writer.await.unwrap();
    // Catch up on whatever arrived after the walk ended, by the last header.
    let last = pages.iter().rev().find_map(|p| p.last.clone()).unwrap();
    let rest = walk(
        &s,
        &format!("{}?limit=3&added_after={last}", manifest_url(EMPTY)),
    )
    .await;
    for rec in records(&rest) {
        seen.push(rec["id"].as_str().unwrap().to_owned());
        dates.push(rec["date_added"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 300);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 300);
    assert!(dates.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn limit_counts_manifest_records_and_version_strings() {
    let s = TestServer::medallion();
    // With every version, the indicator's three versions are three records.
    let r = s
        .get(&format!("{}?match[version]=all&limit=4", manifest_url(RW)))
        .await;
    assert_page(&r, REL_D, MARKING_D);
    assert_eq!(
        r.json()["objects"],
        json!([
            record(RELATIONSHIP, REL_D, REL_V, STIX21),
            record(INDICATOR, IND_D1, IND_V1, STIX21),
            record(INDICATOR, IND_D2, IND_V2, STIX21),
            record(MARKING, MARKING_D, MARKING_V, STIX21),
        ])
    );
    // Object versions on the objects endpoint, version strings on the versions endpoint.
    let r = s
        .get(&format!("{}?match[version]=all&limit=3", objects_url(RW)))
        .await;
    assert_eq!(
        pairs(&r.json()),
        [
            (RELATIONSHIP, REL_V),
            (INDICATOR, IND_V1),
            (INDICATOR, IND_V2)
        ]
        .map(|(i, v)| (i.to_owned(), v.to_owned()))
    );
    let r = s
        .get(&format!("{}?limit=2", versions_url(RW, INDICATOR)))
        .await;
    assert_eq!(r.json()["versions"], json!([IND_V1, IND_V2]));
}

#[tokio::test]
async fn records_with_equal_date_added_keep_their_stored_order_on_every_request_and_page() {
    let s = TestServer::medallion();
    let q = "match[version]=all&match[spec_version]=2.0,2.1";
    let url = format!("{}?{q}", manifest_url(RW));
    let first = s.get(&url).await;
    // Three records share one date_added; they keep the data file's order.
    assert_eq!(
        json!(first.json()["objects"].as_array().unwrap()[4..7]),
        json!([
            record(INDICATOR, IND_D3, IND_V3, STIX21),
            record(MALWARE, IND_D3, MAL_V20, STIX20),
            record(MALWARE, IND_D3, MAL_V21, STIX21),
        ])
    );
    for _ in 0..5 {
        assert_eq!(s.get(&url).await.text, first.text);
    }
    // Page boundaries inside the tie neither skip nor repeat.
    let pages = walk(&s, &format!("{url}&limit=1")).await;
    assert_eq!(pages.len(), 9);
    assert_eq!(json!(records(&pages)), first.json()["objects"]);
    let pages = walk(&s, &format!("{}?{q}&limit=5", objects_url(RW))).await;
    let whole = s.get(&format!("{}?{q}", objects_url(RW))).await.json();
    assert_eq!(json!(records(&pages)), whole["objects"]);
}

#[tokio::test]
async fn the_collections_list_has_the_same_id_order_on_every_request() {
    let s = TestServer::medallion();
    let first = s.get(&format!("{ROOT}collections/")).await;
    assert_eq!(first.status, 200);
    let listed: Vec<String> = first.json()["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    assert_eq!(listed.len(), 5);
    for _ in 0..5 {
        assert_eq!(s.get(&format!("{ROOT}collections/")).await.text, first.text);
    }
}
