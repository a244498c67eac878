//! medallion's memory-backend data file: load it exactly (every `date_added`, version string
//! and status as stored) and write it back in a form medallion itself loads.
//!
//! Shape: `{"/discovery": {...}, "<api root>": {"information": {...}, "status": [...],
//! "collections": [{..., "objects": [...], "manifest": [...]}]}}`. Members of stored objects
//! whose name starts with `_` (medallion's hidden `_date_added` on SCOs) are storage metadata:
//! used to pair the object with its manifest entry, never served.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};
use taxii_model::{Position, SpecVersion, Timestamp};

use super::collection::CollectionData;
use super::{Data, MemoryStore, RootData};
use crate::{CollectionRecord, Grant, StatusRecord, StoredVersion};

/// What is wrong with a data file, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct MedallionFileError {
    pub location: String,
    pub problem: String,
}

fn err<T>(location: &str, problem: impl Into<String>) -> Result<T, MedallionFileError> {
    Err(MedallionFileError {
        location: location.to_owned(),
        problem: problem.into(),
    })
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, MedallionFileError> {
    match v.as_object() {
        Some(m) => Ok(m),
        None => err(at, "must be a JSON object"),
    }
}

fn array<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<&'a [Value], MedallionFileError> {
    match m.get(key) {
        None => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => err(at, format!("'{key}' must be a list")),
    }
}

fn string<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<&'a str, MedallionFileError> {
    match m.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => err(at, format!("'{key}' must be a string")),
        None => err(at, format!("'{key}' is missing")),
    }
}

fn opt_string(
    m: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<String>, MedallionFileError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => err(at, format!("'{key}' must be a string")),
    }
}

fn boolean(m: &Map<String, Value>, key: &str, at: &str) -> Result<bool, MedallionFileError> {
    match m.get(key) {
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => err(at, format!("'{key}' must be true or false")),
        None => err(at, format!("'{key}' is missing")),
    }
}

fn timestamp(text: &str, at: &str) -> Result<Timestamp, MedallionFileError> {
    Timestamp::parse(text).or_else(|e| err(at, e.to_string()))
}

/// Whether `name` can be an API root path: segments of URL-safe characters, no empty ones.
pub(crate) fn valid_root_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-._~".contains(&c))
        })
}

const COLLECTION_KEYS: [&str; 10] = [
    "id",
    "title",
    "description",
    "alias",
    "can_read",
    "can_write",
    "media_types",
    "objects",
    "manifest",
    "responses",
];

impl MemoryStore {
    /// Loads a medallion data file. `loaded_at` is when statuses in it count as created, so
    /// retention does not purge them the moment the server starts.
    pub fn from_medallion(
        doc: &Value,
        loaded_at: Timestamp,
    ) -> Result<MemoryStore, MedallionFileError> {
        let top = object(doc, "the data file")?;
        let mut data = Data::default();
        for (key, value) in top {
            if key == "/discovery" {
                data.discovery = Some(object(value, "/discovery")?.clone());
                continue;
            }
            if !valid_root_name(key) || key == "taxii2" {
                return err(key, "is not a usable API root name");
            }
            let root = load_root(key, object(value, key)?, loaded_at)?;
            data.roots.insert(key.clone(), root);
        }
        Ok(MemoryStore {
            data: parking_lot::RwLock::new(data),
        })
    }

    /// The whole store in medallion's data-file format.
    pub fn to_medallion(&self) -> Value {
        let data = self.data.read();
        let mut top = Map::new();
        if let Some(d) = &data.discovery {
            top.insert("/discovery".into(), Value::Object(d.clone()));
        }
        for (name, root) in &data.roots {
            let statuses = root
                .statuses
                .iter()
                .filter_map(|s| serde_json::from_str::<Value>(&s.json).ok())
                .collect();
            let collections = root.collections.values().map(save_collection).collect();
            let mut r = Map::new();
            r.insert(
                "information".into(),
                Value::Object(root.information.clone()),
            );
            r.insert("status".into(), Value::Array(statuses));
            r.insert("collections".into(), Value::Array(collections));
            top.insert(name.clone(), Value::Object(r));
        }
        Value::Object(top)
    }
}

