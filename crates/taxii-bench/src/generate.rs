//! Deterministic STIX 2.1 data: indicators, malware, relationships and SCOs (ipv4-addr,
//! domain-name), about 20% of the SDOs/SROs with 2–3 versions. The same `(objects, seed)` always
//! gives the same bytes.

use serde_json::{Value, json};

/// The first `created` timestamp, 2024-01-01T00:00:00Z, in seconds since the Unix epoch.
const BASE_SECS: i64 = 1_704_067_200;

/// SplitMix64: small, fast, and good enough to spread types and values.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A random (version 4 layout) UUID.
    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

/// One stored object version and the `date_added` it gets in a medallion data file.
#[derive(Debug, Clone)]
pub struct Version {
    pub object: Value,
    pub id: String,
    pub version: String,
    pub date_added: String,
}

/// The generated data set.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub versions: Vec<Version>,
    /// Distinct object ids.
    pub logical: usize,
    /// Objects with more than one version.
    pub multi_version: usize,
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A STIX timestamp with `digits` fractional digits (3 or 6) from microseconds since the epoch.
pub fn timestamp(micros: i64, digits: usize) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let fraction = if digits == 3 {
        format!("{:03}", frac / 1000)
    } else {
        format!("{frac:06}")
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{fraction}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The `date_added` of the `index`-th version in a medallion data file: one millisecond apart,
/// strictly increasing, starting at 2025-01-01T00:00:00Z.
pub fn date_added(index: usize) -> String {
    let base = (BASE_SECS + 366 * 86_400) * 1_000_000;
    timestamp(base + i64::try_from(index).unwrap_or(0) * 1000, 6)
}

const MALWARE_NAMES: &[&str] = &[
    "Poison Ivy",
    "Emotet",
    "TrickBot",
    "Qakbot",
    "Ryuk",
    "Dridex",
];
const TLDS: &[&str] = &["com", "net", "org", "io", "example"];

/// Generates exactly `count` object versions from `seed`.
pub fn generate(count: usize, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let mut versions: Vec<Version> = Vec::with_capacity(count);
    let mut indicators: Vec<String> = Vec::new();
    let mut malware: Vec<String> = Vec::new();
    let mut logical = 0usize;
    let mut multi_version = 0usize;
    let mut n = 0u64;
    while versions.len() < count {
        n += 1;
        let created_us = (BASE_SECS + i64::try_from(n).unwrap_or(0) * 60) * 1_000_000;
        let created = timestamp(created_us, 3);
        // Types: 40% indicator, 10% malware, 25% relationship, 25% SCO; a relationship needs
        // an indicator and a malware to point at.
        let roll = rng.below(100);
        let kind = if malware.is_empty() {
            1
        } else if indicators.is_empty() || roll < 40 {
            0
        } else if roll < 50 {
            1
        } else if roll < 75 {
            2
        } else {
            3
        };
        logical += 1;
        if kind == 3 {
            let (ty, value) = if rng.below(2) == 0 {
                (
                    "ipv4-addr",
                    format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff),
                )
            } else {
                let tld = TLDS[usize::try_from(rng.below(TLDS.len() as u64)).unwrap_or(0)];
                ("domain-name", format!("host{n}.bench.{tld}"))
            };
            let id = format!("{ty}--{}", rng.uuid());
            let object = json!({"type": ty, "spec_version": "2.1", "id": id, "value": value});
            let date_added = date_added(versions.len());
            versions.push(Version {
                object,
                version: date_added.clone(),
                id,
                date_added,
            });
            continue;
        }
        let ty = ["indicator", "malware", "relationship"][kind];
        let id = format!("{ty}--{}", rng.uuid());
        // ~20% of all objects are SDOs/SROs with 2 or 3 versions.
        let nversions = if rng.below(100) < 27 {
            2 + rng.below(2)
        } else {
            1
        };
        if nversions > 1 {
            multi_version += 1;
        }
        let base = match kind {
            0 => {
                let hash = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());
                json!({
                    "type": ty, "spec_version": "2.1", "id": id, "created": created,
                    "modified": created, "name": format!("Indicator {n}"),
                    "indicator_types": ["malicious-activity"],
                    "pattern": format!("[file:hashes.MD5 = '{hash}']"),
                    "pattern_type": "stix", "valid_from": created,
                })
            }
            1 => {
                let name = MALWARE_NAMES
                    [usize::try_from(rng.below(MALWARE_NAMES.len() as u64)).unwrap_or(0)];
                json!({
                    "type": ty, "spec_version": "2.1", "id": id, "created": created,
                    "modified": created, "name": format!("{name} {n}"), "is_family": true,
                    "malware_types": ["trojan"],
                })
            }
            _ => {
                let s =
                    &indicators[usize::try_from(rng.below(indicators.len() as u64)).unwrap_or(0)];
                let t = &malware[usize::try_from(rng.below(malware.len() as u64)).unwrap_or(0)];
                json!({
                    "type": ty, "spec_version": "2.1", "id": id, "created": created,
                    "modified": created, "relationship_type": "indicates",
                    "source_ref": s, "target_ref": t,
                })
            }
        };
        match kind {
            0 => indicators.push(id.clone()),
            1 => malware.push(id.clone()),
            _ => {}
        }
        for v in 0..nversions {
            if versions.len() >= count {
                break;
            }
            let mut object = base.clone();
            let modified = timestamp(
                created_us + i64::try_from(v).unwrap_or(0) * 3_600_000_000,
                3,
            );
            if let Some(map) = object.as_object_mut() {
                map.insert("modified".into(), Value::String(modified.clone()));
                if v > 0 {
                    map.insert("description".into(), Value::String(format!("revision {v}")));
                }
            }
            let date_added = date_added(versions.len());
            versions.push(Version {
                object,
                id: id.clone(),
                version: modified,
                date_added,
            });
        }
    }
    Dataset {
        versions,
        logical,
        multi_version,
    }
}

