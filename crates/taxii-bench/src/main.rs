//! taxii-bench: the load client of `bench/run`.
//!
//! - `gen`: deterministic STIX 2.1 data, as a TAXII envelope or a medallion data file;
//! - `load`: one URL at a fixed concurrency over keep-alive connections: requests/s, p50/p99;
//! - `walk`: follows `next` through a collection: seconds and objects;
//! - `ingest`: posts envelopes from several writers, waits for every status, reads them back;
//! - `mixed`: R readers (following `next` a few pages) and W writers (posting envelopes) against
//!   one collection for a fixed duration: read requests/s, objects written/s, p50/p99 of each;
//! - `postgres`: a throwaway PostgreSQL server (fsync on) for the PostgreSQL target.
//!
//! Every command prints one line of JSON with `--json` (for scripts), else a short text.

mod generate;
mod mixed;
mod postgres;
mod stats;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::{Value, json};

const TAXII: &str = "application/taxii+json;version=2.1";

#[derive(Parser, Debug)]
#[command(
    name = "taxii-bench",
    version,
    about = "Load client for TAXII 2.1 servers (bench/run)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate deterministic STIX 2.1 data.
    Gen(GenArgs),
    /// Request one URL at a fixed concurrency; report requests/s and latency percentiles.
    Load(LoadArgs),
    /// Follow `next` from an objects URL to the end; report seconds, pages and objects.
    Walk(WalkArgs),
    /// Post a TAXII envelope file in envelopes of K objects from W writers, wait until every
    /// status is complete, then read the collection back and check every object is there.
    Ingest(IngestArgs),
    /// R readers GET READ_URL (following `next` a few pages) while W writers POST envelopes
    /// from FILE to WRITE_URL, for a fixed duration; report read requests/s, objects written/s
    /// and the latency percentiles of both. The run stops early if FILE runs out (and says so).
    Mixed(MixedArgs),
    /// Start a throwaway PostgreSQL server (fsync on) on a free port, make N databases, print
    /// their URLs as one JSON line, and keep it running until SIGTERM/SIGINT.
    Postgres {
        #[arg(long, default_value_t = 1)]
        databases: usize,
    },
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum Format {
    /// `{"objects": [...]}`.
    Envelope,
    /// A medallion data file: API root `bench`, collections `objects` (the data) and `ingest`
    /// (empty).
    Medallion,
}

#[derive(Args, Debug)]
struct GenArgs {
    /// Number of object versions.
    #[arg(long)]
    objects: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(short = 'o', long)]
    output: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Envelope)]
    format: Format,
    /// Base URL written into the discovery resource of a medallion data file.
    #[arg(long, default_value = "http://127.0.0.1:5000")]
    host: String,
    /// Empty writable collections in a medallion data file (`ingest`, `ingest-2`, ...).
    #[arg(long, default_value_t = 1)]
    ingest_collections: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug, Clone)]
struct Conn {
    #[arg(long, default_value = "admin")]
    user: String,
    #[arg(long, default_value = "Password0")]
    password: String,
    #[arg(long, default_value = TAXII)]
    accept: String,
    /// Seconds one request may take.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Print one line of JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct LoadArgs {
    url: String,
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Seconds to run (default 5 unless --requests is given).
    #[arg(long, conflicts_with = "requests")]
    duration: Option<f64>,
    /// Total number of requests.
    #[arg(long)]
    requests: Option<u64>,
    #[command(flatten)]
    conn: Conn,
}

#[derive(Args, Debug)]
struct WalkArgs {
    url: String,
    /// Give up after this many seconds (reported as timed out).
    #[arg(long, default_value_t = 300.0)]
    deadline: f64,
    #[command(flatten)]
    conn: Conn,
}

#[derive(Args, Debug)]
struct IngestArgs {
    /// The collection's objects URL.
    url: String,
    /// A TAXII envelope file (`gen --format envelope`).
    file: PathBuf,
    #[arg(long, default_value_t = 100)]
    envelope_size: usize,
    #[arg(long, default_value_t = 4)]
    writers: usize,
    /// Skip reading the collection back.
    #[arg(long)]
    no_verify: bool,
    /// Give up after this many seconds (reported as timed out).
    #[arg(long, default_value_t = 600.0)]
    deadline: f64,
    #[command(flatten)]
    conn: Conn,
}