fn load_root(
    name: &str,
    root: &Map<String, Value>,
    loaded_at: Timestamp,
) -> Result<RootData, MedallionFileError> {
    let information = match root.get("information") {
        Some(v) => object(v, &format!("{name}.information"))?.clone(),
        None => return err(name, "'information' is missing"),
    };
    let mut statuses = Vec::new();
    for (i, s) in array(root, "status", name)?.iter().enumerate() {
        let at = format!("{name}.status[{i}]");
        let id = string(object(s, &at)?, "id", &at)?;
        statuses.push(StatusRecord {
            api_root: name.to_owned(),
            id: id.to_owned(),
            owner: None,
            created: loaded_at,
            json: s.to_string(),
        });
    }
    let mut collections = BTreeMap::new();
    let mut aliases = HashSet::new();
    for (i, c) in array(root, "collections", name)?.iter().enumerate() {
        let at = format!("{name}.collections[{i}]");
        let coll = load_collection(object(c, &at)?, &at)?;
        if let Some(alias) = &coll.meta.alias
            && !aliases.insert(alias.clone())
        {
            return err(&at, format!("alias '{alias}' is used by two collections"));
        }
        if collections.contains_key(&coll.meta.id) {
            return err(
                &at,
                format!("collection id '{}' appears twice", coll.meta.id),
            );
        }
        collections.insert(coll.meta.id.clone(), coll);
    }
    Ok(RootData {
        information,
        collections,
        statuses,
    })
}

struct ManifestEntry<'a> {
    index: usize,
    date_added: Timestamp,
    version: &'a str,
    media_type: Option<String>,
}

/// TAXII 2.1's spelling of a STIX media type that medallion 1.x wrote the 2.0 way
/// (`application/vnd.oasis.stix+json; version=2.0`).
fn media_type_21(stored: &str) -> String {
    match stored.split_once(';') {
        Some((essence, params))
            if essence
                .trim()
                .eq_ignore_ascii_case("application/vnd.oasis.stix+json") =>
        {
            format!("application/stix+json;{}", params.replace(' ', ""))
        }
        _ => stored.to_owned(),
    }
}

