"""Shared by the interoperability tests: the sample's constants and a running taxiid.

Starts the real taxiid binary ($TAXIID_BIN) on a free port.

Each server runs in its own temporary directory holding a copy of the medallion sample
(examples/medallion/data.json) and a medallion-style config.json naming it, exactly as a
medallion user would migrate: `taxiid --conf-file config.json`.
"""

import copy
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "medallion"
# medallion 1.x (TAXII 2.0): its configuration (auth section, API key) and 2.0-shaped data.
EXAMPLES_1X = REPO / "examples" / "medallion-1.x"

STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0

LISTENING = re.compile(r"^taxiid: listening on (http://127\.0\.0\.1:(\d+)) ")

# The sample's users (examples/medallion/config.json).
ADMIN = ("admin", "Password0")
USER1 = ("user1", "Password1")

# trustgroup1's collections in the sample.
ROOT = "trustgroup1"
RW = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
EMPTY = "365fed99-08fa-fdcd-a1b3-fb247eb41d01"
WRITE_ONLY = "472c94ae-3113-4e3e-a4dd-a9f4ac7471d4"
READ_ONLY = "52892447-4d7e-4f70-b94d-d7f22742ff63"
NO_ACCESS = "64993447-4d7e-4f70-b94d-d7f33742ee63"

# requests must never send loopback traffic through a proxy from the environment.
os.environ["NO_PROXY"] = ",".join(
    x for x in [os.environ.get("NO_PROXY", ""), "127.0.0.1", "localhost"] if x
)
os.environ["no_proxy"] = os.environ["NO_PROXY"]


def taxiid_bin():
    path = os.environ.get("TAXIID_BIN", str(REPO / "target" / "release" / "taxiid"))
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        pytest.fail(
            f"the taxiid binary {path!r} does not exist or is not executable; "
            "build it (cargo build --release -p taxiid) and set TAXIID_BIN",
            pytrace=False,
        )
    return path


class TaxiidServer:
    """One running taxiid process; `base_url` ends with '/'."""

    def __init__(self, workdir, save_on_shutdown=False, data=None, example=EXAMPLES):
        self.workdir = Path(workdir)
        self.data_file = self.workdir / "data.json"
        self.config_file = self.workdir / "config.json"
        self.log = []  # every stderr line, in order
        self._lines = queue.Queue()
        if data is not None:
            self.data_file.write_text(json.dumps(data, indent=2), encoding="utf-8")
        elif not self.data_file.exists():
            shutil.copy(example / "data.json", self.data_file)
        config = json.loads((example / "config.json").read_text(encoding="utf-8"))
        config["backend"]["filename"] = "data.json"
        if save_on_shutdown:
            config["backend"]["save_on_shutdown"] = True
        self.config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")

        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("MEDALLION_") and k != "TAXIID_LOG"
        }
        env["NO_COLOR"] = "1"
        self.process = subprocess.Popen(
            [
                taxiid_bin(),
                "--host", "127.0.0.1",
                "--port", "0",
                "--no-conf-dir",
                "--conf-file", "config.json",
            ],
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        # Drains stderr for the whole life of the process, so the pipe never fills up.
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()
        try:
            self.base_url, self.port = self._wait_listening()
        except BaseException:
            self.stop(signal.SIGKILL)
            raise

    def _read_stderr(self):
        for line in self.process.stderr:
            line = line.rstrip("\n")
            self.log.append(line)
            self._lines.put(line)
        self._lines.put(None)  # EOF

    def _wait_listening(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(
                    f"taxiid did not report listening within {STARTUP_TIMEOUT:.0f} s; "
                    f"stderr so far:\n{self.log_text()}"
                )
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                code = self.process.wait(timeout=STOP_TIMEOUT)
                raise RuntimeError(
                    f"taxiid exited with code {code} before listening; stderr:\n{self.log_text()}"
                )
            m = LISTENING.match(line)
            if m:
                return m.group(1) + "/", int(m.group(2))

    def log_text(self):
        return "\n".join(self.log)

    @property
    def discovery_url(self):
        return self.base_url + "taxii2/"

    @property
    def root_url(self):
        return self.base_url + ROOT + "/"

    def collection_url(self, collection_id):
        return f"{self.root_url}collections/{collection_id}/"

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends `sig`, waits for the exit (SIGKILL after `timeout`), returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        self._drain.join(timeout=timeout)
        return self.process.returncode


def sample_data():
    return copy.deepcopy(json.loads((EXAMPLES / "data.json").read_text(encoding="utf-8")))
