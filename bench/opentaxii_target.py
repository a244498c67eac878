#!/usr/bin/env python3
"""OpenTAXII 0.9.3 as a bench/run target: configure, seed from a medallion data file, serve.

    bench/.venv/bin/python bench/opentaxii_target.py --data DATA.json --workdir DIR
        [--host 127.0.0.1] [--port PORT] [--prepare-only | --serve]
        [--workers 2] [--threads 4] [--password-hash METHOD] [--stock]

Install first: bench/.venv/bin/python -m pip install -r bench/requirements-opentaxii.txt
DATA.json is a `taxii-bench gen --format medallion` file (one API root, e.g. `bench`, with the
collections `objects`, `ingest` and maybe `ingest-2`, ...). Modes:

  (default)       prepare, then serve (gunicorn in the foreground; needs --port)
  --prepare-only  prepare, print the JSON line, exit (--port optional: URLs are then paths)
  --serve         serve a DIR prepared before (no seeding; --password-hash is a prepare option)

Prepare (re)creates in DIR: opentaxii.yml (OpenTAXII's YAML config: TAXII 2.1 only, SQLite
persistence data.db with a 60 s lock timeout, SQLite auth auth.db; the server reads it through
OPENTAXII_CONFIG), prepared.json (what --serve needs), then
  - the account admin / Password0 with is_admin (reads and writes every collection). Note
    `opentaxii-create-account -a` ignores its -a; the auth API is called directly;
  - one API root, the default one (discovery lists it). OpenTAXII's API root ids are UUIDs and
    its URL is /taxii2/<id>/ (there is no /bench/): the id is
    uuid5(NAMESPACE_URL, "taxii-bench:api-root:<name>"), for `bench` always
    d8a4f0d7-5d86-5f14-bae7-be2ddbab8258;
  - the collections with the data file's ids (opentaxii-add-collection cannot choose an
    id, so they are inserted through OpenTAXII's SQLAlchemy models), alias = title (so
    .../collections/objects/objects/ works too);
  - every object version of `objects`, bulk-inserted (one transaction) into OpenTAXII's own
    STIXObject model, as its add_objects() stores a POSTed object (type from the id,
    spec_version, version = `modified`, serialized_data = the object less id/type/
    spec_version), except that date_added is the data file's, not now(), so that the walk
    order and bench/run's `added_after` scenario match the other targets. Two more deviations,
    both because of OpenTAXII bugs:
      * SCOs have no `modified` (0.9.3's POST fails on them): they get the data file's
        manifest version (= their date_added); medallion's private `_date_added` is dropped;
      * a date_added with 0 microseconds makes OpenTAXII mint a `next` token that it then
        rejects (HTTP 400 on the following page; still so on upstream master): those
        date_added (every 1,000th object of the generator) are moved 1 microsecond earlier,
        which keeps the order and the result of added_after=<mid_date_added>.
    There is no page-size setting in OpenTAXII 0.9.3: no `limit` means the whole collection.

Serve exec()s gunicorn as OpenTAXII's Dockerfile does (`gunicorn opentaxii.http:app
--config=python:opentaxii.http --workers=2 --timeout=300`), bound to --host:--port, with
OPENTAXII_CONFIG set: this process's pid IS the gunicorn master, and SIGTERM to it stops the
workers too (within --graceful-timeout=5 s). The app is OpenTAXII's, with two small runtime
patches that upstream master has (see PATCHES below; without them every POST answers 500);
--stock serves 0.9.3 untouched.

Basic auth: OpenTAXII checks the password hash on EVERY request (werkzeug's default scrypt,
~150 ms of CPU) and then mints a JWT; that alone caps it at a few requests/s on 2 cores.
--password-hash pbkdf2:sha256:1 (any werkzeug method) stores a cheap hash instead, to measure
the server rather than the KDF; the JSON line says which (password_hash).

Output: one line of JSON on stdout (flushed before gunicorn starts; logs go to stderr):
  {"ok": true, "discovery": "http://HOST:PORT/taxii2/",
   "api_root": "http://HOST:PORT/taxii2/<root-id>/",
   "objects": "http://HOST:PORT/taxii2/<root-id>/collections/<objects-id>/objects/",
   "ingest":  "http://HOST:PORT/taxii2/<root-id>/collections/<ingest-id>/objects/",
   "user": "admin", "password": "Password0", "api_root_id": ..., "objects_collection": ...,
   "ingest_collection": ..., "stored_versions": versions seeded, "stored_objects": distinct
   ids (what a default walk returns: OpenTAXII serves the latest version unless
   match[version]=all), "date_added_moved_1us": n, "seed_seconds": s,
   "password_hash": "werkzeug default (scrypt)" or METHOD, "patches": [...] ([] with --stock),
   "workdir": DIR, "config": DIR/opentaxii.yml}
Exit code 0 (or, serving, gunicorn's); 1 with {"ok": false, "error": ...} on stdout.
"""
import argparse
import datetime
import itertools
import json
import os
import secrets
import sys
import time
import uuid

