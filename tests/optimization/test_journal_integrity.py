"""Campaign journals survive a torn last record, a damaged middle line and a full disk.

The full disk is real: a 256 KiB tmpfs mounted by the test when it runs as root (skipped when
``mount`` is not permitted), and ``RLIMIT_FSIZE`` in a subprocess (any user).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.storages.journal import JournalFileBackend
from optuna.storages.journal._storage import JournalOperation

from optimization import (
    JournalCorruptError,
    StorageFullError,
    check_journal,
    load_campaign,
    make_storage,
    salvage_journal,
)
from tests._tmpfs import mounted_tmpfs
from twin_app.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def plain_trials(journal: Path, name: str) -> dict[int, tuple[str, list[float] | None]]:
    """Trials as plain Optuna reads the journal: number → (state, values)."""
    storage = optuna.storages.JournalStorage(JournalFileBackend(str(journal)))
    study = optuna.load_study(study_name=name, storage=storage)
    return {t.number: (t.state.name, t.values) for t in study.get_trials(deepcopy=False)}


def finished(trials: dict) -> dict:
    return {n: v for n, v in trials.items() if v[0] in ("COMPLETE", "PRUNED")}


def parses_completely(data: bytes) -> list[dict]:
    assert data == b"" or data.endswith(b"\n")
    return [json.loads(line) for line in data.splitlines()]


# ---------------------------------------------------------------------------- torn last record
def test_resume_cuts_off_a_torn_last_record(campaign_file, capsys, caplog):
    path = campaign_file(name="torn", trials=5)
    journal = path.parent / "torn.journal"
    load_campaign(path).run(progress=False)
    data = journal.read_bytes()
    last = data[:-1].rfind(b"\n") + 1
    torn = data[: last + (len(data) - last) // 2]  # the disk filled up in the middle of the last record
    journal.write_bytes(torn)
    before = finished(plain_trials(journal, "torn"))  # Optuna skips a torn last line when reading

    capsys.readouterr()
    with caplog.at_level("WARNING"):
        assert main(["optimize", str(path), "--json", "--trials", str(len(before) + 2)]) == 0
    err = capsys.readouterr().err
    backups = sorted(journal.parent.glob("torn.journal.bak-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == torn  # the journal as it was, kept
    assert "journal repaired" in err and backups[0].name in err and f"{len(torn) - last} bytes" in err
    assert any("torn" in r.getMessage() for r in caplog.records)
    after = plain_trials(journal, "torn")
    assert all(after[n] == v for n, v in before.items())  # every finished trial kept, same values
    assert len(finished(after)) == len(before) + 2 and "RUNNING" not in {s for s, _ in after.values()}
    assert journal.read_bytes()[:last] == data[:last]  # the complete records are untouched
    parses_completely(journal.read_bytes())

    # a second torn record on another resume: a second backup, the first one is not overwritten
    data = journal.read_bytes()
    tail = b'{"op_code": 5, "worker_id": "x", "trial_id": 3, "st'
    journal.write_bytes(data + tail)
    camp = load_campaign(path)
    camp.study()
    assert len(camp.journal_repairs) == 1 and camp.journal_repairs[0].bytes_cut == len(tail)
    assert journal.read_bytes().startswith(data)  # (+ Optuna's create record of load_if_exists)
    parses_completely(journal.read_bytes())
    assert len(sorted(journal.parent.glob("torn.journal.bak-*"))) == 2


def test_an_append_never_lands_on_a_torn_record(tmp_path):
    """A writer killed mid-record while others keep writing: the next write repairs first."""
    path = tmp_path / "s.journal"
    study = optuna.create_study(storage=make_storage(path), study_name="s")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with open(path, "ab") as fh:
        fh.write(b'{"op_code":4,"worker_id":"dead","trial_i')  # what a SIGKILL mid-write leaves
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    parses_completely(path.read_bytes())
    assert len(finished(plain_trials(path, "s"))) == 4
    assert len(list(tmp_path.glob("s.journal.bak-*"))) == 1


@pytest.fixture(scope="module")
def valid_journal() -> bytes:
    """A journal of a small study (study creation, trials with parameters, attributes, states)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "v.journal"
        study = optuna.create_study(storage=make_storage(path), study_name="v")

        def objective(trial):
            trial.set_user_attr("metrics", {"y": 1.5, "name": "ü"})
            return trial.suggest_float("x", 0, 1) + trial.suggest_int("k", 1, 3)

        study.optimize(objective, n_trials=4)
        return path.read_bytes()


