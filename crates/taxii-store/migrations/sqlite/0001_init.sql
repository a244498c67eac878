-- taxiid SQLite schema, version 1. Migrations are append-only: never edit a released file.
-- Instants are INTEGER nanoseconds since the Unix epoch (versions must compare exactly).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE discovery (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    doc TEXT NOT NULL
);

CREATE TABLE api_roots (
    name        TEXT PRIMARY KEY,
    information TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE collections (
    ckey            INTEGER PRIMARY KEY,
    api_root        TEXT NOT NULL REFERENCES api_roots (name) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT,
    alias           TEXT,
    read_grant      TEXT NOT NULL,   -- JSON: true, false or a list of user names
    write_grant     TEXT NOT NULL,
    media_types     TEXT,            -- JSON list, or NULL for "every supported version"
    extra           TEXT NOT NULL,   -- JSON object of other members
    last_date_added INTEGER,         -- high-water mark: added versions always go after it
    UNIQUE (api_root, id)
);
CREATE UNIQUE INDEX collections_alias ON collections (api_root, alias) WHERE alias IS NOT NULL;

-- One row per stored version. seq never repeats (AUTOINCREMENT), so a next token that points
-- past a deleted row still means the same place.
CREATE TABLE objects (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    ckey         INTEGER NOT NULL REFERENCES collections (ckey) ON DELETE CASCADE,
    date_added   INTEGER NOT NULL,
    id           TEXT NOT NULL,
    type         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    version_text TEXT NOT NULL,
    spec_major   INTEGER NOT NULL,
    spec_minor   INTEGER NOT NULL,
    media_type   TEXT NOT NULL,
    json         TEXT NOT NULL
);
CREATE INDEX objects_by_date ON objects (ckey, date_added, seq);
CREATE UNIQUE INDEX objects_by_version ON objects (ckey, id, version);
CREATE INDEX objects_by_type ON objects (ckey, type, date_added, seq);

CREATE TABLE statuses (
    api_root TEXT NOT NULL,
    id       TEXT NOT NULL,
    owner    TEXT,
    created  INTEGER NOT NULL,
    json     TEXT NOT NULL,
    UNIQUE (api_root, id)
);
CREATE INDEX statuses_by_created ON statuses (created);

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL
) WITHOUT ROWID;