USER, PASSWORD = "admin", "Password0"
DATETIMEFORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # opentaxii.taxii2.utils.DATETIMEFORMAT

# Gunicorn: OpenTAXII's Dockerfile runs 2 sync workers. The app is CPU-bound Python (Flask,
# SQLAlchemy ORM, JSON, a password KDF per Basic-auth request), so more processes than the 2
# cores only add contention: 2 workers. Each gets 4 threads (gunicorn's gthread worker):
# SQLite calls, hashing and socket I/O release the GIL, so threads overlap them, and gthread keeps
# HTTP/1.1 connections alive as taxii-bench's load expects (sync workers close every connection).
WORKERS, THREADS = 2, 4

CONFIG_TEMPLATE = """\
# OpenTAXII 0.9.3 configuration written by bench/opentaxii_target.py (merged over the package's
# defaults.yml). TAXII 2.1 only (taxii1: null), SQLite persistence and auth in this directory.
domain: "{host}:{port}"
support_basic_auth: yes
return_server_error_details: no
auth_api:
  class: opentaxii.auth.sqldb.SQLDatabaseAPI
  parameters:
    db_connection: "sqlite:///{auth_db}"
    create_tables: no   # done when preparing: a connection opened in the gunicorn master
                        # would otherwise be inherited by the forked workers
    secret: "{secret}"
    token_ttl_secs: 3600
taxii1: null
taxii2:
  title: "{title}"
  description: "{description}"
  public_discovery: no
  max_content_length: {max_content_length}
  allow_custom_properties: yes
  persistence_api:
    class: opentaxii.persistence.sqldb.Taxii2SQLDatabaseAPI
    parameters:
      db_connection: "sqlite:///{data_db}"
      create_tables: no
      # Passed to SQLAlchemy's create_engine: wait up to 60 s for SQLite's write lock (Python's
      # default, 5 s, fails 4 concurrent writers with "database is locked" -> HTTP 500, since
      # add_objects holds the lock for a whole envelope). Journal mode stays SQLite's default.
      connect_args:
        timeout: 60
"""


# ---- runtime patches (the served app only; --stock turns them off) ----------------------------
# OpenTAXII 0.9.3 (the latest release) cannot answer a POST at all: the status it returns holds
# the job id as a uuid.UUID, which json.dumps refuses (HTTP 500 after the objects were stored;
# the same for GET .../collections/ and .../status/<id>/). Upstream issue #243, fixed on master
# by PR #289 (encode UUIDs as str) but not released. And a POSTed object without `modified`
# (SCOs, marking definitions) raises KeyError -> HTTP 500 (issue #236); upstream master takes
# `modified`, else `created`, else 1970-01-01 as the version (get_object_version). These two
# shims do the same, without touching the installed package.
PATCHES = ["uuid-json (upstream #243/PR 289)", "version-without-modified (upstream #236)"]
EPOCH = "1970-01-01T00:00:00.000000Z"


