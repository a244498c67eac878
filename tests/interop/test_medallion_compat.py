"""Data files: what taxiid saves (on SIGTERM with "save_on_shutdown": true, or on SIGUSR1)
loads in medallion 3.0.0's MemoryBackend and serves the same objects there, and loads again
into a new taxiid."""

import filecmp
import json
import signal
import time

import pytest
from medallion.backends.memory_backend import MemoryBackend
from medallion.common import get_timestamp
from taxii2client.v21 import Collection, Status

from harness import ADMIN, EMPTY, EXAMPLES, NO_ACCESS, READ_ONLY, ROOT, RW, WRITE_ONLY
from harness_stix import MEDIA_STIX21, envelope, identity, indicator, ipv4, malware, \
    relationship, ts

# The filters medallion's views allow on each endpoint (medallion/views/objects.py,
# manifest.py); its backend takes them as an argument.
OBJECTS_FILTERS = ("id", "type", "version", "spec_version")
OBJECT_FILTERS = ("version", "spec_version")
VERSIONS_FILTERS = ("spec_version",)
LIMIT = 100


def collection(base, collection_id):
    return Collection(
        f"{base}{ROOT}/collections/{collection_id}/", user=ADMIN[0], password=ADMIN[1]
    )


def medallion_backend(path):
    # medallion 3.0.0's MemoryBackend always starts a SessionChecker timer (a daemon thread
    # that expires paging sessions) and has no option to turn it off; a long interval keeps
    # it from ever firing during the test.
    return MemoryBackend(filename=str(path), session_timeout=3600, check_interval=3600)


def by_key(items, *keys):
    return sorted(items, key=lambda x: tuple(x.get(k, "") for k in keys))


def populate(base):
    """Adds a mix of objects to the sample's empty collection; returns what taxiid then
    serves, as a snapshot to compare with."""
    c = collection(base, EMPTY)
    ind1 = indicator(1)
    ind2 = dict(ind1, modified=ts(2), name="interop indicator, revised")
    mal = malware(3)
    objs = [ind1, mal, relationship(ind1, mal, 4), identity(5), ipv4("192.0.2.77")]
    first = c.add_objects(envelope(objs))
    second = c.add_objects(envelope([ind2]))
    assert (first.status, first.success_count, first.failure_count) == ("complete", 5, 0)
    assert (second.status, second.success_count) == ("complete", 1)
    return {
        "indicator": ind1["id"],
        "indicator_versions": sorted([ind1["modified"], ind2["modified"]]),
        "sco": objs[4]["id"],
        "ids": sorted({o["id"] for o in objs}),
        "all_objects": by_key(c.get_objects(version="all")["objects"], "id", "modified"),
        "latest": by_key(c.get_objects()["objects"], "id"),
        "manifest_all": by_key(c.get_manifest(version="all")["objects"], "id", "version"),
        "manifest": by_key(c.get_manifest()["objects"], "id"),
        "versions": sorted(c.object_versions(ind1["id"])["versions"]),
        "statuses": [first._raw, second._raw],
    }