@settings(max_examples=60, deadline=None)
@given(cut=st.floats(0, 1), garbage=st.binary(max_size=40).filter(lambda b: b"\n" not in b),
       newline=st.booleans())
def test_tail_repair_keeps_every_complete_record(valid_journal, cut, garbage, newline):
    data = valid_journal
    k = int(cut * len(data))
    damaged = data[:k] + (garbage + (b"\n" if newline else b"") if data[:k].endswith(b"\n") or k == 0 else b"")
    complete = data[: data.rfind(b"\n", 0, k) + 1]  # every record whose newline was written
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "v.journal"
        path.write_bytes(damaged)
        repair = check_journal(path)
        repaired = path.read_bytes()
        assert repaired == complete
        assert parses_completely(repaired) == [json.loads(x) for x in complete.splitlines()]
        if damaged == complete:
            assert repair is None and not list(Path(d).glob("*.bak-*"))
        else:
            assert repair.bytes_cut == len(damaged) - len(complete)
            assert repair.backup.read_bytes() == damaged
        if complete:  # Optuna opens what is left and can write to it again
            storage = make_storage(path)
            optuna.create_study(storage=storage, study_name="again")
            parses_completely(path.read_bytes())


# ---------------------------------------------------------------------------- damaged middle line
def test_a_damaged_middle_line_is_named_and_salvaged(campaign_file, capsys):
    path = campaign_file(name="mid", trials=6)
    journal = path.parent / "mid.journal"
    load_campaign(path).run(progress=False)
    original = plain_trials(journal, "mid")
    lines = journal.read_bytes().splitlines(keepends=True)
    # 0-based index of the damaged line: a trial attribute in the middle (losing a trial's creation
    # or state record would change which trials a best-effort replay of the rest calls finished)
    k = next(i for i in range(len(lines) // 2, len(lines))
             if json.loads(lines[i])["op_code"] == JournalOperation.SET_TRIAL_USER_ATTR)
    lines[k] = lines[k][:20] + b"\x00\x00garbage\n"
    journal.write_bytes(b"".join(lines))
    damaged = journal.read_bytes()

    with pytest.raises(JournalCorruptError) as err:
        load_campaign(path).run(progress=False)
    assert err.value.line == k + 1 and err.value.path == journal
    assert f"{journal}:{k + 1}" in str(err.value) and "twin optimize salvage" in str(err.value)
    with pytest.raises(JournalCorruptError, match=f":{k + 1}: damaged journal record"):
        optuna.load_study(study_name="mid", storage=make_storage(journal))  # Optuna's own read path
    capsys.readouterr()
    assert main(["optimize", str(path), "--json"]) == 1
    cap = capsys.readouterr()
    assert f"{journal}:{k + 1}" in cap.err and "salvage" in cap.err and "Traceback" not in cap.err
    assert journal.read_bytes() == damaged  # not touched

    new = path.parent / "mid-salvaged.journal"
    assert main(["optimize", "salvage", str(path), "-o", str(new)]) == 0
    out = capsys.readouterr().out
    assert f"before line {k + 1}" in out and "resume with" in out
    # what Optuna itself reads from the records before the damaged line
    (path.parent / "prefix.journal").write_bytes(b"".join(lines[:k]))
    want = plain_trials(path.parent / "prefix.journal", "mid")
    assert plain_trials(new, "mid") == want
    lost = sorted(set(finished(original)) - set(finished(want)))
    assert lost and f"lost in study 'mid': {len(lost)} finished trials" in out  # named
    report = salvage_journal(journal, path.parent / "again.journal")
    assert report.first_bad_line == k + 1 and report.records == k and report.lost == {"mid": lost}
    assert report.studies["mid"].get("COMPLETE", 0) + report.studies["mid"].get("PRUNED", 0) == len(finished(want))

    assert main(["optimize", "salvage", str(journal), "-o", str(new)]) == 2  # never overwrites
    assert "exists already" in capsys.readouterr().err
    camp = load_campaign(path, storage=str(new))  # resume from the salvaged journal
    res = camp.run(n_trials=len(finished(want)) + 2, progress=False)
    assert sum(s in ("COMPLETE", "PRUNED") for s in res.trials["state"].values) == len(finished(want)) + 2


# ---------------------------------------------------------------------------- full disk
@pytest.fixture
def small_tmpfs(tmp_path):
    """A 256 KiB tmpfs (root only; the RLIMIT_FSIZE test covers other users); yields ``(dir, resize)``."""
    with mounted_tmpfs(tmp_path / "small", "256k") as mounted:
        yield mounted


@pytest.mark.parametrize("workers", [1, 2])
def test_a_full_disk_ends_the_campaign_cleanly(campaign_file, small_tmpfs, capsys, workers):
    mnt, resize = small_tmpfs
    path = campaign_file(name="full", trials=100000, sampler="random")
    journal = mnt / "full.journal"
    capsys.readouterr()
    code = main(["optimize", str(path), "--storage", str(journal), "--json", "--yes", "--workers", str(workers)])
    cap = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in cap.err and f"{journal}: the disk is full" in cap.err
    summary = json.loads(cap.out)  # the trials finished before the disk filled up
    assert summary["complete"] + summary["pruned"] > 10
    assert os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize < 8192  # it really was full
    seen = plain_trials(journal, "full")  # readable by plain Optuna
    done = finished(seen)
    assert len(done) == summary["complete"] + summary["pruned"]

    assert main(["optimize", str(path), "--storage", str(journal), "--json", "--yes"]) == 1  # still full: same clean stop
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err and str(journal) in cap.err and "full" in cap.err
    again = plain_trials(journal, "full")
    assert all(again[n] == v for n, v in done.items())
    done = finished(again)

    resize("4m")  # space freed: the same command resumes
    camp = load_campaign(path, storage=str(journal))
    res = camp.run(n_trials=len(done) + 3, workers=1, progress=False)
    after = plain_trials(journal, "full")
    assert all(after[n] == v for n, v in done.items())  # every trial finished before the fault
    assert len(finished(after)) == len(done) + 3
    assert "RUNNING" not in {s for s, _ in after.values()}
    assert res.status in ("ok", "infeasible")
    parses_completely(journal.read_bytes())


def test_a_file_size_limit_ends_the_campaign_cleanly(campaign_file, tmp_path):
    """``RLIMIT_FSIZE`` in a subprocess (any user): writes past it fail with ``EFBIG``."""
    path = campaign_file(name="limit", trials=100000, sampler="random")
    journal = tmp_path / "limit.journal"
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (96 * 1024, 96 * 1024)); "
            "from twin_app.cli.main import main; "
            f"sys.exit(main(['optimize', r'{path}', '--storage', r'{journal}', '--json', '--yes']))")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "file size limit" in r.stderr and str(journal) in r.stderr
    summary = json.loads(r.stdout)
    done = finished(plain_trials(journal, "limit"))
    assert len(done) == summary["complete"] + summary["pruned"] > 5
    assert journal.stat().st_size <= 96 * 1024
    res = load_campaign(path, storage=str(journal)).run(n_trials=len(done) + 2, progress=False)
    after = plain_trials(journal, "limit")
    assert all(after[n] == v for n, v in done.items())
    assert sum(s in ("COMPLETE", "PRUNED") for s in res.trials["state"].values) == len(done) + 2


