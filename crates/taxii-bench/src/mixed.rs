//! `mixed`: R readers and W writers against one collection at the same time, for a fixed
//! duration (the benchmark's mixed-load scenario: 32 readers, 4 writers).
//!
//! - **Readers** share a keep-alive connection pool (one connection each) and loop: GET
//!   `READ_URL`, follow `next` for up to `--pages` pages in all, then start over from `READ_URL`
//!   (also after any failed page). A read counts as successful when its answer is 2xx; a 2xx
//!   page that has to be followed but is not a JSON object counts as `bad-json`. The last page
//!   of a chain is not parsed.
//! - **Writers**: FILE (`gen --format envelope`) is cut into envelopes of `--envelope-size`
//!   objects, dealt round-robin to the writers (disjoint slices, no envelope posted twice: a
//!   second post of the same versions would only measure duplicate detection). Each writer POSTs
//!   its envelopes one after the other and times each POST. A POST succeeds when it is 2xx with
//!   a status resource whose `failure_count` is 0 (as `ingest` judges it); objects accepted are
//!   `success_count + pending_count` of every status (a `pending` status is counted, not waited
//!   for; `write_pending` says how many there were).
//! - **When FILE runs out** (a writer has posted its whole slice before the duration is over)
//!   the whole run stops, readers included, so that every number describes a mixed load:
//!   `file_exhausted` is true, `seconds` is shorter than `--duration`, and `note` says so. Give
//!   a larger FILE (about `writers × duration × objects/s`) for a full-length run.
//!
//! Outcomes are counted by HTTP status, or `timeout`, `connect-error`, `body-error`, `bad-json`
//! (reads), `bad-status` and `failures` (writes); anything not 2xx is an error. Rates are per
//! second of `seconds`, the wall time until the last request finished.
//!
//! `ok` is false when no read succeeded, no object was accepted, or more than 1% of the reads or
//! more than 1% of the POSTs were errors; `error` then says why.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::stats::Summary;
use crate::{MixedArgs, TAXII, client, round, with_next};

/// Errors above this share of requests (reads and writes separately) make `ok` false.
const MAX_ERROR_SHARE: f64 = 0.01;

/// Cuts `objects` objects into envelopes of `envelope_size` (the last one may be smaller) and
/// deals them round-robin to `writers` writers: writer `w` gets envelopes `w`, `w + writers`, …
/// The slices are disjoint, cover every object once, and differ by at most one envelope.
pub(crate) fn envelope_slices(
    objects: usize,
    envelope_size: usize,
    writers: usize,
) -> Vec<Vec<Range<usize>>> {
    let size = envelope_size.max(1);
    let mut slices = vec![Vec::new(); writers.max(1)];
    let writers = slices.len();
    let mut start = 0;
    let mut n = 0;
    while start < objects {
        let end = (start + size).min(objects);
        slices[n % writers].push(start..end);
        start = end;
        n += 1;
    }
    slices
}

/// The `next` token of a page, if it says `more`; an error when the page is not a JSON object.
fn next_token(body: &[u8]) -> Result<Option<String>, serde_json::Error> {
    let page: BTreeMap<String, &RawValue> = serde_json::from_slice(body)?;
    let more = page
        .get("more")
        .and_then(|r| serde_json::from_str::<bool>(r.get()).ok())
        .unwrap_or(false);
    if !more {
        return Ok(None);
    }
    Ok(page
        .get("next")
        .and_then(|r| serde_json::from_str::<String>(r.get()).ok()))
}

/// What a 2xx answer to a POST says: (outcome, objects accepted, status still pending).
/// The outcome is the HTTP code, `failures` when `failure_count` > 0, or `bad-status` when
/// the body is not a status resource.
fn judge_status(code: &str, body: &[u8]) -> (String, u64, bool) {
    let st: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return ("bad-status".to_string(), 0, false),
    };
    let Some(state) = st.get("status").and_then(Value::as_str) else {
        return ("bad-status".to_string(), 0, false);
    };
    let n = |k: &str| st.get(k).and_then(Value::as_u64).unwrap_or(0);
    let accepted = n("success_count") + n("pending_count");
    let outcome = if n("failure_count") > 0 {
        "failures".to_string()
    } else {
        code.to_string()
    };
    (outcome, accepted, state != "complete")
}

