"""taxii2-client 2.3.0 (OASIS's TAXII 2.1 client) against the real taxiid binary."""

import datetime
import json
from collections import Counter

import pytest
import requests
from taxii2client.exceptions import AccessError
from taxii2client.v21 import ApiRoot, Collection, Server, Status, as_pages

from harness import (
    ADMIN, EMPTY, NO_ACCESS, READ_ONLY, ROOT, RW, USER1, WRITE_ONLY, sample_data,
)
from harness_stix import (
    MEDIA_STIX21, bundle, envelope, identity, indicator, ipv4, malware, relationship, ts,
    version_of,
)

TAXII21 = "application/taxii+json;version=2.1"

SAMPLE_INDICATOR = "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e"
SAMPLE_MALWARE = "malware--c0931cc6-c75e-47e5-9036-78fabc95d4ec"
SAMPLE_MARKING = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
SAMPLE_RELATIONSHIP = "relationship--2f9a9aa9-108a-4333-83e2-4fb25add0463"
SAMPLE_IPV4 = "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"
SAMPLE_WIDGET = "x-acme-widget--a1b2c3d4-0000-4000-8000-00000000abcd"
# The latest version of each object in the sample's read/write collection. The malware has a
# later STIX 2.0 version (2018-02-23T18:30:00.000Z) that is only served when asked for with
# match[spec_version]: by default only the latest spec version of an object counts.
SAMPLE_LATEST = {
    SAMPLE_INDICATOR: "2017-01-27T13:49:53.935Z",
    SAMPLE_MALWARE: "2017-01-27T13:49:53.997Z",
    SAMPLE_MARKING: "2017-01-20T00:00:00.000Z",
    SAMPLE_RELATIONSHIP: "2014-05-08T09:00:00.000Z",
    SAMPLE_IPV4: "2017-02-01T10:00:00.000000Z",
    SAMPLE_WIDGET: "2018-01-01T00:00:00.123456789Z",
}
SAMPLE_INDICATOR_VERSIONS = [
    "2016-11-03T12:30:59.000Z",
    "2016-12-25T12:30:59.444Z",
    "2017-01-27T13:49:53.935Z",
]


def api_root(base, auth=ADMIN):
    return ApiRoot(f"{base}{ROOT}/", user=auth[0], password=auth[1])


def collection(base, collection_id, auth=ADMIN):
    return Collection(f"{base}{ROOT}/collections/{collection_id}/", user=auth[0], password=auth[1])


def stale_collection(base, collection_id, can_read=True, can_write=True):
    """A Collection whose client-side view claims rights the server does not grant, so the
    request reaches the server and its answer is what the test sees."""
    return Collection(
        f"{base}{ROOT}/collections/{collection_id}/",
        user=ADMIN[0],
        password=ADMIN[1],
        collection_info={
            "id": collection_id,
            "title": "stale view",
            "can_read": can_read,
            "can_write": can_write,
        },
    )


def object_version(obj):
    """The version the server reports for an object (its modified, created or date_added)."""
    return obj.get("modified") or obj.get("created")


def http_error(excinfo):
    err = excinfo.value
    assert isinstance(err, requests.HTTPError)
    return err.response


# ---------------------------------------------------------------------------------- discovery


def test_discovery(taxiid):
    server = Server(f"{taxiid}taxii2/", user=ADMIN[0], password=ADMIN[1])
    assert server.title == "Some TAXII Server"
    assert server.description == (
        "This TAXII Server contains a listing of STIX data for the test suite"
    )
    assert server.contact == "string containing contact information"
    # The stored discovery resource is served as it is, as medallion does.
    assert [r.url for r in server.api_roots] == [
        "http://localhost:5000/api1/",
        "http://localhost:5000/api2/",
        "http://localhost:5000/trustgroup1/",
    ]
    assert server.default is server.api_roots[2]
    assert server.custom_properties == {}