def test_saved_file_loads_in_medallion_and_in_taxiid(taxiid_saving, start_taxiid):
    server = taxiid_saving
    snap = populate(server.base_url)
    assert len(snap["all_objects"]) == 6
    assert len(snap["latest"]) == 5
    assert snap["versions"] == snap["indicator_versions"]

    # (a) SIGTERM: the process saves and exits 0.
    assert server.stop(signal.SIGTERM) == 0, server.log_text()
    assert "saved the data file" in server.log_text()
    saved = json.loads(server.data_file.read_text(encoding="utf-8"))
    assert set(saved) == {"/discovery", "api1", "api2", "trustgroup1"}
    assert not list(server.workdir.glob("*.taxiid-tmp")), "a temporary file was left behind"

    backend = medallion_backend(server.data_file)

    assert backend.server_discovery()["title"] == "Some TAXII Server"
    info = backend.get_api_root_information(ROOT)
    assert info["title"] == "Malware Research Group"
    assert info["max_content_length"] == 9765625
    colls = {c["id"]: c for c in backend.get_collections(ROOT)["collections"]}
    assert {cid: (c["can_read"], c["can_write"]) for cid, c in colls.items()} == {
        RW: (True, True),
        EMPTY: (True, True),
        WRITE_ONLY: (False, True),
        READ_ONLY: (True, False),
        NO_ACCESS: (False, False),
    }

    # Objects, every version and the latest ones, exactly as taxiid served them.
    res, headers = backend.get_objects(ROOT, EMPTY, {"match[version]": "all"}, OBJECTS_FILTERS, LIMIT)
    assert res["more"] is False
    assert by_key(res["objects"], "id", "modified") == snap["all_objects"]
    res, _ = backend.get_objects(ROOT, EMPTY, {}, OBJECTS_FILTERS, LIMIT)
    assert by_key(res["objects"], "id") == snap["latest"]
    assert sorted(o["id"] for o in res["objects"]) == snap["ids"]
    assert headers["X-TAXII-Date-Added-First"] == min(m["date_added"] for m in snap["manifest_all"])
    assert headers["X-TAXII-Date-Added-Last"] == max(m["date_added"] for m in snap["manifest_all"])

    # The SCO is paired with its manifest entry through medallion's hidden _date_added.
    res, _ = backend.get_object(ROOT, EMPTY, snap["sco"], {}, OBJECT_FILTERS, LIMIT)
    assert [o["id"] for o in res["objects"]] == [snap["sco"]]
    assert "_date_added" not in res["objects"][0]

    res, _ = backend.get_object(ROOT, EMPTY, snap["indicator"], {"match[version]": "all"},
                                OBJECT_FILTERS, LIMIT)
    assert sorted(o["modified"] for o in res["objects"]) == snap["indicator_versions"]

    # The manifest, with taxiid's date_added and media types.
    res, _ = backend.get_object_manifest(ROOT, EMPTY, {"match[version]": "all"}, OBJECTS_FILTERS,
                                         LIMIT)
    assert by_key(res["objects"], "id", "version") == snap["manifest_all"]
    assert all(m["media_type"] == MEDIA_STIX21 for m in res["objects"])
    res, _ = backend.get_object_manifest(ROOT, EMPTY, {}, OBJECTS_FILTERS, LIMIT)
    assert by_key(res["objects"], "id") == snap["manifest"]

    res, _ = backend.get_object_versions(ROOT, EMPTY, snap["indicator"], {}, VERSIONS_FILTERS,
                                         LIMIT)
    assert sorted(res["versions"]) == snap["versions"]

    # The statuses of the two add requests.
    for status in snap["statuses"]:
        assert backend.get_status(ROOT, status["id"]) == status

    # The untouched parts of the sample survive too.
    res, _ = backend.get_objects(ROOT, READ_ONLY, {}, OBJECTS_FILTERS, LIMIT)
    assert [o["id"] for o in res["objects"]] == ["indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f"]

    # medallion can go on writing to the file's collections.
    extra = indicator(9)
    status = backend.add_objects(ROOT, EMPTY, {"objects": [extra]}, get_timestamp())
    assert (status["status"], status["success_count"], status["failure_count"]) == ("complete", 1, 0)
    res, _ = backend.get_objects(ROOT, EMPTY, {"match[id]": extra["id"]}, OBJECTS_FILTERS, LIMIT)
    assert res["objects"] == [extra]

    # (b) A new taxiid on the saved file serves the same objects, manifest and statuses.
    again = start_taxiid(workdir=server.workdir)
    c = collection(again.base_url, EMPTY)
    assert by_key(c.get_objects(version="all")["objects"], "id", "modified") == snap["all_objects"]
    assert by_key(c.get_objects()["objects"], "id") == snap["latest"]
    assert by_key(c.get_manifest(version="all")["objects"], "id", "version") == snap["manifest_all"]
    assert by_key(c.get_manifest()["objects"], "id") == snap["manifest"]
    assert sorted(c.object_versions(snap["indicator"])["versions"]) == snap["versions"]
    for raw in snap["statuses"]:
        status = Status(f"{again.base_url}{ROOT}/status/{raw['id']}/", user=ADMIN[0],
                        password=ADMIN[1])
        assert status._raw == raw


def test_sigusr1_saves_while_running(taxiid_saving):
    server = taxiid_saving
    c = collection(server.base_url, EMPTY)
    obj = indicator(7)
    assert c.add_objects(envelope([obj])).success_count == 1

    server.process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 30
    while True:
        text = server.data_file.read_text(encoding="utf-8")
        if obj["id"] in text:
            break
        assert time.monotonic() < deadline, "SIGUSR1 did not save the data file within 30 s"
        time.sleep(0.05)
    # The file is replaced atomically, so what was read is complete.
    json.loads(text)
    assert server.process.poll() is None, "SIGUSR1 must not stop the server"

    res, _ = medallion_backend(server.data_file).get_objects(
        ROOT, EMPTY, {}, OBJECTS_FILTERS, LIMIT
    )
    assert res["objects"] == [obj]
    # The server still serves after saving.
    assert [o["id"] for o in c.get_objects()["objects"]] == [obj["id"]]


def test_without_save_on_shutdown_the_file_is_untouched(start_taxiid):
    server = start_taxiid()
    c = collection(server.base_url, EMPTY)
    assert c.add_objects(envelope([indicator(8)])).success_count == 1
    assert server.stop(signal.SIGTERM) == 0, server.log_text()
    assert filecmp.cmp(server.data_file, EXAMPLES / "data.json", shallow=False)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_shutdown_signals_save(start_taxiid, sig):
    server = start_taxiid(save_on_shutdown=True)
    obj = malware(6)
    assert collection(server.base_url, EMPTY).add_objects(envelope([obj])).success_count == 1
    assert server.stop(sig) == 0, server.log_text()
    res, _ = medallion_backend(server.data_file).get_objects(ROOT, EMPTY, {}, OBJECTS_FILTERS,
                                                             LIMIT)
    assert res["objects"] == [obj]
