-- API tokens (`taxiid token create`). Only a digest of the secret is kept. A token names its
-- user without a foreign key: it may act as a user of the configuration file.
CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    user_name     TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    label         TEXT,
    created       INTEGER NOT NULL,
    expires       INTEGER
) WITHOUT ROWID;
CREATE INDEX tokens_by_user ON tokens (user_name);