def test_discovery_with_relative_api_roots_leads_to_them(start_taxiid):
    data = sample_data()
    data["/discovery"]["api_roots"] = ["/api1/", "/api2/", "/trustgroup1/"]
    data["/discovery"]["default"] = "/trustgroup1/"
    base = start_taxiid(data=data).base_url
    server = Server(f"{base}taxii2/", user=ADMIN[0], password=ADMIN[1])
    assert [r.url for r in server.api_roots] == [
        f"{base}api1/",
        f"{base}api2/",
        f"{base}trustgroup1/",
    ]
    assert [r.title for r in server.api_roots] == [
        "General STIX 2.1 Collections",
        "STIX 2.1 Indicator Collections",
        "Malware Research Group",
    ]
    default = server.default
    assert default is server.api_roots[2]
    assert sorted(c.id for c in default.collections) == sorted(
        [RW, EMPTY, WRITE_ONLY, READ_ONLY, NO_ACCESS]
    )
    # The other roots have no collections.
    assert server.api_roots[0].collections == []


def test_api_root_information(taxiid):
    root = api_root(taxiid)
    assert root.title == "Malware Research Group"
    assert root.description == "A trust group setup for malware researchers"
    assert root.versions == [TAXII21]
    assert root.max_content_length == 9765625
    assert root.custom_properties == {}


def test_collections(taxiid):
    root = api_root(taxiid)
    by_id = {c.id: c for c in root.collections}
    assert len(root.collections) == 5
    expected = {
        RW: ("High Value Indicator Collection", True, True),
        EMPTY: ("Empty collection", True, True),
        WRITE_ONLY: ("Write-only collection", False, True),
        READ_ONLY: ("Indicators from the past 24-hours", True, False),
        NO_ACCESS: ("Secret Indicators", False, False),
    }
    assert set(by_id) == set(expected)
    for cid, (title, can_read, can_write) in expected.items():
        c = by_id[cid]
        assert (c.title, c.can_read, c.can_write) == (title, can_read, can_write), cid
        assert c.url == f"{taxiid}{ROOT}/collections/{cid}/"
        assert c.media_types == [
            "application/stix+json;version=2.1",
            "application/stix+json;version=2.0",
        ]
        # medallion's storage members never leak into the resource.
        assert not {"objects", "manifest", "responses"} & set(c.custom_properties)


def test_get_collection(taxiid):
    # Created from its URL alone, the Collection loads itself with Get a Collection.
    c = collection(taxiid, READ_ONLY)
    assert c.id == READ_ONLY
    assert c.title == "Indicators from the past 24-hours"
    assert c.description == "This data collection is for collecting current IOCs"
    assert (c.can_read, c.can_write) == (True, False)


# -------------------------------------------------------------------------------- reading


def test_get_objects_envelope(taxiid):
    env = collection(taxiid, RW).get_objects()
    assert set(env) <= {"more", "next", "objects"}
    assert env.get("more", False) is False
    assert "next" not in env
    got = {o["id"]: object_version(o) or o.get("value") for o in env["objects"]}
    assert len(env["objects"]) == 6
    assert set(got) == set(SAMPLE_LATEST)
    for oid, version in SAMPLE_LATEST.items():
        if oid != SAMPLE_IPV4:
            assert got[oid] == version, oid
    # medallion's hidden member of SCOs is storage metadata, never served.
    ipv4_obj = next(o for o in env["objects"] if o["id"] == SAMPLE_IPV4)
    assert "_date_added" not in ipv4_obj
    assert ipv4_obj["value"] == "198.51.100.3"


def test_get_objects_limit_and_next(taxiid):
    c = collection(taxiid, RW)
    first = c.get_objects(limit=4)
    assert first["more"] is True
    assert isinstance(first["next"], str) and first["next"]
    assert len(first["objects"]) == 4
    rest = c.get_objects(limit=4, next=first["next"])
    assert rest.get("more", False) is False
    assert len(rest["objects"]) == 2
    ids = [o["id"] for o in first["objects"] + rest["objects"]]
    assert sorted(ids) == sorted(SAMPLE_LATEST)


