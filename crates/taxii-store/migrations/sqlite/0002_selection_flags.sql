-- Selection flags (see shared::Flags): `latest` marks the version a read without
-- match[version] / match[spec_version] selects (the greatest version among the object's
-- versions of its latest spec version), `top_spec` the versions of the object's latest spec
-- version. Pages with the default filters then read one index range and no sibling versions.
ALTER TABLE objects ADD COLUMN latest INTEGER NOT NULL DEFAULT 0;
ALTER TABLE objects ADD COLUMN top_spec INTEGER NOT NULL DEFAULT 0;

UPDATE objects SET top_spec = NOT EXISTS (
    SELECT 1 FROM objects n
    WHERE n.ckey = objects.ckey AND n.id = objects.id
      AND (n.spec_major > objects.spec_major
           OR (n.spec_major = objects.spec_major AND n.spec_minor > objects.spec_minor)));

UPDATE objects SET latest = top_spec AND NOT EXISTS (
    SELECT 1 FROM objects n
    WHERE n.ckey = objects.ckey AND n.id = objects.id
      AND n.spec_major = objects.spec_major AND n.spec_minor = objects.spec_minor
      AND n.version > objects.version);
