//! Transport limits and shutdown, driven over raw TCP where a well-behaved client cannot
//! misbehave enough: oversized headers, slow (slowloris) clients, too many connections from
//! one client, a flood above the concurrency limit, slow bodies, and SIGTERM during an add.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::general::{envelope, indicator, write_files};
use crate::helpers::*;

const OBJECTS: &str = "/api1/collections/default/objects/";
/// `alice:Alice-pass`.
const ALICE_BASIC: &str = "Basic YWxpY2U6QWxpY2UtcGFzcw==";

fn start(server_keys: &str) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let config = format!("[server]\n{server_keys}\n[users]\nalice = \"Alice-pass\"\n");
    write_files(dir.path(), &[("taxiid.toml", config)]);
    let mut s = TestServer::start_in(dir, &["-c", "taxiid.toml"], &[]);
    s.user = ("alice".into(), "Alice-pass".into());
    s
}

fn addr(s: &TestServer) -> String {
    s.base.trim_start_matches("http://").to_owned()
}

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(addr(s)).await.unwrap()
}

/// Everything the server sends until it closes the connection or `limit` passes; `None` when
/// it is still open then.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&out).into_owned()),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// One HTTP/1.1 response head and body, read until the body (by Content-Length) is complete.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("no response within 10 s")
            .unwrap();
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        assert!(n > 0, "closed before a whole response: {text}");
    }
}

fn get_request(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {ALICE_BASIC}\r\nAccept: application/taxii+json;version=2.1\r\n\r\n"
    )
}