def test_get_object(taxiid):
    c = collection(taxiid, RW)
    env = c.get_object(SAMPLE_INDICATOR)
    assert [o["id"] for o in env["objects"]] == [SAMPLE_INDICATOR]
    assert env["objects"][0]["modified"] == "2017-01-27T13:49:53.935Z"
    assert env["objects"][0]["name"] == "File hash for Poison Ivy variant"

    every = c.get_object(SAMPLE_INDICATOR, version="all")
    assert sorted(o["modified"] for o in every["objects"]) == SAMPLE_INDICATOR_VERSIONS

    first = c.get_object(SAMPLE_INDICATOR, version="first")
    assert [o["modified"] for o in first["objects"]] == ["2016-11-03T12:30:59.000Z"]

    one = c.get_object(SAMPLE_INDICATOR, version="2016-12-25T12:30:59.444Z")
    assert [o["modified"] for o in one["objects"]] == ["2016-12-25T12:30:59.444Z"]

    with pytest.raises(requests.HTTPError) as excinfo:
        c.get_object("indicator--00000000-0000-4000-8000-000000000000")
    assert http_error(excinfo).status_code == 404


def test_object_versions(taxiid):
    c = collection(taxiid, RW)
    res = c.object_versions(SAMPLE_INDICATOR)
    assert set(res) <= {"more", "next", "versions"}
    assert res.get("more", False) is False
    assert sorted(res["versions"]) == SAMPLE_INDICATOR_VERSIONS
    assert len(res["versions"]) == 3

    # By default only the latest spec version's versions; both with match[spec_version].
    assert c.object_versions(SAMPLE_MALWARE)["versions"] == ["2017-01-27T13:49:53.997Z"]
    both = c.object_versions(SAMPLE_MALWARE, spec_version=["2.0", "2.1"])["versions"]
    assert sorted(both) == ["2017-01-27T13:49:53.997Z", "2018-02-23T18:30:00.000Z"]

    with pytest.raises(requests.HTTPError) as excinfo:
        c.object_versions("malware--00000000-0000-4000-8000-000000000000")
    assert http_error(excinfo).status_code == 404


def test_get_manifest(taxiid):
    c = collection(taxiid, RW)
    manifest = c.get_manifest()
    assert manifest.get("more", False) is False
    records = {m["id"]: m for m in manifest["objects"]}
    assert len(manifest["objects"]) == 6
    assert set(records) == set(SAMPLE_LATEST)
    for oid, version in SAMPLE_LATEST.items():
        assert records[oid]["version"] == version, oid
        assert set(records[oid]) == {"id", "date_added", "version", "media_type"}
    assert records[SAMPLE_INDICATOR]["date_added"] == "2017-01-27T13:49:59.997000Z"
    assert records[SAMPLE_INDICATOR]["media_type"] == MEDIA_STIX21
    assert records[SAMPLE_MALWARE]["media_type"] == MEDIA_STIX21
    old = c.get_manifest(id=SAMPLE_MALWARE, spec_version="2.0")["objects"]
    assert [(m["version"], m["media_type"]) for m in old] == [
        ("2018-02-23T18:30:00.000Z", "application/stix+json;version=2.0"),
    ]

    all_versions = c.get_manifest(id=SAMPLE_INDICATOR, version="all")["objects"]
    assert sorted(m["version"] for m in all_versions) == SAMPLE_INDICATOR_VERSIONS


# -------------------------------------------------------------------------------- filters


def test_filter_type(taxiid):
    c = collection(taxiid, RW)
    env = c.get_objects(type="indicator")
    assert [o["id"] for o in env["objects"]] == [SAMPLE_INDICATOR]
    env = c.get_objects(type=["indicator", "malware"])
    assert sorted(o["id"] for o in env["objects"]) == sorted([SAMPLE_INDICATOR, SAMPLE_MALWARE])
    assert c.get_objects(type="campaign").get("objects", []) == []
    manifest = c.get_manifest(type="relationship")["objects"]
    assert [m["id"] for m in manifest] == [SAMPLE_RELATIONSHIP]


def test_filter_id(taxiid):
    c = collection(taxiid, RW)
    env = c.get_objects(id=SAMPLE_MARKING)
    assert [o["id"] for o in env["objects"]] == [SAMPLE_MARKING]
    env = c.get_objects(id=[SAMPLE_MARKING, SAMPLE_RELATIONSHIP])
    assert sorted(o["id"] for o in env["objects"]) == sorted([SAMPLE_MARKING, SAMPLE_RELATIONSHIP])


