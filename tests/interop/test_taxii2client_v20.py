"""taxii2-client 2.3.0's TAXII 2.0 client (taxii2client.v20) against taxiid serving medallion
1.x's configuration and data file (examples/medallion-1.x), unchanged: discovery at /taxii/,
Range pages, bundles, 2.0 statuses, and STIX 2.0 objects made with stix2.v20."""

import json

import pytest
import requests
import stix2
from taxii2client.v20 import ApiRoot, Collection, Server, as_pages
from taxii2client.v21 import Collection as Collection21

from harness import ADMIN, EMPTY, EXAMPLES_1X, READ_ONLY, RW

IND = "indicator--a932fcc6-e032-476c-826f-cb970a5a1ade"
MAL = "malware--fdd60b30-b67c-41e3-b0b9-f01faf20d111"
REL = "relationship--6598bf44-1c10-4218-af9f-75b5b71c23a7"
MARK = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"


@pytest.fixture
def server(start_taxiid):
    return start_taxiid(example=EXAMPLES_1X)


def collection(server, collection_id, **auth):
    if not auth:
        auth = {"user": ADMIN[0], "password": ADMIN[1]}
    return Collection(server.collection_url(collection_id), **auth)


def test_discovery_and_api_root(server):
    discovery = Server(server.base_url + "taxii/", user=ADMIN[0], password=ADMIN[1])
    stored = json.loads((EXAMPLES_1X / "data.json").read_text())["/discovery"]
    assert discovery.title == stored["title"]
    assert discovery.default.url == stored["default"]
    assert [r.url for r in discovery.api_roots] == stored["api_roots"]

    root = ApiRoot(server.root_url, user=ADMIN[0], password=ADMIN[1])
    assert root.title == "Malware Research Group"
    assert root.versions == ["taxii-2.0"]
    assert root.max_content_length == 9765625
    assert sorted(c.id for c in root.collections) == sorted(
        [RW, EMPTY, READ_ONLY]
    )
    rw = next(c for c in root.collections if c.id == RW)
    assert rw.can_read and rw.can_write
    assert rw.media_types == ["application/vnd.oasis.stix+json; version=2.0"]


def test_get_objects_is_a_stix_2_0_bundle_stix2_parses(server):
    bundle = collection(server, RW).get_objects()
    assert bundle["type"] == "bundle"
    assert bundle["spec_version"] == "2.0"
    assert [o["id"] for o in bundle["objects"]] == [REL, IND, MARK, MAL]
    parsed = stix2.parse(bundle, allow_custom=False, version="2.0")
    assert isinstance(parsed, stix2.v20.Bundle)
    assert parsed.objects[1].name == "File hash for Poison Ivy variant (revised)"


