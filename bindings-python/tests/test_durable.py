"""Durable directories from Python: open / flush / compact / close, the context manager,
the lock naming its holder, a torn journal tail cut and reported, and threads writing with
group commit while others read."""

import os
import threading
from pathlib import Path

import pytest

import segcore

NOW = "2024-06-01T00:00:00Z"


def test_writes_survive_reopening(tmp_path: Path) -> None:
    directory = tmp_path / "shop"
    with segcore.Audience.open(directory) as a:
        assert a.directory == directory
        assert a.generation == 0
        a.upsert("ada", {"country": "SE", "age": 36})
        a.tag("ada", "vip", at=NOW)
        a.track("ada", "purchase", at=NOW, values={"amount": 120.0})
        a.define("buyers", "did purchase")
        a.define_decision("hero", {"rules": [{"segment": "buyers", "variant": "a"}], "default": "b",
                                   "variants": {"a": {}, "b": {}}})
        a.upsert("bo", {"age": 17})
        assert a.erase("bo")
    # Closed: still readable, writes refused.
    assert len(a) == 1
    with pytest.raises(segcore.StorageError, match="closed"):
        a.upsert("cy", {"age": 1})

    b = segcore.Audience.open(directory)
    report = b.open_report
    assert report == {
        "generation": 0,
        "snapshot_profiles": 0,
        "records_replayed": 7,
        "bytes_cut": 0,
        "stale_journal_replaced": False,
    }
    assert b.members("buyers", now=NOW) == ["ada"]
    assert b.decide("ada", "hero", now=NOW)["variant"] == "a"
    b.compact()
    assert b.generation == 1
    b.close()
    c = segcore.Audience.open(directory)
    assert c.open_report is not None
    assert c.open_report["records_replayed"] == 0
    assert c.open_report["snapshot_profiles"] == 1
    c.close()


def test_in_memory_audiences_have_no_directory() -> None:
    a = segcore.Audience()
    assert a.directory is None and a.open_report is None and a.generation is None
    a.flush()
    a.close()
    with pytest.raises(segcore.InvalidValueError):
        a.compact()


def test_a_second_writer_is_told_who_holds_the_directory(tmp_path: Path) -> None:
    with segcore.Audience.open(tmp_path):
        with pytest.raises(segcore.LockedError) as locked:
            segcore.Audience.open(tmp_path)
        assert locked.value.pid == os.getpid()
        assert locked.value.kind == "locked"
        assert isinstance(locked.value, segcore.StorageError)
    segcore.Audience.open(tmp_path).close()


def test_a_torn_tail_is_cut_and_reported(tmp_path: Path) -> None:
    with segcore.Audience.open(tmp_path) as a:
        for i in range(3):
            a.track("ada", "view", at=NOW, values={"n": i})
    journal = tmp_path / "journal"
    data = journal.read_bytes()
    journal.write_bytes(data[:-5])
    with segcore.Audience.open(tmp_path) as b:
        assert b.open_report is not None
        assert b.open_report["records_replayed"] == 2
        assert b.open_report["bytes_cut"] > 0
        assert len(b.profile("ada")["events"]) == 2


def test_sync_never_keeps_what_flush_wrote(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sync"):
        segcore.Audience.open(tmp_path, sync="sometimes")  # type: ignore[arg-type]
    a = segcore.Audience.open(tmp_path, sync="never")
    for i in range(500):
        a.track(f"p{i}", "view", at=NOW)
    a.flush()
    a.close()
    with segcore.Audience.open(tmp_path, sync="always") as b:
        assert len(b) == 500


def test_a_newer_format_is_a_version_error(tmp_path: Path) -> None:
    segcore.Audience.open(tmp_path).close()
    journal = tmp_path / "journal"
    data = bytearray(journal.read_bytes())
    import zlib

    data[12:16] = (9).to_bytes(2, "little") + (9).to_bytes(2, "little")
    data[20:24] = zlib.crc32(bytes(data[:20])).to_bytes(4, "little")
    journal.write_bytes(bytes(data))
    with pytest.raises(segcore.VersionError) as e:
        segcore.Audience.open(tmp_path)
    assert isinstance(e.value, segcore.CorruptError)
    assert e.value.found.startswith("9")


def test_threads_write_with_group_commit_while_others_read(tmp_path: Path) -> None:
    a = segcore.Audience.open(tmp_path)
    a.declare_event("paired")
    a.declare_attribute("n", "number")
    stop = threading.Event()
    problems: list[str] = []

    def writer(w: int) -> None:
        for i in range(100):
            # upsert and tag in one call each; the pair check below is on count equality
            # of a tag and an event written by one call.
            a.upsert(f"w{w}-{i}", {"n": i})
            a.track(f"w{w}-{i}", "paired", at=NOW)

    def reader() -> None:
        while not stop.is_set():
            tracked = a.count("did paired", now=NOW)
            profiles = len(a)
            if tracked > profiles:
                problems.append(f"{tracked} tracked of {profiles} profiles")

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert problems == []
    a.compact()
    a.close()
    with segcore.Audience.open(tmp_path) as b:
        assert len(b) == 400
        assert b.count("did paired", now=NOW) == 400
