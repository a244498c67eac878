"""pytest fixtures: real taxiid servers (see harness.py)."""

import signal
from pathlib import Path

import pytest

from harness import EXAMPLES, TaxiidServer


@pytest.fixture
def start_taxiid(tmp_path):
    """Factory: start_taxiid(save_on_shutdown=False, data=None, workdir=None, example=EXAMPLES)
    -> TaxiidServer.

    Every server started through it is killed at the end of the test.
    """
    servers = []

    def start(save_on_shutdown=False, data=None, workdir=None, example=EXAMPLES):
        if workdir is None:
            workdir = tmp_path / f"server{len(servers)}"
        Path(workdir).mkdir(parents=True, exist_ok=True)
        server = TaxiidServer(
            workdir, save_on_shutdown=save_on_shutdown, data=data, example=example
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop(signal.SIGKILL)


@pytest.fixture
def taxiid(start_taxiid):
    """A taxiid serving a fresh copy of the medallion sample; yields its base URL."""
    yield start_taxiid().base_url


@pytest.fixture
def taxiid_saving(start_taxiid):
    """Like `taxiid`, with "save_on_shutdown": true; yields the TaxiidServer itself (to
    signal it and find its data file)."""
    yield start_taxiid(save_on_shutdown=True)