#[derive(Args, Debug)]
struct MixedArgs {
    /// The objects URL the readers GET, e.g. `…/collections/ID/objects/?limit=100`.
    read_url: String,
    /// The objects URL the writers POST envelopes to.
    write_url: String,
    /// A TAXII envelope file (`gen --format envelope`); the writers take disjoint slices of it.
    file: PathBuf,
    #[arg(long, default_value_t = 32)]
    readers: usize,
    #[arg(long, default_value_t = 4)]
    writers: usize,
    /// Seconds to run (less when FILE runs out first; the report then says so).
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    #[arg(long, default_value_t = 100)]
    envelope_size: usize,
    /// Pages a reader reads, following `next`, before it starts over from READ_URL.
    #[arg(long, default_value_t = 5)]
    pages: usize,
    #[command(flatten)]
    conn: Conn,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_out = match &cli.command {
        Command::Gen(a) => a.json,
        Command::Load(a) => a.conn.json,
        Command::Walk(a) => a.conn.json,
        Command::Ingest(a) => a.conn.json,
        Command::Mixed(a) => a.conn.json,
        Command::Postgres { .. } => true,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(json_out, &format!("cannot start the runtime: {e}")),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Gen(a) => run_gen(&a),
            Command::Load(a) => run_load(a).await,
            Command::Walk(a) => run_walk(a).await,
            Command::Ingest(a) => run_ingest(a).await,
            Command::Mixed(a) => mixed::run_mixed(a).await,
            Command::Postgres { databases } => postgres::run_postgres(databases).await,
        }
    });
    match result {
        Ok(report) => {
            print_report(json_out, &report);
            if report.get("ok") == Some(&Value::Bool(false)) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => fail(json_out, &e),
    }
}

fn fail(json_out: bool, message: &str) -> ExitCode {
    if json_out {
        println!("{}", json!({"ok": false, "error": message}));
    } else {
        eprintln!("taxii-bench: {message}");
    }
    ExitCode::from(1)
}

fn print_report(json_out: bool, report: &Value) {
    if json_out {
        println!("{report}");
    } else if let Some(map) = report.as_object() {
        for (k, v) in map {
            println!("{k}: {v}");
        }
    }
}

fn run_gen(a: &GenArgs) -> Result<Value, String> {
    let data = generate::generate(a.objects, a.seed);
    let doc = match a.format {
        Format::Envelope => generate::envelope(&data),
        Format::Medallion => generate::medallion_file(&data, &a.host, a.ingest_collections),
    };
    let text = serde_json::to_string(&doc).map_err(|e| e.to_string())?;
    std::fs::write(&a.output, text)
        .map_err(|e| format!("cannot write {}: {e}", a.output.display()))?;
    let mid = data.versions.get(data.versions.len() / 2);
    let sample = data
        .versions
        .iter()
        .rev()
        .find(|v| v.id.starts_with("indicator--"));
    Ok(json!({
        "ok": true,
        "objects": data.versions.len(),
        "logical": data.logical,
        "multi_version": data.multi_version,
        "sample_id": sample.map(|v| v.id.clone()),
        "mid_date_added": mid.map(|v| v.date_added.clone()),
        "objects_collection": generate::OBJECTS_COLLECTION,
        "ingest_collection": generate::INGEST_COLLECTION,
        "ingest_collections": generate::ingest_collections(a.ingest_collections),
    }))
}