#[tokio::test]
async fn an_oversized_request_head_gets_431() {
    let s = start("");
    let mut stream = connect(&s).await;
    let big = "a".repeat(20_000);
    let request = format!("GET /taxii2/ HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("the connection stayed open");
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    // A request just under the limit is served.
    let mut stream = connect(&s).await;
    let fits = "a".repeat(8_000);
    let request =
        get_request("/taxii2/").replace("\r\n\r\n", &format!("\r\nX-Fits: {fits}\r\n\r\n"));
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = read_response(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_do_not_hold_up_others() {
    let s = start("header_timeout = 2");
    // Three clients trickle a request head, a byte every 300 ms.
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(&s).await;
        stream
            .write_all(b"GET /taxii2/ HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    let trickle = tokio::spawn(async move {
        let started = Instant::now();
        let mut closed_after = Vec::new();
        for mut stream in slow {
            let mut closed = None;
            while started.elapsed() < Duration::from_secs(8) {
                if stream.write_all(b"X").await.is_err() {
                    closed = Some(started.elapsed());
                    break;
                }
                if let Some(_answer) =
                    read_until_closed(&mut stream, Duration::from_millis(300)).await
                {
                    closed = Some(started.elapsed());
                    break;
                }
            }
            closed_after.push(closed);
        }
        closed_after
    });
    // Meanwhile others are served at once.
    for _ in 0..10 {
        let started = Instant::now();
        let r = s.get("/taxii2/").await;
        assert_eq!(r.status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The slow ones were closed after the header timeout, not served.
    for closed in trickle.await.unwrap() {
        let after = closed.expect("a slow client was never cut off");
        assert!(after < Duration::from_secs(5), "{after:?}");
    }
    // An idle keep-alive connection is closed after the same timeout.
    let mut idle = connect(&s).await;
    idle.write_all(get_request("/taxii2/").as_bytes())
        .await
        .unwrap();
    let answer = read_response(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let rest = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert_eq!(rest.as_deref(), Some(""), "the idle connection stayed open");
}

#[tokio::test]
async fn connections_beyond_the_per_client_limit_are_closed() {
    let s = start("max_connections_per_client = 4\nheader_timeout = 30");
    let mut open = Vec::new();
    for _ in 0..4 {
        open.push(connect(&s).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fifth = connect(&s).await;
    let answer = read_until_closed(&mut fifth, Duration::from_secs(3)).await;
    assert_eq!(answer.as_deref(), Some(""), "the fifth connection was kept");
    // The four still work; closing one makes room again.
    open[0]
        .write_all(get_request("/taxii2/").as_bytes())
        .await
        .unwrap();
    assert!(
        read_response(&mut open[0])
            .await
            .starts_with("HTTP/1.1 200")
    );
    drop(open.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect(&s).await;
    again
        .write_all(get_request("/taxii2/").as_bytes())
        .await
        .unwrap();
    assert!(read_response(&mut again).await.starts_with("HTTP/1.1 200"));
}

/// Starts an Add Objects request whose body stays incomplete, holding a request slot.
async fn half_sent_add(s: &TestServer, body: &str) -> TcpStream {
    let mut stream = connect(s).await;
    let head = format!(
        "POST {OBJECTS} HTTP/1.1\r\nHost: x\r\nAuthorization: {ALICE_BASIC}\r\nAccept: application/taxii+json;version=2.1\r\nContent-Type: application/taxii+json;version=2.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
        .write_all(&body.as_bytes()[..body.len() / 2])
        .await
        .unwrap();
    stream
}

fn one_object_body(n: u32) -> String {
    envelope(&[indicator(n, "2020-01-01T00:00:00.000Z")]).to_string()
}

#[tokio::test]
async fn a_flood_above_the_concurrency_limit_gets_503_and_the_server_answers_after() {
    let s = start("max_concurrent_requests = 2");
    let body = one_object_body(1);
    let mut held = vec![
        half_sent_add(&s, &body).await,
        half_sent_add(&s, &body).await,
    ];
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = reqwest::Client::new();
    let flood: Vec<_> = (0..20)
        .map(|_| {
            let request = client
                .get(s.url("/taxii2/"))
                .basic_auth("alice", Some("Alice-pass"))
                .header("Accept", T21);
            tokio::spawn(async move { Resp::from(request.send().await.unwrap()).await })
        })
        .collect();
    for r in flood {
        let r = r.await.unwrap();
        let body = r.assert_error(503);
        assert_eq!(r.header("retry-after"), Some("1"));
        assert!(
            body["description"].as_str().unwrap().contains("(2)"),
            "{body}"
        );
    }
    // Probes still answer.
    let live = s
        .bare(reqwest::Method::GET, "/healthz")
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    // The held requests finish normally, and then others are served again.
    for stream in &mut held {
        stream
            .write_all(&body.as_bytes()[body.len() / 2..])
            .await
            .unwrap();
        let answer = read_response(stream).await;
        assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    }
    assert_eq!(s.get("/taxii2/").await.status, 200);
}

#[tokio::test]
async fn a_body_slower_than_the_body_timeout_gets_408_and_stores_nothing() {
    let s = start("body_timeout = 1");
    let body = one_object_body(7);
    let mut stream = half_sent_add(&s, &body).await;
    let answer = read_response(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"http_status\":\"408\""), "{answer}");
    let objects = s.get(OBJECTS).await;
    assert_eq!(objects.status, 200);
    assert_eq!(objects.json(), json!({}));
}

#[tokio::test]
async fn sigterm_during_an_add_finishes_it_and_the_objects_are_kept() {
    let mut s = start("");
    let body = one_object_body(9);
    let mut stream = half_sent_add(&s, &body).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // New connections are no longer accepted...
    assert!(
        TcpStream::connect(addr(&s)).await.is_err()
            || read_until_closed(&mut connect(&s).await, Duration::from_secs(2))
                .await
                .is_some()
    );
    // ...but the request in flight completes.
    stream
        .write_all(&body.as_bytes()[body.len() / 2..])
        .await
        .unwrap();
    let answer = read_response(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    drop(stream);
    let status = s.wait_exit();
    assert!(status.success(), "{status:?}");
    // The object is there after a restart.
    let dir = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
    let mut again = TestServer::start_in(dir, &["-c", "taxiid.toml"], &[]);
    again.user = ("alice".into(), "Alice-pass".into());
    let objects = again.get(OBJECTS).await.json();
    assert_eq!(
        objects["objects"].as_array().map(Vec::len),
        Some(1),
        "{objects}"
    );
}

/// A client whose connections come from `ip` (a loopback address).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn repeated_login_failures_from_one_address_get_429_until_the_minute_is_over() {
    let s = start("max_auth_failures_per_minute = 3");
    let attacker = client_from("127.0.0.1");
    let get = |client: &reqwest::Client, password: &str| {
        client
            .get(s.url("/taxii2/"))
            .basic_auth("alice", Some(password))
            .header("Accept", T21)
            .send()
    };
    for _ in 0..3 {
        Resp::from(get(&attacker, "guess").await.unwrap())
            .await
            .assert_error(401);
    }
    // Now even the right password is not checked from this address.
    let r = Resp::from(get(&attacker, "Alice-pass").await.unwrap()).await;
    r.assert_error(429);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Another address is not affected.
    let other = client_from("127.0.0.2");
    let r = Resp::from(get(&other, "Alice-pass").await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_match_list_of_more_than_a_thousand_items_is_400_not_a_thousand_lookups() {
    // Request heads big enough to carry the list, so that the list limit is what answers.
    let s = start("max_header_bytes = 131072");
    let ids = |n: usize| {
        (0..n)
            .map(|i| format!("indicator--00000000-0000-4000-8000-{i:012}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let r = s.get(&format!("{OBJECTS}?match[id]={}", ids(1000))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = s
        .get(&format!("{OBJECTS}?match[id]={}", ids(1001)))
        .await
        .assert_error(400);
    let description = body["description"].as_str().unwrap();
    assert!(description.contains("match[id]"), "{description}");
    assert!(description.contains("more than 1000"), "{description}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
    let s = start("max_auth_failures_per_minute = 2\ntrusted_proxies = [\"127.0.0.1\"]");
    let (proxy, stranger) = (client_from("127.0.0.1"), client_from("127.0.0.2"));
    let get = |client: &reqwest::Client, forwarded_for: &str, password: &str| {
        client
            .get(s.url("/taxii2/"))
            .basic_auth("alice", Some(password))
            .header("Accept", T21)
            .header("X-Forwarded-For", forwarded_for)
            // A request id the log line can be found by.
            .header(
                "X-Request-Id",
                format!("{}-{password}", forwarded_for.replace(", ", "_")),
            )
            .send()
    };
    // Through the proxy, one forwarded client locks itself out...
    for _ in 0..2 {
        let r = Resp::from(get(&proxy, "6.6.6.6, 198.51.100.7", "guess").await.unwrap()).await;
        r.assert_error(401);
    }
    let r = Resp::from(get(&proxy, "198.51.100.7", "Alice-pass").await.unwrap()).await;
    r.assert_error(429);
    // ...and not the proxy's other clients, nor the proxy itself.
    let r = Resp::from(get(&proxy, "198.51.100.8", "Alice-pass").await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The access line names the forwarded client, not what it claimed further left.
    let line = crate::observability::line_with(&s, &["198.51.100.8-Alice-pass"]).await;
    assert!(line.contains("client=198.51.100.8"), "{line}");
    let line = crate::observability::line_with(&s, &["6.6.6.6_198.51.100.7-guess"]).await;
    assert!(line.contains("client=198.51.100.7"), "{line}");

    // From an address that is not a trusted proxy the header is ignored: its failures are
    // its own, whatever it claims.
    for claimed in ["198.51.100.9", "198.51.100.10"] {
        let r = Resp::from(get(&stranger, claimed, "guess").await.unwrap()).await;
        r.assert_error(401);
    }
    let r = Resp::from(get(&stranger, "198.51.100.11", "Alice-pass").await.unwrap()).await;
    r.assert_error(429);
    let line = crate::observability::line_with(&s, &["198.51.100.9-guess"]).await;
    assert!(line.contains("client=127.0.0.2"), "{line}");
    let r = Resp::from(get(&proxy, "198.51.100.9", "Alice-pass").await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_user_over_their_request_rate_gets_429_and_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[server]\nmax_requests_per_user_per_second = 1\nrequest_burst_per_user = 3\n\
                  [users]\nalice = \"Alice-pass\"\nbob = \"Bob-pass\"\n";
    write_files(dir.path(), &[("taxiid.toml", config.to_owned())]);
    let s = TestServer::start_in(dir, &["-c", "taxiid.toml"], &[]);
    let as_user = |user: &str, password: &str| {
        s.bare(reqwest::Method::GET, "/taxii2/")
            .basic_auth(user, Some(password))
            .header("Accept", T21)
    };
    for _ in 0..3 {
        let r = as_user("alice", "Alice-pass").send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = Resp::from(as_user("alice", "Alice-pass").send().await.unwrap()).await;
    let body = r.assert_error(429);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(
        body["description"].as_str().unwrap().contains("faster"),
        "{body}"
    );
    let r = as_user("bob", "Bob-pass").send().await.unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = as_user("alice", "Alice-pass").send().await.unwrap();
    assert_eq!(r.status(), 200);
}