def test_as_pages_walks_every_object_once_with_ranges(server):
    c = collection(server, RW)
    for per_request in (1, 2, 3, 4, 10):
        pages = list(as_pages(c.get_objects, per_request=per_request))
        seen = [o["id"] for page in pages for o in page.get("objects", [])]
        assert seen == [REL, IND, MARK, MAL], per_request
        assert len(pages) == -(-4 // per_request)
    pages = list(as_pages(c.get_manifest, per_request=3))
    assert [e["id"] for page in pages for e in page["objects"]] == [REL, IND, MARK, MAL]
    pages = list(as_pages(c.get_objects, per_request=1, version="all"))
    assert [o["id"] for page in pages for o in page["objects"]] == [REL, IND, IND, MARK, MAL]


def test_range_headers_as_the_client_reads_them(server):
    c = collection(server, RW)
    resp = c.get_objects(start=1, per_request=2)
    assert resp.status_code == 206
    assert resp.headers["Content-Range"] == "items 1-2/4"
    assert resp.headers["Accept-Ranges"] == "items"
    with pytest.raises(requests.exceptions.HTTPError) as excinfo:
        c.get_objects(start=4, per_request=2)
    assert excinfo.value.response.status_code == 416
    assert excinfo.value.response.headers["Content-Range"] == "items */4"


def test_manifest_get_object_and_filters(server):
    c = collection(server, RW)
    manifest = c.get_manifest()
    entry = next(e for e in manifest["objects"] if e["id"] == IND)
    assert entry["versions"] == ["2017-01-27T13:49:53.935Z", "2016-11-03T12:30:59.000Z"]
    assert entry["media_types"] == ["application/vnd.oasis.stix+json; version=2.0"]
    one = c.get_object(IND)
    assert [o["modified"] for o in one["objects"]] == ["2017-01-27T13:49:53.935Z"]
    first = c.get_object(IND, version="2016-11-03T12:30:59.000Z")
    assert [o["modified"] for o in first["objects"]] == ["2016-11-03T12:30:59.000Z"]
    assert [o["id"] for o in c.get_objects(type="malware")["objects"]] == [MAL]
    assert [o["id"] for o in c.get_objects(id=REL)["objects"]] == [REL]
    later = c.get_objects(added_after="2017-01-01T00:00:00Z")
    assert [o["id"] for o in later["objects"]] == [MARK, MAL]


def test_add_objects_made_with_stix2_v20_and_read_them_over_both_protocols(server):
    c = collection(server, EMPTY)
    indicator = stix2.v20.Indicator(
        name="Added by taxii2client.v20",
        labels=["malicious-activity"],
        pattern="[ipv4-addr:value = '203.0.113.7']",
    )
    malware = stix2.v20.Malware(name="Sample", labels=["trojan"])
    rel = stix2.v20.Relationship(indicator, "indicates", malware)
    bundle = stix2.v20.Bundle(indicator, malware, rel)
    status = c.add_objects(bundle.serialize())
    assert status.status == "complete"
    assert status.total_count == 3
    assert status.success_count == 3
    assert sorted(status.successes) == sorted([indicator.id, malware.id, rel.id])
    assert status.failure_count == 0 and status.pending_count == 0
    # The status endpoint, as the client reads it.
    root = ApiRoot(server.root_url, user=ADMIN[0], password=ADMIN[1])
    again = root.get_status(status.id)
    assert again.successes == status.successes

    back = c.get_objects()
    assert sorted(o["id"] for o in back["objects"]) == sorted(
        [indicator.id, malware.id, rel.id]
    )
    assert json.loads(indicator.serialize()) in back["objects"]
    # A TAXII 2.1 client sees the same objects with the same date_added.
    c21 = Collection21(server.collection_url(EMPTY), user=ADMIN[0], password=ADMIN[1])
    envelope = c21.get_objects()
    assert envelope["objects"] == back["objects"]
    m20 = {e["id"]: e["date_added"] for e in c.get_manifest()["objects"]}
    m21 = {r["id"]: r["date_added"] for r in c21.get_manifest()["objects"]}
    assert m20 == m21


def test_an_api_key_is_accepted_as_medallion_1_did(server):
    session = requests.Session()
    resp = session.get(
        server.base_url + "taxii/",
        headers={
            "Accept": "application/vnd.oasis.taxii+json; version=2.0",
            "Authorization": "Token 123456",
        },
    )
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/vnd.oasis.taxii+json; version=2.0"
    resp = session.get(
        server.base_url + "taxii/",
        headers={
            "Accept": "application/vnd.oasis.taxii+json; version=2.0",
            "Authorization": "Token 654321",
        },
    )
    assert resp.status_code == 401


def test_a_write_to_a_read_only_collection_is_refused(server):
    stale = Collection(
        server.collection_url(READ_ONLY),
        user=ADMIN[0],
        password=ADMIN[1],
        collection_info={"id": READ_ONLY, "title": "stale", "can_read": True, "can_write": True},
    )
    malware = stix2.v20.Malware(name="Refused", labels=["trojan"])
    with pytest.raises(requests.exceptions.HTTPError) as excinfo:
        stale.add_objects(stix2.v20.Bundle(malware).serialize())
    assert excinfo.value.response.status_code == 403
    assert excinfo.value.response.headers["Content-Type"] == (
        "application/vnd.oasis.taxii+json; version=2.0"
    )
