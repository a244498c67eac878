"""Hand-made STIX 2.1 objects (plain dicts) for the interoperability tests."""

import uuid

MEDIA_STIX21 = "application/stix+json;version=2.1"


def stix_id(type_):
    return f"{type_}--{uuid.uuid4()}"


def ts(n=0, year=2021):
    """A distinct, ordered STIX timestamp (millisecond precision) for each n."""
    return f"{year}-03-{1 + (n // 86400) % 28:02d}T{(n // 3600) % 24:02d}:{(n // 60) % 60:02d}:{n % 60:02d}.000Z"


def indicator(n=0, id_=None, modified=None, name=None):
    created = ts(n)
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": id_ or stix_id("indicator"),
        "created": created,
        "modified": modified or created,
        "name": name or f"interop indicator {n}",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250 + 1}']",
        "pattern_type": "stix",
        "valid_from": created,
    }


def malware(n=0, id_=None):
    created = ts(n)
    return {
        "type": "malware",
        "spec_version": "2.1",
        "id": id_ or stix_id("malware"),
        "created": created,
        "modified": created,
        "name": f"interop malware {n}",
        "is_family": False,
    }


def identity(n=0):
    created = ts(n)
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": stix_id("identity"),
        "created": created,
        "modified": created,
        "name": f"interop identity {n}",
        "identity_class": "organization",
    }


def relationship(source, target, n=0):
    created = ts(n)
    return {
        "type": "relationship",
        "spec_version": "2.1",
        "id": stix_id("relationship"),
        "created": created,
        "modified": created,
        "relationship_type": "indicates",
        "source_ref": source["id"],
        "target_ref": target["id"],
    }


def ipv4(value):
    """An SCO: no created/modified, so its version is its date_added."""
    return {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": stix_id("ipv4-addr"),
        "value": value,
    }


def envelope(objects):
    return {"objects": list(objects)}


def bundle(objects):
    return {"type": "bundle", "id": stix_id("bundle"), "objects": list(objects)}


def version_of(obj):
    return obj.get("modified") or obj.get("created")
