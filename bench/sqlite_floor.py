#!/usr/bin/env python3
"""What SQLite alone can ingest on this machine, with taxiid's table shape and no server.

One connection inserts 100 transactions of 1,000 rows (300-byte JSON text each) into a
collection of its own beside 100,000 rows of another one, WAL mode, a passive checkpoint every
ten commits, and prints rows/s and where each commit's time goes. The variants change one
thing each: which indexes exist, random or sequential ids, `synchronous`, the page size. It is
the floor under bench/README.md's "Where the time goes": taxiid's ingest also parses, checks
and answers over HTTP, so it cannot beat the variant that matches its schema.

    python3 bench/sqlite_floor.py [DIR]      # DIR: where the throwaway database goes
"""
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid

TYPES = ["indicator", "malware", "relationship", "ipv4-addr"]


def run(path, indexes, synchronous, ids, page_size):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA page_size = {page_size}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(f"PRAGMA synchronous = {synchronous}")
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.execute(
        "CREATE TABLE objects (seq INTEGER PRIMARY KEY, ckey INT, date_added INT, id TEXT,"
        " type TEXT, version INT, json TEXT)"
    )
    if indexes in ("id", "taxiid"):
        db.execute("CREATE UNIQUE INDEX by_version ON objects (ckey, id, version)")
    if indexes == "taxiid":
        db.execute("CREATE INDEX by_date ON objects (ckey, date_added, seq)")
        db.execute("CREATE INDEX by_type ON objects (ckey, type, date_added, seq)")
    rng = random.Random(1)
    clock = [0]

    def rows(n, ckey):
        out = []
        for _ in range(n):
            clock[0] += 1
            t = clock[0]
            oid = str(uuid.UUID(int=rng.getrandbits(128), version=4)) if ids == "random" else "%036d" % t
            out.append((ckey, t, "indicator--" + oid, rng.choice(TYPES), t, "x" * 300))
        return out

    insert = "INSERT INTO objects (ckey, date_added, id, type, version, json) VALUES (?,?,?,?,?,?)"
    db.execute("BEGIN")
    db.executemany(insert, rows(100_000, 1))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.sync()
    spent = [0.0, 0.0, 0.0]
    start = time.perf_counter()
    for n in range(100):
        batch = rows(1000, 2)
        t0 = time.perf_counter()
        db.execute("BEGIN")
        db.executemany(insert, batch)
        t1 = time.perf_counter()
        db.execute("COMMIT")
        t2 = time.perf_counter()
        if n % 10 == 9:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        t3 = time.perf_counter()
        spent[0] += t1 - t0
        spent[1] += t2 - t1
        spent[2] += t3 - t2
    elapsed = time.perf_counter() - start
    db.close()
    return 100_000 / elapsed, [s * 1000 / 100 for s in spent]


VARIANTS = [
    ("taxiid", "FULL", "random", 4096),
    ("taxiid", "FULL", "random", 16384),
    ("taxiid", "NORMAL", "random", 4096),
    ("taxiid", "FULL", "sequential", 4096),
    ("id", "FULL", "random", 4096),
    ("none", "FULL", "random", 4096),
]


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="sqlite-floor.")
    path = os.path.join(directory, "floor.sqlite3")
    print(f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores, database in {directory}")
    print("| indexes | synchronous | ids | page | rows/s | insert ms | commit ms | checkpoint ms |")
    print("|---|---|---|---|---|---|---|---|")
    for indexes, synchronous, ids, page_size in VARIANTS:
        rate, (ins, com, ckpt) = run(path, indexes, synchronous, ids, page_size)
        print(
            f"| {indexes} | {synchronous} | {ids} | {page_size} | {rate:,.0f} |"
            f" {ins:.1f} | {com:.1f} | {ckpt:.1f} |"
        )
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


if __name__ == "__main__":
    main()