def test_filter_version(taxiid):
    c = collection(taxiid, RW)
    every = c.get_objects(id=SAMPLE_INDICATOR, version="all")["objects"]
    assert sorted(o["modified"] for o in every) == SAMPLE_INDICATOR_VERSIONS
    first = c.get_objects(id=SAMPLE_INDICATOR, version="first")["objects"]
    assert [o["modified"] for o in first] == [SAMPLE_INDICATOR_VERSIONS[0]]
    last = c.get_objects(id=SAMPLE_INDICATOR, version="last")["objects"]
    assert [o["modified"] for o in last] == [SAMPLE_INDICATOR_VERSIONS[-1]]
    both = c.get_objects(id=SAMPLE_INDICATOR, version=["first", "last"])["objects"]
    assert sorted(o["modified"] for o in both) == [
        SAMPLE_INDICATOR_VERSIONS[0], SAMPLE_INDICATOR_VERSIONS[-1],
    ]
    exact = c.get_objects(version="2016-12-25T12:30:59.444Z")["objects"]
    assert [(o["id"], o["modified"]) for o in exact] == [
        (SAMPLE_INDICATOR, "2016-12-25T12:30:59.444Z"),
    ]
    # The whole collection with every version: 3 + 1 + 1 + 1 + 1 + 1 of STIX 2.1 ...
    assert len(c.get_objects(version="all")["objects"]) == 8
    # ... and the malware's STIX 2.0 version when both spec versions are asked for.
    assert len(c.get_objects(version="all", spec_version=["2.0", "2.1"])["objects"]) == 9
    v20 = c.get_objects(spec_version="2.0")["objects"]
    assert [(o["id"], o["modified"]) for o in v20] == [(SAMPLE_MALWARE, "2018-02-23T18:30:00.000Z")]


def test_filter_added_after(taxiid):
    c = collection(taxiid, RW)
    # date_added of the sample's versions: ipv4 2017-02-01, the widget 2018-01-01, all
    # others on or before 2017-01-27T13:49:59.997Z.
    env = c.get_objects(added_after="2017-01-27T13:49:59.997Z")
    assert sorted(o["id"] for o in env["objects"]) == sorted([SAMPLE_IPV4, SAMPLE_WIDGET])
    # A datetime is formatted by the client.
    env = c.get_objects(added_after=datetime.datetime(2017, 6, 1, tzinfo=datetime.timezone.utc))
    assert [o["id"] for o in env["objects"]] == [SAMPLE_WIDGET]
    env = c.get_objects(added_after="2030-01-01T00:00:00Z")
    assert env.get("objects", []) == []
    manifest = c.get_manifest(added_after="2017-01-27T13:49:59.997Z")["objects"]
    assert sorted(m["id"] for m in manifest) == sorted([SAMPLE_IPV4, SAMPLE_WIDGET])


def test_date_added_headers(taxiid):
    c = collection(taxiid, RW)
    resp = c._conn.session.get(
        c.objects_url, headers={"Accept": TAXII21}, params={"added_after": "2017-01-01T00:00:00Z"}
    )
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].replace(" ", "") == TAXII21
    assert resp.headers["X-TAXII-Date-Added-First"] == "2017-01-20T00:00:00.000000Z"
    assert resp.headers["X-TAXII-Date-Added-Last"] == "2018-01-01T00:00:01.000000Z"


# -------------------------------------------------------------------------------- writing


