"""A live twin on a full or failing disk keeps computing and alarming; nothing is lost silently (issue 23).

The disk frees space (or stops failing) when the source reaches a given frame, never after wall time.
"""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest
from _reactor import binding as make_binding
from _reactor import need_fmu, plant
from test_trace import FailingDisk

from tests._tmpfs import mounted_tmpfs
from twin import TRACE_NOT_PERSISTED, Twin, open_trace, read_events
from twin.emulator import PlantEmulator
from twin.sources import MemorySource


def _frames(minutes: int, **overrides):
    return list(PlantEmulator(plant(duration=f"{minutes} min", **overrides)).frames())


def _source(frames, actions):
    """The frames; ``actions[k]()`` runs just before frame ``k`` is handed to the twin."""

    def frames_with_actions():
        for k, frame in enumerate(frames):
            if k in actions:
                actions[k]()
            yield frame

    return MemorySource(frames_with_actions())


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 2 MB tmpfs (root only; skipped where mounting is not permitted)."""
    with mounted_tmpfs(tmp_path / "disk", "2m") as (mnt, _):
        yield mnt


def _fill(mnt):
    """Write a ballast file until the file system is full (ENOSPC)."""
    ballast = mnt / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    with pytest.raises(OSError, match="No space"):
        (mnt / "probe").write_bytes(b"x" * 4096)
    return ballast


def test_full_disk_twin_keeps_running_and_writes_every_row_when_space_returns(small_tmpfs):
    need_fmu()
    frames = _frames(30)
    b = make_binding(None, **{"trace.flush_interval": "0 s"})  # flush (and retry) at every row
    ballast = _fill(small_tmpfs)
    path = small_tmpfs / "t.zarr"
    twin = Twin(b, trace=path)
    steps, written = [], []

    def on_step(step):
        steps.append(step)
        written.append(twin.trace.rows_written)

    twin.run(_source(frames, {60: ballast.unlink}), on_step=on_step)  # space returns at frame 60
    assert written[:61] == [0] * 60 + [61] and written[-1] == len(frames)  # the backlog went out with frame 60
    report = twin.close()
    assert len(steps) == report.samples == len(frames)  # the loop never died
    assert report.trace_persisted and report.rows_lost == 0
    assert report.rows_recorded == report.samples and report.rows_buffered_then_written == 60
    (ev,) = [e for e in report.events if e.kind == TRACE_NOT_PERSISTED]
    assert ev.start == frames[0].time and ev.end == frames[60].time and ev.unit == "rows"
    ds = open_trace(path)
    assert np.array_equal(ds["time"].values, [f.time for f in frames])
    logged = [e for e in read_events(path) if e["kind"] == TRACE_NOT_PERSISTED]
    assert len(logged) == 1 and logged[0]["end"] == frames[60].time and "No space" in logged[0]["message"]


def test_full_disk_with_a_small_buffer_counts_the_dropped_rows(small_tmpfs):
    need_fmu()
    frames = _frames(20)
    b = make_binding(None, **{"trace.flush_interval": "0 s"})
    path = small_tmpfs / "t.zarr"
    state = {}
    twin = Twin(b, trace=path, max_buffer_rows=10)
    twin.run(_source(frames, {30: lambda: state.update(ballast=_fill(small_tmpfs)),
                              70: lambda: state["ballast"].unlink()}))
    report = twin.close()
    # rows 30..70 waited (the flush of row 70 succeeded); the buffer kept 10 of those 41
    assert report.rows_lost == 31 and report.rows_recorded == report.samples - 31 == len(frames) - 31
    t = open_trace(path)["time"].values
    assert np.array_equal(t, [f.time for k, f in enumerate(frames) if not 30 <= k < 61])


def test_injected_flush_errors_do_not_stop_the_twin_or_its_alarms(tmp_path, monkeypatch):
    """Runs without root: the store's writes fail (EIO) from frame 50 to 150; the bias at 20 min
    is detected meanwhile; 10 rows are kept, the dropped ones counted exactly."""
    need_fmu()
    disk = FailingDisk(monkeypatch, errno.EIO)
    frames = _frames(40, faults=[{"kind": "bias", "tag": "TI_reactor", "at": 1200.0, "value": 0.5}])
    b = make_binding(None, **{"trace.flush_interval": "0 s"})
    twin = Twin(b, trace=tmp_path / "t.zarr", max_buffer_rows=10)
    twin.run(_source(frames, {50: lambda: setattr(disk, "full", True), 150: lambda: setattr(disk, "full", False)}))
    report = twin.close()
    assert report.samples == len(frames) and report.trace_persisted
    assert report.rows_lost == 101 - 10 and report.rows_recorded + report.rows_lost == report.samples
    kinds = [(e.tag, e.kind) for e in report.events]
    assert ("trace", TRACE_NOT_PERSISTED) in kinds and ("TI_reactor", "cusum") in kinds
    t = open_trace(tmp_path / "t.zarr")["time"].values
    assert np.array_equal(t, [f.time for k, f in enumerate(frames) if not 50 <= k < 141])
    d = report.as_dict()
    assert (d["rows_recorded"], d["rows_lost"], d["trace_persisted"]) == (report.samples - 91, 91, True)