def _uuid_default(o):
    if isinstance(o, uuid.UUID):
        return str(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


class _Unversioned(dict):
    """An object without `modified`: its version is `created`, else the epoch (upstream's rule);
    the stored object stays as posted (items() does not see the fallback)."""

    def __getitem__(self, key):
        if key == "modified" and not dict.__contains__(self, key):
            return dict.get(self, "created") or EPOCH
        return dict.__getitem__(self, key)


def apply_patches():
    import types

    import opentaxii.taxii2.http as taxii2_http
    from opentaxii.persistence.sqldb.api import Taxii2SQLDatabaseAPI

    taxii2_http.json = types.SimpleNamespace(
        dumps=lambda data, **kw: json.dumps(data, default=_uuid_default, **kw)
    )
    add_objects = Taxii2SQLDatabaseAPI.add_objects

    def add_objects_patched(self, api_root_id, collection_id, objects):
        objects = [o if "modified" in o else _Unversioned(o) for o in objects]
        return add_objects(self, api_root_id, collection_id, objects)

    Taxii2SQLDatabaseAPI.add_objects = add_objects_patched


def make_app():
    """gunicorn's app factory (`opentaxii_target:make_app()`): opentaxii.http's app, patched."""
    apply_patches()
    from opentaxii.http import app

    return app


def fail(msg):
    print(json.dumps({"ok": False, "error": msg}), flush=True)
    sys.exit(1)


def parse_ts(s):
    return datetime.datetime.strptime(s, DATETIMEFORMAT).replace(tzinfo=datetime.timezone.utc)


def read_data(path):
    with open(path) as f:
        doc = json.load(f)
    roots = [k for k in doc if not k.startswith("/")]
    if len(roots) != 1:
        fail(f"{path}: expected one API root, found {roots}")
    name = roots[0]
    root = doc[name]
    colls = {c["title"]: c for c in root.get("collections", [])}
    for t in ("objects", "ingest"):
        if t not in colls:
            fail(f"{path}: no collection titled {t!r}")
    return doc.get("/discovery", {}), name, root, colls


def writable_titles(colls):
    """`objects`, `ingest` and the further empty collections `ingest-2`, ... of the file."""
    return ["objects"] + sorted((t for t in colls if t.startswith("ingest")), key=lambda t: (len(t), t))


def yaml_str(s):
    return (s or "").replace("\\", "\\\\").replace('"', '\\"')


def urls(host, port, root_id, colls):
    base = f"http://{host}:{port}" if port else ""
    api_root = f"{base}/taxii2/{root_id}/"
    return {
        "discovery": f"{base}/taxii2/",
        "api_root": api_root,
        "objects": f"{api_root}collections/{colls['objects']['id']}/objects/",
        "ingest": f"{api_root}collections/{colls['ingest']['id']}/objects/",
        "user": USER,
        "password": PASSWORD,
        "api_root_id": root_id,
        "objects_collection": colls["objects"]["id"],
        "ingest_collection": colls["ingest"]["id"],
    }


def rows_of(collection_id, objects, manifest, counts):
    """The STIXObject rows OpenTAXII's add_objects() would write, with the file's date_added."""
    by_key = {}
    for m in manifest:
        by_key[(m["id"], m["version"])] = m["date_added"]
    one_us = datetime.timedelta(microseconds=1)
    for i, obj in enumerate(objects):
        m = manifest[i] if i < len(manifest) and manifest[i]["id"] == obj["id"] else None
        if "modified" in obj:
            version_s = obj["modified"]
        elif m is not None:
            version_s = m["version"]
        else:
            version_s = obj.get("_date_added") or obj.get("created")
        date_added_s = (
            m["date_added"] if m is not None else by_key.get((obj["id"], version_s))
        ) or obj.get("_date_added")
        if date_added_s is None:
            fail(f"no date_added for {obj['id']} version {version_s}")
        date_added = parse_ts(date_added_s)
        if date_added.microsecond == 0:
            date_added -= one_us
            counts["nudged"] += 1
        counts["rows"] += 1
        yield (
            {
                "pk": uuid.uuid4(),
                "id": obj["id"],
                "collection_id": collection_id,
                "type": obj["id"].split("--")[0],
                "spec_version": obj["spec_version"],
                "date_added": date_added,
                "version": parse_ts(version_s),
                "serialized_data": {
                    k: v
                    for k, v in obj.items()
                    if k not in ("id", "type", "spec_version") and not k.startswith("_")
                },
            }
        )


def prepare(args, config_path):
    t0 = time.time()
    discovery, root_name, root, colls = read_data(args.data)
    root_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"taxii-bench:api-root:{root_name}"))
    info = root.get("information", {})
    data_db = os.path.join(args.workdir, "data.db")
    auth_db = os.path.join(args.workdir, "auth.db")
    for f in (data_db, auth_db, data_db + "-journal", auth_db + "-journal"):
        if os.path.exists(f):
            os.remove(f)
    with open(config_path, "w") as f:
        f.write(
            CONFIG_TEMPLATE.format(
                host=args.host,
                port=args.port or 9000,
                auth_db=auth_db,
                data_db=data_db,
                secret=secrets.token_hex(24),
                title=yaml_str(discovery.get("title", "taxii-bench")),
                description=yaml_str(discovery.get("description", "")),
                max_content_length=int(info.get("max_content_length", 104857600)),
            )
        )
    os.environ["OPENTAXII_CONFIG"] = config_path

    from opentaxii.config import ServerConfig
    from opentaxii.persistence.sqldb import taxii2models as M
    from opentaxii.server import TAXIIServer
    from opentaxii.utils import configure_logging
    from werkzeug.security import generate_password_hash

    config = ServerConfig()
    # Quiet, and to stderr (structlog's default prints to stdout): the JSON line stays first.
    configure_logging({"opentaxii": "warning", "root": "warning"})
    server = TAXIIServer(config)
    api = server.servers.taxii2.persistence.api
    auth = server.auth.api
    api.db.create_all_tables()
    auth.db.create_all_tables()

    account = auth.create_account(USER, PASSWORD, is_admin=True)
    if args.password_hash:  # same account, another werkzeug hash method (see --help)
        from opentaxii.auth.sqldb.models import Account

        a = auth.db.session.query(Account).filter_by(username=USER).one()
        a.password_hash = generate_password_hash(PASSWORD, method=args.password_hash)
        auth.db.session.commit()
    assert account.is_admin

    s = api.db.session
    s.add(
        M.ApiRoot(
            id=uuid.UUID(root_id),
            default=True,
            title=info.get("title", root_name),
            description=info.get("description"),
            is_public=False,
        )
    )
    for title in writable_titles(colls):
        c = colls[title]
        s.add(
            M.Collection(
                id=uuid.UUID(c["id"]),
                api_root_id=uuid.UUID(root_id),
                title=c["title"],
                description=c.get("description"),
                alias=c["title"],
                is_public=False,
                is_public_write=False,
            )
        )
    s.commit()

    # One transaction, executemany in chunks of 10,000 rows (the file is in memory already).
    table = M.STIXObject.__table__
    counts = {"rows": 0, "nudged": 0}
    with api.db.engine.begin() as conn:
        for title in writable_titles(colls):
            c = colls[title]
            rows = rows_of(uuid.UUID(c["id"]), c.get("objects", []), c.get("manifest", []), counts)
            while chunk := list(itertools.islice(rows, 10000)):
                conn.execute(table.insert(), chunk)
    api.db.engine.dispose()
    auth.db.engine.dispose()
    objects = colls["objects"].get("objects", [])
    return {
        "api_root_id": root_id,
        "collections": {t: {"id": colls[t]["id"]} for t in writable_titles(colls)},
        "stored_versions": len(objects),
        "stored_objects": len({o["id"] for o in objects}),
        "date_added_moved_1us": counts["nudged"],
        "seed_seconds": round(time.time() - t0, 2),
        "password_hash": args.password_hash or "werkzeug default (scrypt)",
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="medallion data file (taxii-bench gen)")
    p.add_argument("--workdir", required=True, help="directory for config and databases")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, help="port to serve on (required unless --prepare-only)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--prepare-only", action="store_true", help="configure and seed, then exit")
    mode.add_argument("--serve", action="store_true", help="serve an already prepared --workdir")
    p.add_argument("--workers", type=int, default=WORKERS, help="gunicorn worker processes")
    p.add_argument("--threads", type=int, default=THREADS, help="threads per worker (1 = sync)")
    p.add_argument(
        "--password-hash",
        help="werkzeug hash method for the admin password instead of OpenTAXII's default "
        "(werkzeug's scrypt, ~150 ms verified on EVERY Basic-auth request), "
        "e.g. pbkdf2:sha256:1 to take the KDF out of the measurement",
    )
    p.add_argument(
        "--stock",
        action="store_true",
        help="serve OpenTAXII 0.9.3 unpatched (every POST then answers HTTP 500)",
    )
    args = p.parse_args()
    if not args.prepare_only and not args.port:
        p.error("--port is required to serve")
    args.workdir = os.path.abspath(args.workdir)
    args.data = os.path.abspath(args.data)
    os.makedirs(args.workdir, exist_ok=True)
    config_path = os.path.join(args.workdir, "opentaxii.yml")
    state_path = os.path.join(args.workdir, "prepared.json")

    if args.serve:
        if not os.path.exists(state_path):
            fail(f"{args.workdir} is not prepared (run --prepare-only first)")
        with open(state_path) as f:
            state = json.load(f)
    else:
        try:
            state = prepare(args, config_path)
        except Exception as e:  # noqa: BLE001 - reported as the JSON line, with the cause
            fail(f"prepare failed: {type(e).__name__}: {e}")
        with open(state_path, "w") as f:
            json.dump(state, f)
    out = {
        "ok": True,
        **urls(args.host, args.port, state["api_root_id"], state["collections"]),
        **{k: v for k, v in state.items() if k not in ("api_root_id", "collections")},
        "patches": [] if args.stock else PATCHES,
        "workdir": args.workdir,
        "config": config_path,
    }
    print(json.dumps(out), flush=True)
    if args.prepare_only:
        return

    env = dict(os.environ, OPENTAXII_CONFIG=config_path)
    app = "opentaxii.http:app" if args.stock else "opentaxii_target:make_app()"
    # The Dockerfile's command line, bound to host:port; `--threads` > 1 selects gthread.
    argv = [
        sys.executable, "-m", "gunicorn", app,
        f"--pythonpath={os.path.dirname(os.path.abspath(__file__))}",
        f"--workers={args.workers}", f"--threads={args.threads}",
        "--timeout=300", "--graceful-timeout=5", "--log-level=info", "--log-file=-",
        "--config=python:opentaxii.http", f"--bind={args.host}:{args.port}",
    ]
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)


if __name__ == "__main__":
    main()