/// A TAXII envelope (`{"objects": [...]}`) of every version.
pub fn envelope(data: &Dataset) -> Value {
    json!({"objects": data.versions.iter().map(|v| v.object.clone()).collect::<Vec<_>>()})
}

/// The id of the seeded collection in a medallion data file.
pub const OBJECTS_COLLECTION: &str = "4f8e2c1a-0b6d-4c3e-9a7f-1d2e3f4a5b6c";
/// The id of the first empty collection that ingest scenarios write to.
pub const INGEST_COLLECTION: &str = "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";

/// The ids of `n` empty collections for writes: `INGEST_COLLECTION`, then fixed ids of the
/// same shape (each repeat of a write scenario gets an empty collection of its own, so that
/// repeats measure the same thing).
pub fn ingest_collections(n: usize) -> Vec<String> {
    (0..n.max(1))
        .map(|i| match i {
            0 => INGEST_COLLECTION.to_owned(),
            _ => format!("9a1b2c3d-4e5f-4a6b-8c7d-{i:012}"),
        })
        .collect()
}

/// A medallion data file: API root `bench` with the collection `objects` (every version, with
/// its `date_added`) and `ingest_collections` empty, writable collections titled `ingest`,
/// `ingest-2`, ...
pub fn medallion_file(data: &Dataset, host: &str, ingest_collections: usize) -> Value {
    let media = "application/stix+json;version=2.1";
    let manifest: Vec<Value> = data
        .versions
        .iter()
        .map(|v| json!({"id": v.id, "date_added": v.date_added, "version": v.version, "media_type": media}))
        .collect();
    // medallion versions an object without `modified`/`created` (an SCO) by `_date_added`.
    let stored: Vec<Value> = data
        .versions
        .iter()
        .map(|v| {
            let mut o = v.object.clone();
            if let Some(map) = o.as_object_mut()
                && !map.contains_key("modified")
            {
                map.insert("_date_added".into(), Value::String(v.date_added.clone()));
            }
            o
        })
        .collect();
    let mut collections = vec![json!({
        "id": OBJECTS_COLLECTION, "title": "objects", "description": "seeded data",
        "can_read": true, "can_write": true, "media_types": [media],
        "objects": stored,
        "manifest": manifest,
    })];
    collections.extend(ingest_collections_json(ingest_collections, media));
    json!({
        "/discovery": {
            "title": "taxii-bench", "description": "benchmark data",
            "default": format!("{host}/bench/"), "api_roots": [format!("{host}/bench/")],
        },
        "bench": {
            "information": {
                "title": "Benchmark API root",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 104_857_600,
            },
            "status": [],
            "collections": collections,
        },
    })
}

fn ingest_collections_json(n: usize, media: &str) -> impl Iterator<Item = Value> + '_ {
    ingest_collections(n)
        .into_iter()
        .enumerate()
        .map(move |(i, id)| {
            let title = if i == 0 {
                "ingest".to_owned()
            } else {
                format!("ingest-{}", i + 1)
            };
            json!({
                "id": id, "title": title, "description": "ingest target",
                "can_read": true, "can_write": true, "media_types": [media],
                "objects": [], "manifest": [],
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn a_data_file_has_the_empty_ingest_collections_asked_for() {
        let doc = medallion_file(&generate(10, 1), "http://h", 3);
        let colls = doc["bench"]["collections"].as_array().unwrap();
        let titles: Vec<&str> = colls.iter().map(|c| c["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["objects", "ingest", "ingest-2", "ingest-3"]);
        let ids: Vec<&str> = colls[1..]
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ingest_collections(3));
        assert_eq!(ids[0], INGEST_COLLECTION);
        let distinct: std::collections::HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), 3);
        assert!(colls[1..].iter().all(|c| c["objects"] == json!([])));
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = envelope(&generate(500, 7)).to_string();
        let b = envelope(&generate(500, 7)).to_string();
        let c = envelope(&generate(500, 8)).to_string();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn exact_count_and_version_shares() {
        let d = generate(10_000, 1);
        assert_eq!(d.versions.len(), 10_000);
        let mut per_id: HashMap<&str, usize> = HashMap::new();
        for v in &d.versions {
            *per_id.entry(v.id.as_str()).or_default() += 1;
        }
        assert_eq!(per_id.len(), d.logical);
        let multi = per_id.values().filter(|&&n| n > 1).count();
        assert_eq!(multi, d.multi_version);
        assert!(per_id.values().all(|&n| (1..=3).contains(&n)));
        let share = multi as f64 / d.logical as f64;
        assert!(
            (0.15..=0.25).contains(&share),
            "share of multi-version objects {share}"
        );
        for ty in [
            "indicator--",
            "malware--",
            "relationship--",
            "ipv4-addr--",
            "domain-name--",
        ] {
            assert!(per_id.keys().any(|id| id.starts_with(ty)), "no {ty}");
        }
        // Versions of one object are distinct, date_added strictly increases.
        let mut seen = std::collections::HashSet::new();
        for v in &d.versions {
            assert!(seen.insert((v.id.clone(), v.version.clone())));
        }
        assert!(
            d.versions
                .windows(2)
                .all(|w| w[0].date_added < w[1].date_added)
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0, 3), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            timestamp(BASE_SECS * 1_000_000 + 1_500, 6),
            "2024-01-01T00:00:00.001500Z"
        );
        assert_eq!(
            timestamp(951_782_400 * 1_000_000, 3),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(date_added(1), "2025-01-01T00:00:00.001000Z");
    }
}
