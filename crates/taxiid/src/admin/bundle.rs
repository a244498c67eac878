//! Reading a STIX bundle or TAXII envelope file incrementally: the `objects` list is handed
//! out in batches of raw JSON texts while the rest of the document is skipped, so a file of
//! any size is read in constant memory. Also the progress display of a long import.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, IsTerminal};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

/// A batch of envelope members, in file order.
pub(crate) type Batch = Vec<Box<RawValue>>;

const STOPPED: &str = "the import stopped";

/// Where the members go: `None` only counts them (the checking pass).
#[derive(Clone, Copy)]
pub(crate) struct Sink<'a> {
    pub tx: &'a mpsc::Sender<Batch>,
    pub batch: usize,
}

/// Reads the file once: checks that it is JSON, one object with an `objects` list and, when
/// it has a `type`, that it is `"bundle"`; sends the members to `sink` in batches. Returns
/// how many members the list has. Blocking: run it off the async runtime.
pub(crate) fn scan(path: &Path, sink: Option<Sink<'_>>) -> Result<u64, String> {
    let file = File::open(path).map_err(|e| format!("{}: cannot be read: {e}", path.display()))?;
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, file));
    let count = Envelope { sink }
        .deserialize(&mut de)
        .and_then(|n| de.end().map(|()| n))
        .map_err(|e| describe(path, &e))?;
    Ok(count)
}

/// `FILE: invalid JSON: … at line L column C`, or the shape problem found.
pub(crate) fn describe(path: &Path, e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "cannot be read: ",
        Category::Syntax | Category::Eof => "invalid JSON: ",
        Category::Data => "",
    };
    format!("{}: {what}{e}", path.display())
}

struct Envelope<'a> {
    sink: Option<Sink<'a>>,
}

impl<'de> DeserializeSeed<'de> for Envelope<'_> {
    type Value = u64;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Envelope<'_> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a STIX bundle or TAXII envelope (a JSON object with an 'objects' list)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
        let mut count = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "objects" if count.is_some() => {
                    return Err(de::Error::custom("'objects' appears twice"));
                }
                "objects" => count = Some(map.next_value_seed(Objects { sink: self.sink })?),
                "type" => {
                    let t: Value = map.next_value()?;
                    if t != "bundle" {
                        return Err(de::Error::custom(format!(
                            "not a STIX bundle or TAXII envelope: its 'type' is {t}, not \"bundle\""
                        )));
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        count.ok_or_else(|| {
            de::Error::custom(
                "not a STIX bundle or TAXII envelope: there is no 'objects' list (a medallion data file is imported without --api-root and --collection)",
            )
        })
    }
}

struct Objects<'a> {
    sink: Option<Sink<'a>>,
}

impl<'de> DeserializeSeed<'de> for Objects<'_> {
    type Value = u64;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Objects<'_> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("'objects' to be a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut n = 0;
        let Some(sink) = self.sink else {
            while seq.next_element::<IgnoredAny>()?.is_some() {
                n += 1;
            }
            return Ok(n);
        };
        let send = |batch: Batch| {
            sink.tx
                .blocking_send(batch)
                .map_err(|_| de::Error::custom(STOPPED))
        };
        let mut batch = Vec::with_capacity(sink.batch);
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            n += 1;
            batch.push(raw);
            if batch.len() >= sink.batch {
                send(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(sink.batch),
                ))?;
            }
        }
        if !batch.is_empty() {
            send(batch)?;
        }
        Ok(n)
    }
}

/// Progress of an import on stderr: a bar redrawn in place on a terminal, a log line every
/// few seconds otherwise.
pub(crate) struct Progress {
    tty: bool,
    label: String,
    total: u64,
    start: Instant,
    last: Instant,
}

impl Progress {
    pub fn new(label: String, total: u64) -> Self {
        let now = Instant::now();
        Progress {
            tty: std::io::stderr().is_terminal(),
            label,
            total,
            start: now,
            last: now,
        }
    }

    fn line(&self, done: u64) -> String {
        let secs = self.start.elapsed().as_secs_f64().max(0.001);
        let rate = done as f64 / secs;
        let pct = (done * 100).checked_div(self.total).unwrap_or(100);
        format!(
            "{done}/{} objects ({pct}%), {rate:.0} objects/s",
            self.total
        )
    }

    pub fn update(&mut self, done: u64) {
        let every = if self.tty {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(5)
        };
        if self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        if self.tty {
            const WIDTH: u64 = 30;
            let filled = (done * WIDTH).checked_div(self.total).unwrap_or(WIDTH);
            let bar: String = (0..WIDTH)
                .map(|i| if i < filled { '#' } else { '-' })
                .collect();
            eprint!("\r\x1b[2K{} [{bar}] {}", self.label, self.line(done));
        } else {
            eprintln!("taxiid: {}: {}", self.label, self.line(done));
        }
    }

    pub fn finish(&mut self, done: u64) {
        let secs = self.start.elapsed().as_secs_f64();
        if self.tty {
            eprintln!(
                "\r\x1b[2K{}: {} in {secs:.1} s",
                self.label,
                self.line(done)
            );
        } else {
            eprintln!("taxiid: {}: {} in {secs:.1} s", self.label, self.line(done));
        }
    }
}