fn load_collection(c: &Map<String, Value>, at: &str) -> Result<CollectionData, MedallionFileError> {
    let media_types = match c.get("media_types") {
        None => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|m| m.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map_or_else(|| err(at, "'media_types' must be a list of strings"), Ok)?,
        ),
        Some(_) => return err(at, "'media_types' must be a list of strings"),
    };
    let meta = CollectionRecord {
        id: string(c, "id", at)?.to_owned(),
        title: string(c, "title", at)?.to_owned(),
        description: opt_string(c, "description", at)?,
        alias: opt_string(c, "alias", at)?,
        read: Grant::from_flag(boolean(c, "can_read", at)?),
        write: Grant::from_flag(boolean(c, "can_write", at)?),
        media_types,
        extra: c
            .iter()
            .filter(|(k, _)| !COLLECTION_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    let mut manifest: HashMap<(String, Timestamp), ManifestEntry<'_>> = HashMap::new();
    for (i, m) in array(c, "manifest", at)?.iter().enumerate() {
        let mat = format!("{at}.manifest[{i}]");
        let m = object(m, &mat)?;
        let id = string(m, "id", &mat)?;
        let date_added = timestamp(string(m, "date_added", &mat)?, &mat)?;
        // medallion 1.x (TAXII 2.0) kept one entry per object: `versions` and `media_types`
        // lists, and the time the object was first added.
        let (versions, media_type) = match m.get("versions") {
            Some(Value::Array(list)) if !m.contains_key("version") => {
                let versions = list
                    .iter()
                    .map(Value::as_str)
                    .collect::<Option<Vec<&str>>>()
                    .map_or_else(|| err(&mat, "'versions' must be a list of strings"), Ok)?;
                let media = match m.get("media_types") {
                    Some(Value::Array(types)) => {
                        types.first().and_then(Value::as_str).map(media_type_21)
                    }
                    _ => None,
                };
                (versions, media)
            }
            _ => (
                vec![string(m, "version", &mat)?],
                opt_string(m, "media_type", &mat)?,
            ),
        };
        for version in versions {
            let entry = ManifestEntry {
                index: i,
                date_added,
                version,
                media_type: media_type.clone(),
            };
            manifest
                .entry((id.to_owned(), timestamp(version, &mat)?))
                .or_insert(entry);
        }
    }
    let mut loaded = Vec::new();
    let mut seen = HashSet::new();
    for (i, o) in array(c, "objects", at)?.iter().enumerate() {
        let oat = format!("{at}.objects[{i}]");
        let o = object(o, &oat)?;
        let id = string(o, "id", &oat)?;
        let type_ = string(o, "type", &oat)?;
        // medallion pairs an object with its manifest entry by modified, else created, else
        // the hidden _date_added.
        let version_field = ["modified", "created", "_date_added"]
            .into_iter()
            .find(|k| o.contains_key(*k));
        let Some(field) = version_field else {
            return err(
                &oat,
                "has no 'modified', 'created' or '_date_added' to version it by",
            );
        };
        let version = timestamp(string(o, field, &oat)?, &oat)?;
        if !seen.insert((id.to_owned(), version)) {
            return err(&oat, format!("'{id}' version {version} appears twice"));
        }
        let Some(entry) = manifest.get(&(id.to_owned(), version)) else {
            return err(
                &oat,
                format!("'{id}' version {version} has no manifest entry"),
            );
        };
        let spec_version = match o.get("spec_version") {
            Some(Value::String(s)) => match SpecVersion::parse(s) {
                Some(v) => v,
                None => return err(&oat, format!("spec_version '{s}' is not a version")),
            },
            Some(_) => return err(&oat, "'spec_version' must be a string"),
            None if !o.contains_key("created") && !o.contains_key("modified") => SpecVersion::V2_1,
            None => SpecVersion::V2_0,
        };
        let visible: Map<String, Value> = o
            .iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let json = Value::Object(visible).to_string();
        loaded.push((
            entry.date_added,
            entry.index,
            StoredVersion {
                id: id.to_owned(),
                type_: type_.to_owned(),
                version,
                version_text: entry.version.to_owned(),
                spec_version,
                media_type: entry
                    .media_type
                    .clone()
                    .unwrap_or_else(|| spec_version.media_type()),
                position: Position {
                    date_added: entry.date_added,
                    seq: 0,
                },
                json: Arc::from(json),
            },
        ));
    }
    // Ties on date_added keep the manifest's order, as medallion's stable sort does.
    loaded.sort_by_key(|(date_added, index, _)| (*date_added, *index));
    let mut coll = CollectionData::new(meta);
    for (date_added, _, version) in loaded {
        coll.insert(version, date_added);
    }
    Ok(coll)
}

fn save_collection(c: &CollectionData) -> Value {
    let meta = &c.meta;
    let mut out = Map::new();
    out.insert("id".into(), meta.id.clone().into());
    out.insert("title".into(), meta.title.clone().into());
    if let Some(d) = &meta.description {
        out.insert("description".into(), d.clone().into());
    }
    if let Some(a) = &meta.alias {
        out.insert("alias".into(), a.clone().into());
    }
    // medallion knows only collection-wide flags: a per-user grant is saved as no access, a
    // public one as every user.
    let everyone = |g: &Grant| matches!(g, Grant::Everyone | Grant::Public);
    out.insert("can_read".into(), everyone(&meta.read).into());
    out.insert("can_write".into(), everyone(&meta.write).into());
    let media_types = meta.media_types.clone().unwrap_or_else(|| {
        taxii_model::object::SUPPORTED_SPEC_VERSIONS
            .iter()
            .rev()
            .map(|v| v.media_type())
            .collect()
    });
    out.insert("media_types".into(), media_types.into());
    for (k, v) in &meta.extra {
        out.insert(k.clone(), v.clone());
    }
    let mut objects = Vec::new();
    let mut manifest = Vec::new();
    for v in c.versions() {
        let mut obj = serde_json::from_str::<Value>(&v.json).unwrap_or(Value::Null);
        if let Value::Object(o) = &mut obj
            && !o.contains_key("modified")
            && !o.contains_key("created")
        {
            // medallion finds an SCO's manifest entry through this hidden member.
            o.insert("_date_added".into(), v.version_text.clone().into());
        }
        objects.push(obj);
        let mut entry = Map::new();
        entry.insert("id".into(), v.id.clone().into());
        entry.insert("date_added".into(), v.date_added().to_taxii_string().into());
        entry.insert("version".into(), v.version_text.clone().into());
        entry.insert("media_type".into(), v.media_type.clone().into());
        manifest.push(Value::Object(entry));
    }
    out.insert("objects".into(), Value::Array(objects));
    out.insert("manifest".into(), Value::Array(manifest));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use serde_json::json;

    fn now() -> Timestamp {
        Timestamp::parse("2026-01-01T00:00:00Z").unwrap()
    }

    fn sample() -> Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/medallion/data.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_saved_file_loads_back_to_the_same_store() {
        let first = MemoryStore::from_medallion(&sample(), now()).unwrap();
        let saved = first.to_medallion();
        let second = MemoryStore::from_medallion(&saved, now()).unwrap();
        assert_eq!(second.to_medallion(), saved);
        assert_eq!(
            first.api_roots().await.unwrap(),
            second.api_roots().await.unwrap()
        );
        // Hidden members are kept for medallion (the SCO's _date_added) but never in stored text.
        let text = saved.to_string();
        assert!(text.contains("\"_date_added\""));
        let data = first.data.read();
        let coll = &data.roots["trustgroup1"].collections["91a7b528-80eb-42ed-a74d-c6fbd5a26116"];
        assert!(coll.versions().all(|v| !v.json.contains("_date_added")));
        assert_eq!(coll.versions().count(), 9);
    }

    #[test]
    fn every_date_added_and_version_string_is_kept() {
        let store = MemoryStore::from_medallion(&sample(), now()).unwrap();
        let saved = store.to_medallion();
        // Saved collections come in id order, so find the one by its id.
        let manifest = |doc: &Value| {
            doc["trustgroup1"]["collections"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == "91a7b528-80eb-42ed-a74d-c6fbd5a26116")
                .unwrap()["manifest"]
                .clone()
        };
        let mut original: Vec<Value> = manifest(&sample()).as_array().unwrap().clone();
        assert_eq!(original.len(), 9);
        let mut round: Vec<Value> = manifest(&saved).as_array().unwrap().clone();
        let key = |v: &Value| format!("{}{}", v["id"], v["version"]);
        original.sort_by_key(key);
        round.sort_by_key(key);
        assert_eq!(original, round);
    }

    fn load_err(doc: Value) -> String {
        MemoryStore::from_medallion(&doc, now())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn broken_files_are_refused_with_the_place_and_the_problem() {
        let coll = |extra: Value| {
            let mut c = json!({"id": "c1", "title": "t", "can_read": true, "can_write": true});
            merge_into(&mut c, extra);
            json!({"r": {"information": {"title": "r"}, "collections": [c]}})
        };
        let obj = json!({"type": "indicator", "id": "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e", "modified": "2016-01-01T00:00:00Z"});
        let cases = [
            (json!([]), "the data file: must be a JSON object"),
            (json!({"r": {}}), "r: 'information' is missing"),
            (
                json!({"taxii2": {"information": {}}}),
                "not a usable API root name",
            ),
            (
                json!({"r": {"information": {}, "status": [{"status": "x"}]}}),
                "r.status[0]: 'id' is missing",
            ),
            (
                coll(json!({"can_read": "yes"})),
                "'can_read' must be true or false",
            ),
            (coll(json!({"title": null})), "'title' must be a string"),
            (coll(json!({"objects": [obj]})), "has no manifest entry"),
            (
                coll(
                    json!({"objects": [obj], "manifest": [{"id": obj["id"], "version": "2016-01-01T00:00:00.000Z", "date_added": "soon"}]}),
                ),
                "manifest[0]",
            ),
            (
                coll(json!({"objects": [{"type": "x", "id": "x--1"}]})),
                "to version it by",
            ),
        ];
        for (doc, expect) in cases {
            let e = load_err(doc);
            assert!(e.contains(expect), "expected {expect:?} in {e:?}");
        }
        let two = json!({"r": {"information": {}, "collections": [
            {"id": "a", "title": "a", "alias": "x", "can_read": true, "can_write": true},
            {"id": "b", "title": "b", "alias": "x", "can_read": true, "can_write": true}]}});
        assert!(load_err(two).contains("alias 'x' is used by two collections"));
    }

    fn merge_into(base: &mut Value, extra: Value) {
        if let (Value::Object(b), Value::Object(e)) = (base, extra) {
            for (k, v) in e {
                b.insert(k, v);
            }
        }
    }

    #[test]
    fn equal_versions_in_any_format_pair_objects_with_their_manifest_entries() {
        let doc = json!({"r": {"information": {}, "collections": [{
            "id": "c", "title": "c", "can_read": true, "can_write": true,
            "objects": [{"type": "indicator", "id": "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e", "modified": "2016-01-01T00:00:00Z"}],
            "manifest": [{"id": "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e", "version": "2016-01-01T00:00:00.000Z", "date_added": "2016-01-02T00:00:00.123456Z"}]}]}});
        let store = MemoryStore::from_medallion(&doc, now()).unwrap();
        let data = store.data.read();
        let v: Vec<_> = data.roots["r"].collections["c"].versions().collect();
        assert_eq!(v[0].version_text, "2016-01-01T00:00:00.000Z");
        assert_eq!(
            v[0].date_added().to_taxii_string(),
            "2016-01-02T00:00:00.123456Z"
        );
        assert_eq!(v[0].media_type, "application/stix+json;version=2.0");
    }
}