def test_storage_full_error_carries_the_finished_trials(campaign_file, small_tmpfs):
    mnt, _ = small_tmpfs
    camp = load_campaign(campaign_file(name="api", trials=100000, sampler="random"), storage=str(mnt / "api.journal"))
    with pytest.raises(StorageFullError) as err:
        camp.run(progress=False)
    exc = err.value
    assert exc.exit_code == 1 and exc.path == str(mnt / "api.journal") and exc.errno == 28
    assert exc.result is not None and exc.result.summary()["complete"] + exc.result.summary()["pruned"] == exc.finished


def test_a_worker_on_a_full_disk_stops_with_the_errno_and_no_traceback(campaign_file, small_tmpfs):
    """A child worker that meets the full disk exits with ``ENOSPC`` as its code (the caller's cue)."""
    import errno

    mnt, _ = small_tmpfs
    path = campaign_file(name="wfull", trials=100000, sampler="random")
    journal = mnt / "wfull.journal"
    camp = load_campaign(path, storage=str(journal))
    with pytest.raises(StorageFullError):
        camp.optimize()
    done = finished(plain_trials(journal, "wfull"))
    with open(mnt / "filler", "wb", buffering=0) as fh, pytest.raises(OSError):  # the room left
        while True:
            fh.write(b"x" * 512)
    code = ("import json, sys; from optimization._campaign import _worker_main; "
            "_worker_main(json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], 5, 10, 100000, None)")
    r = subprocess.run([sys.executable, "-c", code, json.dumps(camp.config.model_dump(mode="json")),
                        str(camp.base_dir), camp.storage_spec], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert r.returncode == errno.ENOSPC, r.stderr
    assert "Traceback" not in r.stderr and f"{journal}: the disk is full" in r.stderr
    assert finished(plain_trials(journal, "wfull")) == done
