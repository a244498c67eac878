"""stix2 3.x's TAXII data store (TAXIICollectionSource / TAXIICollectionSink) over
taxii2-client against the real taxiid binary."""

import datetime
import json

import pytest
import stix2
from stix2 import CompositeDataSource, Filter, TAXIICollectionSink, TAXIICollectionSource
from stix2 import TAXIICollectionStore
from stix2.datastore import DataSourceError
from taxii2client.v21 import Collection

from harness import ADMIN, EMPTY, READ_ONLY, ROOT, RW, WRITE_ONLY

SAMPLE_INDICATOR = "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e"

T0 = datetime.datetime(2022, 5, 1, 12, 0, 0, 123000, tzinfo=datetime.timezone.utc)


def collection(base, collection_id):
    return Collection(
        f"{base}{ROOT}/collections/{collection_id}/", user=ADMIN[0], password=ADMIN[1]
    )


def as_dict(obj):
    """A stix2 object as the JSON it serialises to."""
    return json.loads(obj.serialize())


def make_objects():
    ind = stix2.v21.Indicator(
        name="interop: known bad address",
        indicator_types=["malicious-activity"],
        pattern="[ipv4-addr:value = '198.51.100.42']",
        pattern_type="stix",
        valid_from=T0,
        created=T0,
        modified=T0,
    )
    mal = stix2.v21.Malware(
        name="interop: sample family",
        is_family=True,
        malware_types=["trojan"],
        created=T0,
        modified=T0,
    )
    rel = stix2.v21.Relationship(ind, "indicates", mal, created=T0, modified=T0)
    return ind, mal, rel


def test_sink_add_and_source_get(taxiid):
    c = collection(taxiid, EMPTY)
    sink = TAXIICollectionSink(c)
    source = TAXIICollectionSource(c)
    ind, mal, rel = make_objects()

    sink.add([ind, mal, rel])

    for obj in (ind, mal, rel):
        got = source.get(obj.id)
        assert got is not None, obj.id
        assert type(got) is type(obj)
        assert got == obj
        assert as_dict(got) == as_dict(obj)
    assert source.get(rel.id).source_ref == ind.id
    assert source.get(rel.id).target_ref == mal.id
    assert source.get("indicator--00000000-0000-4000-8000-000000000000") is None

    # What the server stored is the same three objects, as the plain TAXII client sees them.
    stored = {o["id"]: o for o in c.get_objects()["objects"]}
    assert stored == {o.id: as_dict(o) for o in (ind, mal, rel)}


def test_sink_add_bundle_dict_and_json(taxiid):
    c = collection(taxiid, EMPTY)
    sink = TAXIICollectionSink(c)
    ind, mal, rel = make_objects()
    sink.add(stix2.v21.Bundle(ind, mal))
    sink.add(rel.serialize())
    ids = sorted(o["id"] for o in c.get_objects()["objects"])
    assert ids == sorted([ind.id, mal.id, rel.id])


def test_source_query_filters(taxiid):
    c = collection(taxiid, EMPTY)
    sink = TAXIICollectionSink(c)
    source = TAXIICollectionSource(c)
    ind, mal, rel = make_objects()
    other = stix2.v21.Indicator(
        name="interop: another address",
        pattern="[ipv4-addr:value = '203.0.113.9']",
        pattern_type="stix",
        valid_from=T0,
    )
    sink.add([ind, mal, rel, other])

    indicators = source.query([Filter("type", "=", "indicator")])
    assert sorted(o.id for o in indicators) == sorted([ind.id, other.id])
    assert all(o.type == "indicator" for o in indicators)

    # A TAXII filter (type, sent to the server) with a local one (name).
    named = source.query([Filter("type", "=", "indicator"), Filter("name", "=", other.name)])
    assert [o.id for o in named] == [other.id]

    assert [o.id for o in source.query([Filter("id", "=", mal.id)])] == [mal.id]
    assert source.query([Filter("type", "=", "campaign")]) == []
    everything = source.query()
    assert sorted(o.id for o in everything) == sorted(o.id for o in (ind, mal, rel, other))

    # The DataSource helpers built on query().
    assert [o.id for o in source.related_to(mal, relationship_type="indicates")] == [ind.id]
    assert [r.id for r in source.relationships(ind)] == [rel.id]


