//! Discovery (DISC) and API root information (ROOT).

use reqwest::Method;
use serde_json::json;

use crate::general::{
    Kind, check_resource, envelope, get_accept, indicator, one_root, root_info, serve,
};
use crate::helpers::*;

#[tokio::test]
async fn discovery_answers_200_with_a_title() {
    let s = TestServer::medallion();
    let r = s.get("/taxii2/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(T21));
    assert_eq!(r.json()["title"], "Some TAXII Server");
    let plain = TestServer::start(&[]);
    let r = plain.get("/taxii2/").await;
    assert_eq!(r.status, 200);
    assert!(r.json()["title"].as_str().is_some_and(|t| !t.is_empty()));
}

#[tokio::test]
async fn description_and_contact_appear_when_configured_and_are_absent_otherwise() {
    let s = TestServer::medallion();
    let v = s.get("/taxii2/").await.json();
    assert_eq!(
        v["description"],
        "This TAXII Server contains a listing of STIX data for the test suite"
    );
    assert_eq!(v["contact"], "string containing contact information");
    // A data file without a discovery document: the generated one has neither.
    let s = serve(
        &one_root("api1", "0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11"),
        |_| {},
    );
    let v = s.get("/taxii2/").await.json();
    assert!(
        v.get("description").is_none() && v.get("contact").is_none(),
        "{v}"
    );
    check_resource(Kind::Discovery, &v);
    // A discovery document with a description but no contact is served that way.
    let mut data = one_root("api1", "0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11");
    data["/discovery"] = json!({"title": "T", "description": "D", "api_roots": ["/api1/"]});
    let s = serve(&data, |_| {});
    let v = s.get("/taxii2/").await.json();
    assert_eq!(
        v,
        json!({"title": "T", "description": "D", "api_roots": ["/api1/"]})
    );
}

#[tokio::test]
async fn the_default_api_root_is_one_of_the_advertised_api_roots() {
    for s in [TestServer::medallion(), TestServer::start(&[])] {
        let v = s.get("/taxii2/").await.json();
        let roots = v["api_roots"].as_array().unwrap();
        assert!(roots.contains(&v["default"]), "{v}");
    }
    // Generated discovery with several roots names no default rather than a wrong one.
    let mut data = one_root("api1", "0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11");
    data["api2"] = json!({"information": root_info("Two", 1000), "status": [], "collections": []});
    let s = serve(&data, |_| {});
    let v = s.get("/taxii2/").await.json();
    assert_eq!(v["api_roots"], json!(["/api1/", "/api2/"]));
    if let Some(d) = v.get("default") {
        assert!(v["api_roots"].as_array().unwrap().contains(d), "{v}");
    }
}

#[tokio::test]
async fn a_stored_discovery_that_breaks_the_url_rules_is_served_as_stored_with_a_warning() {
    // Deliberate deviation from DISC-3/DISC-4 (drop-in): medallion files advertise
    // http://localhost:5000/… and are served as stored; start-up warns instead of refusing.
    let mut data = one_root("api1", "0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11");
    let discovery = json!({
        "title": "T",
        "default": "/elsewhere/",
        "api_roots": ["/api1/", "//other.example.com/api1/", "../api1/", "https://x.example/a?b=c"]
    });
    data["/discovery"] = discovery.clone();
    let s = serve(&data, |_| {});
    assert_eq!(s.get("/taxii2/").await.json(), discovery);
    let log = s.log.lock().unwrap().join("\n");
    for url in [
        "//other.example.com/api1/",
        "../api1/",
        "https://x.example/a?b=c",
    ] {
        assert!(log.contains(url), "no warning about {url}: {log}");
    }
    assert!(log.contains("/elsewhere/"), "{log}");
    assert!(
        !log.contains("\"/api1/\""),
        "a valid entry is not warned about: {log}"
    );
}

#[tokio::test]
async fn generated_api_root_urls_are_paths_starting_with_exactly_one_slash() {
    let mut data = one_root("api1", "0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11");
    data["org/a/b"] =
        json!({"information": root_info("Deep", 1000), "status": [], "collections": []});
    let s = serve(&data, |_| {});
    let v = s.get("/taxii2/").await.json();
    for url in v["api_roots"].as_array().unwrap() {
        let url = url.as_str().unwrap();
        assert!(url.starts_with('/') && !url.starts_with("//"), "{url}");
        assert!(!url.contains('?') && !url.contains(".."), "{url}");
        assert_eq!(s.get(url).await.status, 200, "{url}");
    }
}

#[tokio::test]
async fn api_roots_on_other_servers_may_be_advertised() {
    let s = TestServer::medallion();
    let v = s.get("/taxii2/").await.json();
    assert_eq!(
        v["api_roots"],
        json!([
            "http://localhost:5000/api1/",
            "http://localhost:5000/api2/",
            "http://localhost:5000/trustgroup1/"
        ])
    );
    let mut data = one_root("api1", "0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11");
    data["/discovery"] = json!({
        "title": "T",
        "api_roots": ["/api1/", "https://taxii.partner.example:8443/shared/"]
    });
    let s = serve(&data, |_| {});
    let v = s.get("/taxii2/").await.json();
    assert_eq!(
        v["api_roots"][1],
        "https://taxii.partner.example:8443/shared/"
    );
}

#[tokio::test]
async fn discovery_refuses_an_unacceptable_accept_with_406_never_400_or_415() {
    let s = TestServer::medallion();
    for accept in [
        "application/taxii+json;version=2.0",
        "application/stix+json;version=2.1",
        "application/json",
    ] {
        get_accept(&s, "/taxii2/", accept).await.assert_error(406);
    }
}

// ---------------------------------------------------------------------------------------------
// ROOT
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn api_root_information_has_title_versions_and_max_content_length() {
    let s = TestServer::medallion();
    let r = s.get(ROOT).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(T21));
    assert_eq!(
        r.json(),
        json!({
            "title": "Malware Research Group",
            "description": "A trust group setup for malware researchers",
            "versions": [T21],
            "max_content_length": 9765625
        })
    );
    // An information section without versions or a limit gets both filled in.
    let mut data = one_root("api1", "0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11");
    data["api1"]["information"] = json!({"title": "Bare"});
    let s = serve(&data, |_| {});
    let v = s.get("/api1/").await.json();
    check_resource(Kind::ApiRoot, &v);
    assert_eq!(v["versions"], json!([T21]));
    assert!(v["max_content_length"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn versions_lists_taxii_21_and_only_versioned_taxii_media_types() {
    for s in [TestServer::medallion(), TestServer::start(&[])] {
        let v = s.get("/taxii2/").await.json();
        for root in v["api_roots"].as_array().unwrap() {
            let path = root.as_str().unwrap().replace("http://localhost:5000", "");
            let info = s.get(&path).await.json();
            let versions = info["versions"].as_array().unwrap();
            assert!(versions.contains(&json!(T21)), "{info}");
            for v in versions {
                let v = v.as_str().unwrap();
                assert!(v.starts_with("application/taxii+json;version="), "{v}");
            }
        }
    }
}

#[tokio::test]
async fn max_content_length_is_the_limit_enforced_on_post() {
    let id = "0b7a1a6e-2f56-4b63-9d54-3c0a8c2b7c11";
    let mut data = one_root("api1", id);
    data["api1"]["information"]["max_content_length"] = json!(400);
    let s = serve(&data, |_| {});
    let limit = s.get("/api1/").await.json()["max_content_length"]
        .as_u64()
        .unwrap();
    assert_eq!(limit, 400);
    let body = |len: usize| {
        let mut text = envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]).to_string();
        assert!(text.len() <= len, "{}", text.len());
        text.push_str(&" ".repeat(len - text.len()));
        text
    };
    let post = |text: String| {
        s.req(Method::POST, &format!("/api1/collections/{id}/objects/"))
            .header("Content-Type", T21)
            .body(text)
            .send()
    };
    let r = Resp::from(post(body(401)).await.unwrap()).await;
    r.assert_error(413);
    let r = Resp::from(post(body(400)).await.unwrap()).await;
    assert_eq!(r.status, 202, "{}", r.text);
    // The default API root states the default limit.
    let plain = TestServer::start(&[]);
    let v = plain.get("/api1/").await.json();
    assert_eq!(v["max_content_length"], 10 * 1024 * 1024);
}

#[tokio::test]
async fn an_unknown_api_root_is_404_with_a_taxii_error() {
    let s = TestServer::medallion();
    for path in [
        "/nope/",
        "/nope/collections/",
        "/api3/status/x/",
        "/TRUSTGROUP1/",
    ] {
        s.get(path).await.assert_error(404);
    }
    // A collection under the wrong root is not found either.
    s.get(&format!("/api1/collections/{RW}/"))
        .await
        .assert_error(404);
    // An API root without collections exists.
    assert_eq!(s.get("/api2/").await.status, 200);
}