fn client(conn: &Conn, pool: usize) -> Result<reqwest::Client, String> {
    let mut headers = HeaderMap::new();
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", conn.user, conn.password));
    let auth = HeaderValue::from_str(&format!("Basic {token}")).map_err(|e| e.to_string())?;
    headers.insert(AUTHORIZATION, auth);
    headers.insert(
        ACCEPT,
        HeaderValue::from_str(&conn.accept).map_err(|e| e.to_string())?,
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(pool.max(1))
        .pool_idle_timeout(None)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs_f64(conn.timeout))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

async fn run_load(a: LoadArgs) -> Result<Value, String> {
    let client = client(&a.conn, a.concurrency)?;
    let url = reqwest::Url::parse(&a.url).map_err(|e| format!("bad URL {}: {e}", a.url))?;
    let deadline = match (a.duration, a.requests) {
        (Some(d), _) => Some(Instant::now() + Duration::from_secs_f64(d)),
        (None, Some(_)) => None,
        (None, None) => Some(Instant::now() + Duration::from_secs(5)),
    };
    let budget = a.requests;
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(a.concurrency);
    for _ in 0..a.concurrency.max(1) {
        let client = client.clone();
        let url = url.clone();
        let issued = Arc::clone(&issued);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut codes: BTreeMap<String, u64> = BTreeMap::new();
            let mut bytes = 0u64;
            loop {
                if let Some(d) = deadline
                    && Instant::now() >= d
                {
                    break;
                }
                if let Some(b) = budget
                    && issued.fetch_add(1, Ordering::Relaxed) >= b
                {
                    break;
                }
                let t = Instant::now();
                let outcome = match client.get(url.clone()).send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        match resp.bytes().await {
                            Ok(body) => {
                                bytes += body.len() as u64;
                                status.as_u16().to_string()
                            }
                            Err(e) if e.is_timeout() => "timeout".to_string(),
                            Err(_) => "body-error".to_string(),
                        }
                    }
                    Err(e) if e.is_timeout() => "timeout".to_string(),
                    Err(_) => "connect-error".to_string(),
                };
                lat.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                *codes.entry(outcome).or_default() += 1;
            }
            (lat, codes, bytes)
        }));
    }
    let mut lat = Vec::new();
    let mut codes: BTreeMap<String, u64> = BTreeMap::new();
    let mut bytes = 0u64;
    for t in tasks {
        let (l, c, b) = t.await.map_err(|e| e.to_string())?;
        lat.extend(l);
        for (k, v) in c {
            *codes.entry(k).or_default() += v;
        }
        bytes += b;
    }
    let secs = start.elapsed().as_secs_f64();
    let requests = lat.len() as u64;
    let errors: u64 = codes
        .iter()
        .filter(|(k, _)| !k.starts_with('2'))
        .map(|(_, v)| v)
        .sum();
    let s = stats::Summary::of(&mut lat);
    Ok(json!({
        "ok": requests > 0 && errors < requests,
        "url": a.url,
        "concurrency": a.concurrency,
        "seconds": round(secs),
        "requests": requests,
        "errors": errors,
        "rps": round(if secs > 0.0 { (requests - errors) as f64 / secs } else { 0.0 }),
        "p50_ms": round(s.p50_ms),
        "p90_ms": round(s.p90_ms),
        "p99_ms": round(s.p99_ms),
        "max_ms": round(s.max_ms),
        "bytes": bytes,
        "status": codes,
    }))
}

/// Sets `next` on `base` (replacing any previous value).
fn with_next(base: &reqwest::Url, next: &str) -> reqwest::Url {
    let pairs: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(k, _)| k != "next")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut url = base.clone();
    {
        let mut q = url.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        q.append_pair("next", next);
    }
    url
}

/// A failed request, saying "timed out" for a timeout.
fn request_error(url: &reqwest::Url, e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("GET {url}: timed out")
    } else {
        format!("GET {url}: {e}")
    }
}

/// A failed POST, saying "timed out" for a timeout.
fn post_error(url: &str, e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("POST {url}: timed out")
    } else {
        format!("POST {url}: {e}")
    }
}