def test_add_objects_envelope(taxiid):
    c = collection(taxiid, EMPTY)
    ind = indicator(1)
    mal = malware(2)
    objs = [ind, mal, relationship(ind, mal, 3), identity(4)]
    status = c.add_objects(envelope(objs))
    assert isinstance(status, Status)
    assert status.status == "complete"
    assert (status.total_count, status.success_count, status.failure_count,
            status.pending_count) == (4, 4, 0, 0)
    assert sorted((s["id"], s["version"]) for s in status.successes) == sorted(
        (o["id"], version_of(o)) for o in objs
    )
    assert status.failures == [] and status.pendings == []
    assert bool(status) is True

    stored = c.get_objects()["objects"]
    assert sorted(stored, key=lambda o: o["id"]) == sorted(objs, key=lambda o: o["id"])
    manifest = c.get_manifest()["objects"]
    assert sorted((m["id"], m["version"], m["media_type"]) for m in manifest) == sorted(
        (o["id"], version_of(o), MEDIA_STIX21) for o in objs
    )

    # Adding the same versions again is not an error: each counts as a success.
    again = c.add_objects(envelope(objs))
    assert again.status == "complete"
    assert (again.total_count, again.success_count, again.failure_count) == (4, 4, 0)
    assert again.id != status.id
    assert len(c.get_objects(version="all")["objects"]) == 4


def test_add_objects_bundle(taxiid):
    """A STIX 2.1 bundle posted as the body (what stix2's TAXIICollectionSink sends, and what
    medallion accepts) adds its objects."""
    c = collection(taxiid, EMPTY)
    ind = indicator(10)
    mal = malware(11)
    objs = [ind, mal, relationship(ind, mal, 12)]
    status = c.add_objects(bundle(objs))
    assert status.status == "complete"
    assert (status.total_count, status.success_count, status.failure_count) == (3, 3, 0)
    stored = {o["id"]: o for o in c.get_objects()["objects"]}
    assert stored == {o["id"]: o for o in objs}


def test_add_objects_as_json_text(taxiid):
    c = collection(taxiid, EMPTY)
    objs = [indicator(20), ipv4("203.0.113.7")]
    status = c.add_objects(json.dumps(envelope(objs)))
    assert (status.status, status.success_count, status.failure_count) == ("complete", 2, 0)
    ids = {o["id"] for o in c.get_objects()["objects"]}
    assert ids == {o["id"] for o in objs}
    # An SCO's version is the date it was added.
    sco = next(s for s in status.successes if s["id"] == objs[1]["id"])
    sco_versions = c.object_versions(objs[1]["id"])["versions"]
    assert sco_versions == [sco["version"]]


def test_add_new_version(taxiid):
    c = collection(taxiid, EMPTY)
    v1 = indicator(30)
    v2 = dict(v1, modified=ts(31), name="interop indicator, revised")
    assert c.add_objects(envelope([v1])).success_count == 1
    assert c.add_objects(envelope([v2])).success_count == 1
    assert sorted(c.object_versions(v1["id"])["versions"]) == [v1["modified"], v2["modified"]]
    latest = c.get_object(v1["id"])["objects"]
    assert latest == [v2]


def test_status_lookup(taxiid):
    c = collection(taxiid, EMPTY)
    objs = [indicator(40), malware(41)]
    started = c.add_objects(envelope(objs), wait_for_completion=False)
    assert started.id

    # The URL taxii2-client itself derives for the status resource.
    status = Status(f"{taxiid}{ROOT}/status/{started.id}/", user=ADMIN[0], password=ADMIN[1])
    assert status.id == started.id
    assert status.status == "complete"
    assert (status.total_count, status.success_count, status.failure_count,
            status.pending_count) == (2, 2, 0, 0)
    assert sorted(s["id"] for s in status.successes) == sorted(o["id"] for o in objs)
    status.refresh()
    assert status.id == started.id and status.success_count == 2
    assert status._raw["request_timestamp"] == started.request_timestamp

    via_root = api_root(taxiid).get_status(started.id)
    assert via_root.id == started.id
    assert via_root.success_count == 2

    with pytest.raises(requests.HTTPError) as excinfo:
        Status(f"{taxiid}{ROOT}/status/00000000-0000-4000-8000-000000000000/",
               user=ADMIN[0], password=ADMIN[1])
    assert http_error(excinfo).status_code == 404