/// The outcome of a request that got no complete answer.
fn failure(e: &reqwest::Error, sending: bool) -> String {
    if e.is_timeout() {
        "timeout"
    } else if sending {
        "connect-error"
    } else {
        "body-error"
    }
    .to_string()
}

fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

fn is_error(outcome: &str) -> bool {
    !outcome.starts_with('2')
}

/// Latencies and outcomes of one kind of request.
#[derive(Debug, Default)]
struct Tally {
    micros: Vec<u64>,
    outcomes: BTreeMap<String, u64>,
    /// Reads that followed `next`.
    followed: u64,
    /// Objects accepted by the writes.
    accepted: u64,
    /// Writes whose status was still pending.
    pending: u64,
}

impl Tally {
    fn record(&mut self, micros: u64, outcome: String) {
        self.micros.push(micros);
        *self.outcomes.entry(outcome).or_default() += 1;
    }

    fn merge(&mut self, other: Self) {
        self.micros.extend(other.micros);
        for (k, v) in other.outcomes {
            *self.outcomes.entry(k).or_default() += v;
        }
        self.followed += other.followed;
        self.accepted += other.accepted;
        self.pending += other.pending;
    }

    fn requests(&self) -> u64 {
        self.micros.len() as u64
    }

    fn errors(&self) -> u64 {
        self.outcomes
            .iter()
            .filter(|(k, _)| is_error(k))
            .map(|(_, v)| v)
            .sum()
    }
}

/// Whether the run is over (deadline passed, or FILE ran out).
fn over(stop: &AtomicBool, deadline: Instant) -> bool {
    stop.load(Ordering::Relaxed) || Instant::now() >= deadline
}

/// Sends one request and reads its answer: (HTTP code or failure, the body when 2xx).
async fn exchange(request: reqwest::RequestBuilder) -> (String, Option<impl AsRef<[u8]>>) {
    match request.send().await {
        Ok(resp) => {
            let status = resp.status();
            match resp.bytes().await {
                Ok(body) => (
                    status.as_u16().to_string(),
                    status.is_success().then_some(body),
                ),
                Err(e) => (failure(&e, false), None),
            }
        }
        Err(e) => (failure(&e, true), None),
    }
}

async fn reader(
    client: reqwest::Client,
    base: reqwest::Url,
    pages: usize,
    stop: Arc<AtomicBool>,
    deadline: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut current = base.clone();
    let mut page = 1;
    while !over(&stop, deadline) {
        if page > 1 {
            tally.followed += 1;
        }
        let t = Instant::now();
        let (mut outcome, body) = exchange(client.get(current.clone())).await;
        let lat = micros(t);
        let mut next = None;
        if let Some(body) = body
            && page < pages
        {
            match next_token(body.as_ref()) {
                Ok(token) => next = token,
                Err(_) => outcome = "bad-json".to_string(),
            }
        }
        tally.record(lat, outcome);
        match next {
            Some(token) => {
                current = with_next(&base, &token);
                page += 1;
            }
            None => {
                current.clone_from(&base);
                page = 1;
            }
        }
    }
    tally
}