/// Walks every page of `url`; calls `seen` with each object. Returns (pages, objects).
async fn walk(
    client: &reqwest::Client,
    url: &str,
    mut seen: impl FnMut(&Value),
) -> Result<(u64, u64), String> {
    let base = reqwest::Url::parse(url).map_err(|e| format!("bad URL {url}: {e}"))?;
    let mut current = base.clone();
    let (mut pages, mut objects) = (0u64, 0u64);
    loop {
        let resp = client
            .get(current.clone())
            .send()
            .await
            .map_err(|e| request_error(&current, &e))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| request_error(&current, &e))?;
        if !status.is_success() {
            return Err(format!(
                "GET {current}: HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            ));
        }
        let page: Value =
            serde_json::from_slice(&body).map_err(|e| format!("GET {current}: not JSON: {e}"))?;
        pages += 1;
        if let Some(list) = page.get("objects").and_then(Value::as_array) {
            objects += list.len() as u64;
            list.iter().for_each(&mut seen);
        }
        let more = page.get("more").and_then(Value::as_bool).unwrap_or(false);
        match page.get("next").and_then(Value::as_str) {
            Some(next) if more => current = with_next(&base, next),
            _ => return Ok((pages, objects)),
        }
    }
}

async fn run_walk(a: WalkArgs) -> Result<Value, String> {
    let client = client(&a.conn, 1)?;
    let start = Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_secs_f64(a.deadline),
        walk(&client, &a.url, |_| {}),
    )
    .await;
    let secs = start.elapsed().as_secs_f64();
    match outcome {
        Err(_) => Ok(
            json!({"ok": false, "timed_out": true, "error": format!("walk timed out after {} s", a.deadline), "seconds": round(secs)}),
        ),
        Ok(Err(e)) => Ok(json!({"ok": false, "error": e, "seconds": round(secs)})),
        Ok(Ok((pages, objects))) => Ok(json!({
            "ok": true, "url": a.url, "seconds": round(secs), "pages": pages, "objects": objects,
            "objects_per_s": round(if secs > 0.0 { objects as f64 / secs } else { 0.0 }),
        })),
    }
}

/// The key an object is verified by: its id and version (`modified`, else none for SCOs).
fn version_key(o: &Value) -> (String, String) {
    let field = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    (field("id"), field("modified"))
}

/// The API root URL of an objects URL (everything before `collections/`).
fn api_root_of(url: &str) -> Result<String, String> {
    url.find("/collections/")
        .map(|i| url[..=i].to_string())
        .ok_or_else(|| format!("{url} is not a collection URL"))
}

