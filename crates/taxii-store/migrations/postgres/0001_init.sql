-- taxiid PostgreSQL schema, version 1. Migrations are append-only: never edit a released file.
-- Instants are BIGINT nanoseconds since the Unix epoch (timestamptz has microseconds only, and
-- versions must compare exactly). Objects are TEXT: the bytes received are the bytes served.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE discovery (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    doc TEXT NOT NULL
);

CREATE TABLE api_roots (
    name        TEXT PRIMARY KEY,
    information TEXT NOT NULL
);

CREATE TABLE collections (
    ckey            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    api_root        TEXT NOT NULL REFERENCES api_roots (name) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT,
    alias           TEXT,
    read_grant      TEXT NOT NULL,   -- JSON: true, false or a list of user names
    write_grant     TEXT NOT NULL,
    media_types     TEXT,            -- JSON list, or NULL for "every supported version"
    extra           TEXT NOT NULL,   -- JSON object of other members
    last_date_added BIGINT,          -- high-water mark: added versions always go after it
    UNIQUE (api_root, id)
);
CREATE UNIQUE INDEX collections_alias ON collections (api_root, alias) WHERE alias IS NOT NULL;

-- Writers to one collection hold its row lock (SELECT … FOR UPDATE), so (date_added, seq)
-- grows in commit order and a reader's cursor never passes a row that commits later.
CREATE TABLE objects (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ckey         BIGINT NOT NULL REFERENCES collections (ckey) ON DELETE CASCADE,
    date_added   BIGINT NOT NULL,
    id           TEXT NOT NULL,
    type         TEXT NOT NULL,
    version      BIGINT NOT NULL,
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
    ord      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    api_root TEXT NOT NULL,
    id       TEXT NOT NULL,
    owner    TEXT,
    created  BIGINT NOT NULL,
    json     TEXT NOT NULL,
    UNIQUE (api_root, id)
);
CREATE INDEX statuses_by_created ON statuses (created);

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL
);
