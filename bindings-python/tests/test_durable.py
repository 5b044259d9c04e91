"""Durable directories from Python: open / flush / compact / close, the context manager,
the lock naming its holder, a torn journal tail cut and reported, damage before the end
refused and recovered to a point in time, special files refused, a write the disk refuses not
applied, overlapping compactions, and threads writing with group commit while others read."""

import os
import subprocess
import sys
import textwrap
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
        "damage": None,
        "set_aside": None,
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


def test_damage_before_the_end_is_refused_then_recovered_to_a_point_in_time(tmp_path: Path) -> None:
    with segcore.Audience.open(tmp_path, sync="always") as a:
        for i in range(50):
            a.track("ada", "view", at=NOW, values={"n": i})
    journal = tmp_path / "journal"
    data = bytearray(journal.read_bytes())
    data[len(data) // 3] ^= 0x10
    journal.write_bytes(bytes(data))

    with pytest.raises(segcore.CorruptError, match="intact frames") as refused:
        segcore.Audience.open(tmp_path)
    assert isinstance(refused.value, ValueError)
    assert "journal offset" in str(refused.value)
    assert journal.read_bytes() == bytes(data), "a refused open cuts nothing"
    with pytest.raises(ValueError, match="recover"):
        segcore.Audience.open(tmp_path, recover="later")  # type: ignore[arg-type]

    with segcore.Audience.open(tmp_path, recover="point_in_time") as b:
        report = b.open_report
        assert report is not None
        kept = len(b.profile("ada")["events"])
        assert report["records_replayed"] == kept and 10 <= kept < 25
        assert report["damage"] is not None and "intact frames" in report["damage"]
        aside = report["set_aside"]
        assert isinstance(aside, Path) and aside.parent == tmp_path
        assert aside.read_bytes() == bytes(data[len(data) - report["bytes_cut"]:])
    with segcore.Audience.open(tmp_path) as c:
        assert len(c.profile("ada")["events"]) == kept


def test_a_missing_journal_is_refused_unless_recovering(tmp_path: Path) -> None:
    with segcore.Audience.open(tmp_path) as a:
        a.upsert("ada", {"age": 36})
        a.compact()
        a.upsert("bo", {"age": 17})
    (tmp_path / "journal").unlink()
    with pytest.raises(segcore.CorruptError, match="missing"):
        segcore.Audience.open(tmp_path)
    with segcore.Audience.open(tmp_path, recover="point_in_time") as b:
        assert b.profile("ada") is not None and b.profile("bo") is None


def test_an_empty_path_and_special_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(segcore.InvalidValueError, match="empty path"):
        segcore.Audience.open("")
    segcore.Audience.open(tmp_path).close()
    journal = tmp_path / "journal"
    journal.rename(tmp_path / "kept")
    os.mkfifo(journal)
    # Opening a FIFO as the journal would block for ever; it is refused at once.
    with pytest.raises(segcore.CorruptError, match="FIFO"):
        segcore.Audience.open(tmp_path)
    journal.unlink()
    (tmp_path / "kept").rename(journal)
    with pytest.raises(segcore.StorageError, match="not a directory"):
        segcore.Audience.open(journal)
    segcore.Audience.open(tmp_path).close()


def test_a_write_the_disk_refuses_is_not_applied(tmp_path: Path) -> None:
    # A child process writes under a file-size limit (SIGXFSZ ignored, so the write fails
    # with EFBIG instead of killing it) until a write is refused.
    script = textwrap.dedent(
        f"""
        import resource, signal, segcore
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        a = segcore.Audience.open({str(tmp_path)!r}, sync="always")
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
        n = 0
        try:
            while n < 100000:
                a.track("ada", "view", at="{NOW}", values={{"n": n}})
                n += 1
        except segcore.StorageError as e:
            assert e.kind == "io", e
        assert len(a.profile("ada")["events"]) == n, "the refused write is not in memory"
        try:
            a.upsert("bo", {{"age": 1}})
            raise SystemExit("a write after the failure was accepted")
        except segcore.StorageError as e:
            assert "opened again" in str(e), e
        assert a.profile("bo") is None
        print(n)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    acknowledged = int(done.stdout.strip())
    assert acknowledged > 10
    with segcore.Audience.open(tmp_path) as b:
        assert len(b.profile("ada")["events"]) == acknowledged


def test_overlapping_compactions_all_succeed_while_threads_write_and_read(tmp_path: Path) -> None:
    a = segcore.Audience.open(tmp_path)
    # Known before the first event, so a reader that runs first asks a valid question.
    a.declare_event("view")
    failures: list[BaseException] = []
    compactions = 0
    lock = threading.Lock()

    def compactor() -> None:
        nonlocal compactions
        for _ in range(20):
            try:
                a.compact()
                with lock:
                    compactions += 1
            except BaseException as e:  # noqa: BLE001 - every failure is the finding
                failures.append(e)

    def writer() -> None:
        for i in range(200):
            a.track(f"p{i}", "view", at=NOW)

    def reader() -> None:
        for _ in range(200):
            a.count("did view", now=NOW)

    threads = [threading.Thread(target=compactor) for _ in range(4)]
    threads += [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert compactions == 80
    assert a.generation == 80, "one generation per compaction"
    a.close()
    with segcore.Audience.open(tmp_path) as b:
        assert len(b) == 200