async fn run_ingest(a: IngestArgs) -> Result<Value, String> {
    let text = std::fs::read_to_string(&a.file)
        .map_err(|e| format!("cannot read {}: {e}", a.file.display()))?;
    let doc: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", a.file.display()))?;
    let objects = doc
        .get("objects")
        .and_then(Value::as_array)
        .ok_or("the file has no \"objects\" list")?;
    let bodies: Vec<String> = objects
        .chunks(a.envelope_size.max(1))
        .map(|c| json!({"objects": c}).to_string())
        .collect();
    let expected: HashSet<(String, String)> = objects.iter().map(version_key).collect();
    let total = objects.len();
    let api_root = api_root_of(&a.url)?;
    let client = client(&a.conn, a.writers)?;
    let deadline = Duration::from_secs_f64(a.deadline);
    let start = Instant::now();
    // Progress that a timeout report can still tell: objects the server said it stored, and
    // when every status was complete (before the read-back).
    let accepted = Arc::new(AtomicU64::new(0));
    let completed_ms = Arc::new(AtomicU64::new(0));
    let work = async {
        let bodies = Arc::new(bodies);
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..a.writers.max(1) {
            let (client, bodies, next, url, accepted) = (
                client.clone(),
                Arc::clone(&bodies),
                Arc::clone(&next),
                a.url.clone(),
                Arc::clone(&accepted),
            );
            tasks.push(tokio::spawn(async move {
                let mut pending = Vec::new();
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let t = Instant::now();
                    let resp = client
                        .post(&url)
                        .header(CONTENT_TYPE, TAXII)
                        .body(body.clone())
                        .send()
                        .await
                        .map_err(|e| post_error(&url, &e))?;
                    let status = resp.status();
                    let text = resp.text().await.map_err(|e| post_error(&url, &e))?;
                    lat.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                    if !status.is_success() {
                        return Err(format!(
                            "POST {url}: HTTP {status}: {}",
                            &text[..text.len().min(300)]
                        ));
                    }
                    let st: Value = serde_json::from_str(&text)
                        .map_err(|e| format!("POST {url}: not JSON: {e}"))?;
                    if st.get("failure_count").and_then(Value::as_u64).unwrap_or(0) > 0 {
                        return Err(format!(
                            "POST {url}: failures: {}",
                            &text[..text.len().min(300)]
                        ));
                    }
                    let count = |k: &str| st.get(k).and_then(Value::as_u64).unwrap_or(0);
                    accepted.fetch_add(count("success_count"), Ordering::Relaxed);
                    if st.get("status").and_then(Value::as_str) != Some("complete") {
                        let id = st
                            .get("id")
                            .and_then(Value::as_str)
                            .ok_or("a status without id")?;
                        pending.push(id.to_string());
                    }
                }
                Ok::<_, String>((pending, lat))
            }));
        }
        let mut pending = Vec::new();
        let mut lat = Vec::new();
        for t in tasks {
            let (p, l) = t.await.map_err(|e| e.to_string())??;
            pending.extend(p);
            lat.extend(l);
        }
        let posted = start.elapsed().as_secs_f64();
        let waited_for = pending.len();
        for id in pending {
            let url = format!("{api_root}status/{id}/");
            loop {
                let st: Value = client
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| format!("GET {url}: {e}"))?
                    .json()
                    .await
                    .map_err(|e| format!("GET {url}: {e}"))?;
                if st.get("status").and_then(Value::as_str) == Some("complete") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let complete = start.elapsed().as_secs_f64();
        completed_ms.store(
            u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        let s = stats::Summary::of(&mut lat);
        let mut report = json!({
            "ok": true, "url": a.url, "objects": total, "envelopes": lat.len(),
            "envelope_size": a.envelope_size, "writers": a.writers,
            "post_seconds": round(posted), "seconds": round(complete),
            "objects_per_s": round(if complete > 0.0 { total as f64 / complete } else { 0.0 }),
            "pending_statuses": waited_for,
            "envelope_p50_ms": round(s.p50_ms), "envelope_p99_ms": round(s.p99_ms),
        });
        if !a.no_verify {
            let t = Instant::now();
            let mut found: HashSet<(String, String)> = HashSet::new();
            let read_url = format!(
                "{}{}limit=100&match[version]=all",
                a.url,
                if a.url.contains('?') { "&" } else { "?" }
            );
            let walked = walk(&client, &read_url, |o| {
                found.insert(version_key(o));
            })
            .await;
            let (pages, read) = match walked {
                Ok(counts) => counts,
                Err(e) => {
                    report["ok"] = json!(false);
                    report["verified"] = json!(false);
                    report["error"] = json!(format!("reading back: {e}"));
                    return Ok(report);
                }
            };
            let missing = expected.difference(&found).count();
            report["verify_seconds"] = json!(round(t.elapsed().as_secs_f64()));
            report["read_back"] = json!(read);
            report["read_pages"] = json!(pages);
            report["missing"] = json!(missing);
            report["verified"] = json!(missing == 0);
            if missing > 0 {
                report["ok"] = json!(false);
                report["error"] = json!(format!(
                    "{missing} of {} posted versions not read back",
                    expected.len()
                ));
            }
        }
        Ok::<_, String>(report)
    };
    match tokio::time::timeout(deadline, work).await {
        Err(_) => {
            let secs = start.elapsed().as_secs_f64();
            let done = completed_ms.load(Ordering::Relaxed);
            // The rate until the deadline (or until every status was complete, when only the
            // read-back ran out of time): an upper bound for a server that slows as it fills.
            let (stored, over) = if done > 0 {
                (total as u64, done as f64 / 1000.0)
            } else {
                (accepted.load(Ordering::Relaxed), secs)
            };
            let what = if done > 0 { "reading back" } else { "posting" };
            Ok(json!({
                "ok": false, "timed_out": true,
                "error": format!("ingest timed out after {} s ({what})", a.deadline),
                "seconds": round(secs), "objects": total, "objects_stored": stored,
                "objects_per_s_until_timeout": round(stored as f64 / over.max(0.001)),
            }))
        }
        Ok(Err(e)) => {
            Ok(json!({"ok": false, "error": e, "seconds": round(start.elapsed().as_secs_f64())}))
        }
        Ok(Ok(r)) => Ok(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_replaces_previous_next() {
        let base = reqwest::Url::parse("http://h/bench/collections/x/objects/?limit=100&next=old")
            .unwrap_or_else(|e| panic!("{e}"));
        let u = with_next(&base, "a+b/c=");
        assert_eq!(
            u.as_str(),
            "http://h/bench/collections/x/objects/?limit=100&next=a%2Bb%2Fc%3D"
        );
    }

    #[test]
    fn api_root_from_objects_url() {
        assert_eq!(
            api_root_of("http://h/bench/collections/x/objects/").as_deref(),
            Ok("http://h/bench/")
        );
        assert!(api_root_of("http://h/taxii2/").is_err());
    }
}
