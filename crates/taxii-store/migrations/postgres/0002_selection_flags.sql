-- Selection flags (see shared::Flags): `latest` marks the version a read without
-- match[version] / match[spec_version] selects (the greatest version among the object's
-- versions of its latest spec version), `top_spec` the versions of the object's latest spec
-- version. Pages with the default filters then read one index range and no sibling versions.
ALTER TABLE objects ADD COLUMN latest BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE objects ADD COLUMN top_spec BOOLEAN NOT NULL DEFAULT false;

UPDATE objects o SET latest = r.latest, top_spec = r.top_spec
FROM (
    SELECT seq,
           rank() OVER by_spec = 1 AS top_spec,
           row_number() OVER by_version = 1 AS latest
    FROM objects
    WINDOW by_spec AS (PARTITION BY ckey, id ORDER BY spec_major DESC, spec_minor DESC),
           by_version AS (PARTITION BY ckey, id
                          ORDER BY spec_major DESC, spec_minor DESC, version DESC)
) r
WHERE o.seq = r.seq;