def test_delete_object(taxiid):
    c = collection(taxiid, EMPTY)
    v1 = indicator(50)
    v2 = dict(v1, modified=ts(51))
    keep = malware(52)
    assert c.add_objects(envelope([v1, v2, keep])).success_count == 3

    # Delete one version only.
    c.delete_object(v1["id"], version=v1["modified"])
    assert c.object_versions(v1["id"])["versions"] == [v2["modified"]]

    # Delete the rest of the object.
    c.delete_object(v1["id"])
    with pytest.raises(requests.HTTPError) as excinfo:
        c.get_object(v1["id"])
    assert http_error(excinfo).status_code == 404
    assert [o["id"] for o in c.get_objects()["objects"]] == [keep["id"]]
    assert [m["id"] for m in c.get_manifest()["objects"]] == [keep["id"]]

    with pytest.raises(requests.HTTPError) as excinfo:
        c.delete_object(v1["id"])
    assert http_error(excinfo).status_code == 404


# ------------------------------------------------------------------------------ pagination


def test_as_pages_sees_each_object_once(taxiid):
    c = collection(taxiid, EMPTY)
    objs = [indicator(i) for i in range(120)]
    status = c.add_objects(envelope(objs))
    assert (status.status, status.success_count) == ("complete", 120)
    want = {o["id"] for o in objs}

    for per_request in (1, 7, 25, 50, 100):
        pages = list(as_pages(c.get_objects, per_request=per_request))
        seen = Counter(o["id"] for page in pages for o in page.get("objects", []))
        assert set(seen) == want, per_request
        assert max(seen.values()) == 1, per_request
        assert len(pages) == -(-120 // per_request), per_request
        assert all(len(p["objects"]) == per_request for p in pages[:-1])
        assert pages[-1].get("more", False) is False

    # More than the server's max_page_size (100): the server caps the page, the client
    # follows `next` with the size it was given, and still sees everything once.
    pages = list(as_pages(c.get_objects, per_request=500))
    assert [len(p["objects"]) for p in pages] == [100, 20]
    seen = Counter(o["id"] for p in pages for o in p["objects"])
    assert set(seen) == want and max(seen.values()) == 1

    # Filters stay the same on every page.
    half = {o["id"] for o in objs[:60]}
    pages = list(as_pages(c.get_objects, per_request=16, id=sorted(half)))
    seen = Counter(o["id"] for p in pages for o in p["objects"])
    assert set(seen) == half and max(seen.values()) == 1

    pages = list(as_pages(c.get_manifest, per_request=33))
    seen = Counter(m["id"] for p in pages for m in p["objects"])
    assert set(seen) == want and max(seen.values()) == 1
    assert [len(p["objects"]) for p in pages] == [33, 33, 33, 21]


def test_as_pages_with_filters_across_pages(taxiid):
    c = collection(taxiid, EMPTY)
    first = [indicator(i) for i in range(30)]
    assert c.add_objects(envelope(first)).success_count == 30
    cutoff = max(m["date_added"] for m in c.get_manifest()["objects"])
    later = [malware(100 + i) for i in range(25)] + [indicator(200 + i) for i in range(15)]
    assert c.add_objects(envelope(later)).success_count == 40

    pages = list(as_pages(c.get_objects, per_request=10, added_after=cutoff))
    seen = Counter(o["id"] for p in pages for o in p["objects"])
    assert set(seen) == {o["id"] for o in later} and max(seen.values()) == 1
    assert len(pages) == 4

    pages = list(as_pages(c.get_objects, per_request=7, type="indicator"))
    seen = Counter(o["id"] for p in pages for o in p["objects"])
    assert set(seen) == {o["id"] for o in first + later[25:]} and max(seen.values()) == 1

    # A next token belongs to its filters: reusing it with others is refused.
    page = c.get_objects(limit=5, type="malware")
    assert page["more"] is True
    with pytest.raises(requests.HTTPError) as excinfo:
        c.get_objects(limit=5, type="indicator", next=page["next"])
    assert http_error(excinfo).status_code == 400


def test_accept_without_version(taxiid):
    """`application/taxii+json` without a version means the latest version, 2.1."""
    c = collection(taxiid, RW)
    env = c.get_objects(accept="application/taxii+json", type="indicator")
    assert [o["id"] for o in env["objects"]] == [SAMPLE_INDICATOR]
    root = ApiRoot(f"{taxiid}{ROOT}/", user=ADMIN[0], password=ADMIN[1])
    root.refresh_information(accept="application/taxii+json")
    assert root.title == "Malware Research Group"


def test_as_pages_over_versions(taxiid):
    c = collection(taxiid, EMPTY)
    base = indicator(60)
    versions = [dict(base, modified=ts(60 + i)) for i in range(12)]
    assert c.add_objects(envelope(versions)).success_count == 12
    pages = list(as_pages(c.object_versions, 5, base["id"]))
    got = [v for p in pages for v in p["versions"]]
    assert sorted(got) == sorted(v["modified"] for v in versions)
    assert len(got) == 12


# ------------------------------------------------------------------------------- access


def test_read_write_only_collection_is_403(taxiid):
    honest = collection(taxiid, WRITE_ONLY)
    assert (honest.can_read, honest.can_write) == (False, True)
    with pytest.raises(AccessError):
        honest.get_objects()  # the client refuses before asking

    c = stale_collection(taxiid, WRITE_ONLY)
    for call in (c.get_objects, c.get_manifest, lambda: c.get_object(SAMPLE_INDICATOR)):
        with pytest.raises(requests.HTTPError) as excinfo:
            call()
        resp = http_error(excinfo)
        assert resp.status_code == 403
        assert resp.headers["Content-Type"].replace(" ", "") == TAXII21
        body = resp.json()
        assert body["title"]
        assert str(body.get("http_status", "403")) == "403"

    # Writing to it works (it is a drop box), reading it back does not.
    status = honest.add_objects(envelope([indicator(70)]))
    assert (status.status, status.success_count) == ("complete", 1)


def test_write_read_only_collection_is_403(taxiid):
    c = stale_collection(taxiid, READ_ONLY)
    with pytest.raises(requests.HTTPError) as excinfo:
        c.add_objects(envelope([indicator(80)]))
    assert http_error(excinfo).status_code == 403
    # Nothing was added.
    assert [o["id"] for o in collection(taxiid, READ_ONLY).get_objects()["objects"]] == [
        "indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f"
    ]


def test_no_access_collection(taxiid):
    c = stale_collection(taxiid, NO_ACCESS)
    with pytest.raises(requests.HTTPError) as excinfo:
        c.get_objects()
    assert http_error(excinfo).status_code == 403
    with pytest.raises(requests.HTTPError) as excinfo:
        c.add_objects(envelope([indicator(90)]))
    assert http_error(excinfo).status_code == 403


def test_delete_needs_read_and_write(taxiid):
    for collection_id, status in [(WRITE_ONLY, 403), (READ_ONLY, 403), (NO_ACCESS, 404)]:
        c = stale_collection(taxiid, collection_id)
        with pytest.raises(requests.HTTPError) as excinfo:
            c.delete_object("indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f")
        assert http_error(excinfo).status_code == status, collection_id
    # The read-only collection still has its object.
    assert len(collection(taxiid, READ_ONLY).get_objects()["objects"]) == 1


def test_wrong_password_is_401(taxiid):
    for user, password in [("admin", "wrong"), ("nobody", "Password0"), ("user1", "Password0")]:
        server = Server(f"{taxiid}taxii2/", user=user, password=password)
        with pytest.raises(requests.HTTPError) as excinfo:
            server.title
        resp = http_error(excinfo)
        assert resp.status_code == 401, (user, password)
        assert resp.headers["WWW-Authenticate"].lower().startswith("basic")

    with pytest.raises(requests.HTTPError) as excinfo:
        collection(taxiid, RW, auth=("admin", "Password1")).get_objects()
    assert http_error(excinfo).status_code == 401

    # No credentials at all.
    with pytest.raises(requests.HTTPError) as excinfo:
        ApiRoot(f"{taxiid}{ROOT}/").title
    assert http_error(excinfo).status_code == 401


def test_second_user(taxiid):
    c = collection(taxiid, EMPTY, auth=USER1)
    status = c.add_objects(envelope([indicator(100)]))
    assert (status.status, status.success_count) == ("complete", 1)
    assert len(collection(taxiid, EMPTY, auth=ADMIN).get_objects()["objects"]) == 1