def test_source_all_versions(taxiid):
    c = collection(taxiid, EMPTY)
    sink = TAXIICollectionSink(c)
    source = TAXIICollectionSource(c)
    ind, _, _ = make_objects()
    ind2 = ind.new_version(name="interop: known bad address (revised)",
                           modified=T0 + datetime.timedelta(seconds=1))
    ind3 = ind2.new_version(revoked=True, modified=T0 + datetime.timedelta(seconds=2))
    sink.add(ind)
    sink.add([ind2, ind3])

    versions = source.all_versions(ind.id)
    assert len(versions) == 3
    assert sorted(v.modified for v in versions) == [ind.modified, ind2.modified, ind3.modified]
    assert {v.id for v in versions} == {ind.id}
    by_modified = {v.modified: v for v in versions}
    assert by_modified[ind2.modified] == ind2
    assert by_modified[ind3.modified].revoked is True

    # get() returns the latest version.
    assert source.get(ind.id) == ind3
    # So does a query.
    assert source.query([Filter("id", "=", ind.id)]) == [ind3]
    # A version filter is passed to the server.
    assert source.query([Filter("id", "=", ind.id), Filter("version", "=", "first")]) == [ind]


def test_source_over_sample_data_and_paging(taxiid):
    """The sample's read/write collection, read page by page (items_per_page) and parsed."""
    source = TAXIICollectionSource(collection(taxiid, RW), items_per_page=2)
    indicator = source.get(SAMPLE_INDICATOR)
    assert indicator.modified == stix2.utils.parse_into_datetime("2017-01-27T13:49:53.935Z")
    assert [str(v.modified) for v in sorted(source.all_versions(SAMPLE_INDICATOR),
                                            key=lambda v: v.modified)] == [
        "2016-11-03 12:30:59+00:00",
        "2016-12-25 12:30:59.444000+00:00",
        "2017-01-27 13:49:53.935000+00:00",
    ]
    rels = source.query([Filter("type", "=", "relationship")])
    assert [r.id for r in rels] == ["relationship--2f9a9aa9-108a-4333-83e2-4fb25add0463"]


def test_source_reads_more_than_a_page(taxiid):
    """stix2 asks for 5000 objects per request; the server's pages hold 100 (max_page_size),
    and the source still gets every object, once."""
    c = collection(taxiid, EMPTY)
    objs = [
        stix2.v21.Indicator(
            name=f"interop bulk {i}",
            pattern=f"[ipv4-addr:value = '198.51.100.{i % 250 + 1}']",
            pattern_type="stix",
            valid_from=T0,
        )
        for i in range(150)
    ]
    TAXIICollectionSink(c).add(stix2.v21.Bundle(objs))
    got = TAXIICollectionSource(c).query([Filter("type", "=", "indicator")])
    assert len(got) == 150
    assert sorted(o.id for o in got) == sorted(o.id for o in objs)


def test_composite_data_source(taxiid):
    c = collection(taxiid, EMPTY)
    ind, mal, rel = make_objects()
    TAXIICollectionSink(c).add([ind, mal, rel])

    composite = CompositeDataSource()
    composite.add_data_sources([
        TAXIICollectionSource(c),
        TAXIICollectionSource(collection(taxiid, RW)),
        TAXIICollectionSource(collection(taxiid, READ_ONLY)),
    ])
    assert composite.get(SAMPLE_INDICATOR).id == SAMPLE_INDICATOR
    assert composite.get(ind.id) == ind
    assert composite.get(rel.id) == rel
    indicators = composite.query([Filter("type", "=", "indicator")])
    assert sorted(o.id for o in indicators) == sorted([
        ind.id,
        SAMPLE_INDICATOR,
        "indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f",
    ])


def test_store_roundtrip(taxiid):
    store = TAXIICollectionStore(collection(taxiid, EMPTY))
    ind, mal, rel = make_objects()
    store.add([ind, mal, rel])
    assert store.get(mal.id) == mal
    assert [o.id for o in store.query([Filter("type", "=", "relationship")])] == [rel.id]


def test_permissions_are_respected(taxiid):
    with pytest.raises(DataSourceError):
        TAXIICollectionSink(collection(taxiid, READ_ONLY))
    with pytest.raises(DataSourceError):
        TAXIICollectionSource(collection(taxiid, WRITE_ONLY))