/// Posts `bodies` in order until the run is over; sets `exhausted` (and `stop`) when it posted
/// all of them before the deadline.
async fn writer(
    client: reqwest::Client,
    url: reqwest::Url,
    bodies: Vec<String>,
    stop: Arc<AtomicBool>,
    exhausted: Arc<AtomicBool>,
    deadline: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut ran_out = true;
    for body in bodies {
        if over(&stop, deadline) {
            ran_out = false;
            break;
        }
        let t = Instant::now();
        let request = client
            .post(url.clone())
            .header(CONTENT_TYPE, TAXII)
            .body(body);
        let (mut outcome, answer) = exchange(request).await;
        let lat = micros(t);
        if let Some(answer) = answer {
            let (judged, accepted, pending) = judge_status(&outcome, answer.as_ref());
            outcome = judged;
            tally.accepted += accepted;
            tally.pending += u64::from(pending);
        }
        tally.record(lat, outcome);
    }
    if ran_out && Instant::now() < deadline {
        exhausted.store(true, Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
    }
    tally
}

pub(crate) async fn run_mixed(a: MixedArgs) -> Result<Value, String> {
    if a.readers == 0 || a.writers == 0 {
        return Err("--readers and --writers must be at least 1".to_string());
    }
    if !a.duration.is_finite() || a.duration <= 0.0 {
        return Err("--duration must be a positive number of seconds".to_string());
    }
    let read_url =
        reqwest::Url::parse(&a.read_url).map_err(|e| format!("bad URL {}: {e}", a.read_url))?;
    let write_url =
        reqwest::Url::parse(&a.write_url).map_err(|e| format!("bad URL {}: {e}", a.write_url))?;
    let text = std::fs::read_to_string(&a.file)
        .map_err(|e| format!("cannot read {}: {e}", a.file.display()))?;
    let doc: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", a.file.display()))?;
    drop(text);
    let objects = doc
        .get("objects")
        .and_then(Value::as_array)
        .ok_or("the file has no \"objects\" list")?;
    let slices = envelope_slices(objects.len(), a.envelope_size, a.writers);
    if slices.iter().any(Vec::is_empty) {
        return Err(format!(
            "{} objects make fewer than {} envelopes of {}: every writer needs at least one",
            objects.len(),
            a.writers,
            a.envelope_size
        ));
    }
    let bodies: Vec<Vec<String>> = slices
        .iter()
        .map(|slice| {
            slice
                .iter()
                .map(|r| json!({"objects": &objects[r.clone()]}).to_string())
                .collect()
        })
        .collect();
    let file_objects = objects.len();
    drop(doc);

    let client = client(&a.conn, a.readers + a.writers)?;
    let stop = Arc::new(AtomicBool::new(false));
    let exhausted = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.duration);
    let readers: Vec<_> = (0..a.readers)
        .map(|_| {
            tokio::spawn(reader(
                client.clone(),
                read_url.clone(),
                a.pages.max(1),
                Arc::clone(&stop),
                deadline,
            ))
        })
        .collect();
    let writers: Vec<_> = bodies
        .into_iter()
        .map(|mine| {
            tokio::spawn(writer(
                client.clone(),
                write_url.clone(),
                mine,
                Arc::clone(&stop),
                Arc::clone(&exhausted),
                deadline,
            ))
        })
        .collect();
    let mut reads = Tally::default();
    for t in readers {
        reads.merge(t.await.map_err(|e| e.to_string())?);
    }
    let mut writes = Tally::default();
    for t in writers {
        writes.merge(t.await.map_err(|e| e.to_string())?);
    }
    let secs = start.elapsed().as_secs_f64();
    let per_s = |n: u64| round(if secs > 0.0 { n as f64 / secs } else { 0.0 });
    let file_exhausted = exhausted.load(Ordering::Relaxed);

    let (read_requests, read_errors) = (reads.requests(), reads.errors());
    let (write_posts, write_errors) = (writes.requests(), writes.errors());
    let read_ok = read_requests - read_errors;
    let write_objects = writes.accepted;
    let mut problems = Vec::new();
    if read_ok == 0 {
        problems.push("no read succeeded".to_string());
    }
    if write_objects == 0 {
        problems.push("no object was accepted".to_string());
    }
    let share = |errors: u64, total: u64| {
        if total > 0 {
            errors as f64 / total as f64
        } else {
            0.0
        }
    };
    if share(read_errors, read_requests) > MAX_ERROR_SHARE {
        problems.push(format!(
            "{read_errors} of {read_requests} reads failed (more than 1%)"
        ));
    }
    if share(write_errors, write_posts) > MAX_ERROR_SHARE {
        problems.push(format!(
            "{write_errors} of {write_posts} POSTs failed (more than 1%)"
        ));
    }
    let r = Summary::of(&mut reads.micros);
    let w = Summary::of(&mut writes.micros);
    let mut report = json!({
        "ok": problems.is_empty(),
        "seconds": round(secs),
        "duration": a.duration,
        "readers": a.readers,
        "writers": a.writers,
        "read_rps": per_s(read_ok),
        "read_p50_ms": round(r.p50_ms),
        "read_p99_ms": round(r.p99_ms),
        "read_requests": read_requests,
        "read_next": reads.followed,
        "read_errors": read_errors,
        "read_status": reads.outcomes,
        "write_objects_per_s": per_s(write_objects),
        "write_objects": write_objects,
        "write_posts": write_posts,
        "write_p50_ms": round(w.p50_ms),
        "write_p99_ms": round(w.p99_ms),
        "write_errors": write_errors,
        "write_status": writes.outcomes,
        "write_pending": writes.pending,
        "envelope_size": a.envelope_size,
        "file_objects": file_objects,
        "file_exhausted": file_exhausted,
    });
    if file_exhausted {
        report["note"] = json!(format!(
            "{} ran out ({file_objects} objects) after {:.2} s of the {} s: the run stopped early",
            a.file.display(),
            secs,
            a.duration
        ));
    }
    if !problems.is_empty() {
        report["error"] = json!(problems.join("; "));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_disjoint_balanced_and_cover_everything() {
        for (objects, size, writers) in [(20_000, 100, 4), (1_050, 100, 4), (7, 3, 2), (5, 10, 3)] {
            let slices = envelope_slices(objects, size, writers);
            assert_eq!(slices.len(), writers);
            let mut all: Vec<Range<usize>> = slices.iter().flatten().cloned().collect();
            all.sort_by_key(|r| r.start);
            let mut at = 0;
            for r in &all {
                assert_eq!(r.start, at, "{objects}/{size}/{writers}: gap or overlap");
                assert!(r.end > r.start && r.end - r.start <= size);
                at = r.end;
            }
            assert_eq!(at, objects);
            let counts: Vec<usize> = slices.iter().map(Vec::len).collect();
            let (min, max) = (counts.iter().min(), counts.iter().max());
            assert!(max.zip(min).is_some_and(|(a, b)| a - b <= 1), "{counts:?}");
        }
        let s = envelope_slices(1_050, 100, 4);
        assert_eq!(s[0], vec![0..100, 400..500, 800..900]);
        assert_eq!(s[2], vec![200..300, 600..700, 1000..1050]);
        assert_eq!(s[3], vec![300..400, 700..800]);
        // Fewer envelopes than writers: some slices are empty (run_mixed refuses that).
        assert!(envelope_slices(5, 10, 3)[1].is_empty());
        assert!(envelope_slices(0, 10, 2).iter().all(Vec::is_empty));
    }

    #[test]
    fn next_token_only_when_more() {
        let page = br#"{"more": true, "next": "a+b/c=", "objects": [{"id": "x", "next": "no"}]}"#;
        assert_eq!(next_token(page).ok().flatten().as_deref(), Some("a+b/c="));
        let last = br#"{"objects": [], "more": false, "next": "x"}"#;
        assert_eq!(next_token(last).ok().flatten(), None);
        assert_eq!(next_token(b"{}").ok().flatten(), None);
        assert!(next_token(b"[1]").is_err());
        assert!(next_token(b"not json").is_err());
    }

    #[test]
    fn statuses_are_judged_like_ingest() {
        let complete = br#"{"id":"s","status":"complete","total_count":100,
            "success_count":100,"failure_count":0,"pending_count":0}"#;
        assert_eq!(
            judge_status("202", complete),
            ("202".to_string(), 100, false)
        );
        let pending = br#"{"id":"s","status":"pending","total_count":100,
            "success_count":40,"failure_count":0,"pending_count":60}"#;
        assert_eq!(judge_status("202", pending), ("202".to_string(), 100, true));
        let failed = br#"{"id":"s","status":"complete","total_count":100,
            "success_count":98,"failure_count":2,"pending_count":0}"#;
        assert_eq!(
            judge_status("202", failed),
            ("failures".to_string(), 98, false)
        );
        assert_eq!(judge_status("202", b"{}").0, "bad-status");
        assert_eq!(judge_status("200", b"<html>").0, "bad-status");
        assert!(is_error("failures") && is_error("timeout") && !is_error("202"));
    }
}
