"""Trace store: appended Zarr, real/virtual side by side, a crash loses at most one flush."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import xarray as xr

from twin import TRACE_NOT_PERSISTED, TraceExistsError, TraceStore, open_trace, read_events
from workbench.dataset import validate_dataset
from workbench.errors import ConfigError, DatasetError

TAGS = ["FI", "TI", "TJ"]
UNITS = ["m3/s", "K", "K"]


def _row(k: int):
    t = 10.0 * k
    real = np.array([1e-3, 350 + np.sin(k), 340 + np.cos(k)])
    virt = real - np.array([0.0, 0.1, -0.2])
    res = np.array([np.nan, 0.1, -0.2])
    return t, real, virt, res, np.array([np.nan, 0.3, 0.1]), np.array([0, k % 2, 0], np.uint8), \
        np.array([0, 0, k % 3], np.uint16)


def test_append_and_layout(tmp_path):
    store = TraceStore(tmp_path / "t.zarr", TAGS, UNITS, flush_rows=7, flush_interval=1e9,
                       attrs={"scenario": "unit-test"})
    for k in range(30):
        store.append(*_row(k), gap=0.0)
    store.log_event({"tag": "TI", "kind": "ewma", "start": 20.0, "end": None, "magnitude": 0.1})
    store.log_event({"tag": "TI", "kind": "ewma", "start": 20.0, "end": 50.0, "magnitude": 0.3})
    store.close(note="done")
    assert store.flushes == 5  # 4 full flushes of 7 rows + the rest on close
    ds = open_trace(tmp_path / "t.zarr")
    validate_dataset(ds, trace=True, require_provenance=True)
    assert ds.sizes == {"time": 30, "source": 2, "tag": 3}
    dev = ds["value"].sel(source="real") - ds["value"].sel(source="virtual")
    xr.testing.assert_allclose(dev.sel(tag="TI"), ds["residual"].sel(tag="TI"))
    assert np.allclose(ds["time"].values, 10.0 * np.arange(30)) and ds["time"].attrs["units"] == "s"
    assert ds["alarm"].dtype == np.uint8 and ds["quality"].dtype == np.uint16
    assert list(ds["tag_unit"].values) == UNITS
    assert ds.attrs["scenario"] == "unit-test" and ds.attrs["note"] == "done"
    assert read_events(tmp_path / "t.zarr") == [
        {"tag": "TI", "kind": "ewma", "start": 20.0, "end": 50.0, "magnitude": 0.3}
    ]


def test_datetime_time_axis(tmp_path):
    store = TraceStore(tmp_path / "d.zarr", TAGS, UNITS, time_kind="datetime", flush_rows=2)
    t0 = 1.7e9
    for k in range(5):
        t, *rest = _row(k)
        store.append(t0 + t, *rest)
    store.close()
    ds = open_trace(tmp_path / "d.zarr")
    assert np.issubdtype(ds["time"].dtype, np.datetime64)
    assert ds["time"].values[1] - ds["time"].values[0] == np.timedelta64(10, "s")


def test_open_missing_store_names_the_path(tmp_path):
    with pytest.raises(DatasetError, match="not a twin trace store"):
        open_trace(tmp_path / "nope.zarr")


CHILD = textwrap.dedent(
    """
    import sys, numpy as np
    sys.path.insert(0, {root!r})
    from twin import TraceStore
    store = TraceStore({path!r}, ["A", "B"], ["K", "K"], flush_rows=25, flush_interval=1e9)
    k = 0
    while True:
        t = float(k)
        v = np.array([t, 2 * t])
        store.append(t, v, v + 1, -np.ones(2), np.zeros(2), np.zeros(2, np.uint8), np.zeros(2, np.uint16))
        k += 1
        if k % 25 == 0:
            print(store.rows_written, flush=True)
    """
)


def test_crash_loses_at_most_one_flush(tmp_path):
    path = tmp_path / "crash.zarr"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(root=root, path=str(path))],
                            stdout=subprocess.PIPE, text=True)
    try:
        reported = 0
        for line in proc.stdout:
            reported = int(line)
            if reported >= 200:
                break
        proc.send_signal(signal.SIGKILL)  # no chance to flush or close
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    ds = open_trace(path)
    n = ds.sizes["time"]
    # everything reported as flushed survives; at most the flush in flight (25 rows) more
    assert reported <= n <= reported + 2 * 25
    t = ds["time"].values
    assert np.array_equal(t, np.arange(n, dtype=float))
    assert np.array_equal(ds["value"].sel(source="real", tag="B").values, 2 * t)


def _expected_dataset(rows, time_attrs):
    """The trace of ``rows`` built in memory, as the module docstring lays it out."""
    t, real, virt, res, stat, alarm, qual = (np.array(c) for c in zip(*rows, strict=True))
    json_units = json.dumps(dict(zip(TAGS, UNITS, strict=True)))
    per_tag = {"coordinates": "tag_unit"}
    return xr.Dataset(
        {
            "value": (("time", "source", "tag"), np.stack([real, virt], axis=1),
                      {"units": "mixed", "long_name": "tag value (units per tag in attrs tag_units)",
                       "tag_units": json_units, **per_tag}),
            "residual": (("time", "tag"), res, {"units": "mixed", "long_name": "residual real - virtual",
                                                "tag_units": json_units, **per_tag}),
            "statistic": (("time", "tag"), stat, {"units": "1", "long_name": "EWMA/CUSUM statistic / alarm limit"}),
            "alarm": (("time", "tag"), alarm, {"units": "1", "long_name": "alarm bits (1 limit, 2 EWMA, 4 CUSUM)"}),
            "quality": (("time", "tag"), qual, {"units": "1", "long_name": "data-quality flag bits"}),
            "gap": (("time",), np.zeros(len(t)), {"units": "s", "long_name": "missing data before sample"}),
        },
        coords={"time": ("time", t, time_attrs),
                "source": ("source", ["real", "virtual"], {"long_name": "real plant or virtual twin"}),
                "tag": ("tag", TAGS, {"long_name": "plant tag"}),
                "tag_unit": ("tag", UNITS, {"long_name": "unit of each tag"})},
    )


def test_store_is_what_xarray_writes(tmp_path, monkeypatch):
    """The hand-written Zarr v3 store reads back as the same dataset xarray writes, chunk bytes included."""
    import twin._trace as trace_mod

    monkeypatch.setattr(trace_mod, "_CHUNK_ROWS", 8)
    rows = [_row(k) for k in range(29)]
    store = TraceStore(tmp_path / "mine.zarr", TAGS, UNITS, flush_rows=5, flush_interval=1e9, attrs={"scenario": "s"})
    for r in rows[:12]:
        store.append(*r, gap=0.0)
    store.append_block(*(np.array(c) for c in zip(*rows[12:], strict=True)), gap=np.zeros(17))
    store.close()
    ref = _expected_dataset(rows, {"units": "s", "long_name": "time"})
    enc = {v: {"chunks": (8,) + ref[v].shape[1:]} for v in ("value", "residual", "statistic", "alarm", "quality",
                                                             "gap", "time")}
    with warnings.catch_warnings():  # zarr: fixed-length UTF-32 has no v3 spec yet (xarray writes it anyway)
        warnings.simplefilter("ignore")
        ref.to_zarr(tmp_path / "xr.zarr", mode="w", consolidated=False, encoding=enc)
    mine = xr.open_zarr(tmp_path / "mine.zarr", consolidated=False).load()
    theirs = xr.open_zarr(tmp_path / "xr.zarr", consolidated=False).load()
    for ds in (mine, theirs):
        ds.attrs = {}
    xr.testing.assert_identical(mine, theirs)
    for name in ("value/c/3/0/0", "alarm/c/0/0", "quality/c/2/0", "time/c/1", "tag/c/0"):
        assert (tmp_path / "mine.zarr" / name).read_bytes() == (tmp_path / "xr.zarr" / name).read_bytes(), name


def test_resume_appends_across_chunk_boundaries(tmp_path, monkeypatch):
    import twin._trace as trace_mod

    monkeypatch.setattr(trace_mod, "_CHUNK_ROWS", 4)
    path = tmp_path / "r.zarr"
    rows = [_row(k) for k in range(23)]
    first = TraceStore(path, TAGS, UNITS, flush_rows=3, flush_interval=1e9, attrs={"scenario": "s"})
    for r in rows[:10]:
        first.append(*r)
    first.close(part="one")
    second = TraceStore(path, TAGS, UNITS, flush_rows=6, flush_interval=1e9, append=True)
    for r in rows[10:]:
        second.append(*r)
    second.close(part="two")
    ds = open_trace(path)
    assert ds.sizes["time"] == 23 and ds.attrs["scenario"] == "s" and ds.attrs["part"] == "two"
    assert np.array_equal(ds["time"].values, 10.0 * np.arange(23))
    assert np.array_equal(ds["quality"].sel(tag="TJ").values, np.arange(23) % 3)


def test_refuses_to_replace_a_directory_that_is_not_a_store(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "keep.csv").write_text("a,b\n")
    store = TraceStore(tmp_path / "results", TAGS, UNITS)
    store.append(*_row(0))
    with pytest.raises(DatasetError, match="not a trace store.*keep.csv"):
        store.flush()
    assert (tmp_path / "results" / "keep.csv").exists()


def test_rows_beyond_time_are_cut_in_memory_and_dropped_on_resume(tmp_path, monkeypatch):
    """A crash between the data arrays and ``time``: readers see the complete rows and leave
    the store alone; a resumed writer continues after the last complete row."""
    import twin._trace as trace_mod
    from twin._zarr_writer import AppendableArray

    monkeypatch.setattr(trace_mod, "_CHUNK_ROWS", 4)
    path = tmp_path / "c.zarr"
    store = TraceStore(path, TAGS, UNITS, flush_rows=5, flush_interval=1e9)
    for k in range(10):
        store.append(*_row(k))
    store.close()
    value = AppendableArray.resume(path / "value", dims=("time", "source", "tag"))
    value.append(np.zeros((3, 2, 3)))  # the crash: value got 3 rows more, time did not
    before = sorted(p.relative_to(path) for p in path.rglob("*"))
    ds = open_trace(path)
    assert ds.sizes["time"] == 10 and np.array_equal(ds["time"].values, 10.0 * np.arange(10))
    assert open_trace(path, start=7).sizes["time"] == 3
    assert sorted(p.relative_to(path) for p in path.rglob("*")) == before  # read-only
    resumed = TraceStore(path, TAGS, UNITS, flush_rows=5, flush_interval=1e9, append=True)
    for k in range(10, 13):
        resumed.append(*_row(k))
    resumed.close()
    ds = open_trace(path)
    assert ds.sizes["time"] == 13
    assert np.allclose(ds["value"].sel(source="real", tag="TI").values, [_row(k)[1][1] for k in range(13)])


def test_open_trace_is_the_one_reader(tmp_path):
    """Rows ``start:start+rows`` (negative from the end), lazy or loaded, the same values as
    xarray reads from the store; the trace says what it is."""
    path = tmp_path / "o.zarr"
    store = TraceStore(path, TAGS, UNITS, flush_rows=4, flush_interval=1e9, attrs={"scenario": "s"})
    for k in range(11):
        store.append(*_row(k))
    store.close()
    ds = open_trace(path)
    assert ds.wb.kind == "twin-trace" and ds.wb.tag_units() == dict(zip(TAGS, UNITS, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = xr.open_zarr(path, consolidated=False).load()
    for name in ("value", "residual", "statistic", "alarm", "quality", "gap", "time", "tag", "tag_unit"):
        xr.testing.assert_identical(ds[name].drop_attrs(), ref[name].drop_attrs())
    assert np.array_equal(open_trace(path, start=3, rows=4)["time"].values, 10.0 * np.arange(3, 7))
    assert np.array_equal(open_trace(path, start=-2)["time"].values, [90.0, 100.0])
    assert open_trace(path, start=11).sizes["time"] == 0  # nothing new since row 11
    lazy = open_trace(path, lazy=True, start=5)
    assert lazy["value"].chunks is not None and lazy.sizes["time"] == 6
    xr.testing.assert_identical(lazy.load(), open_trace(path, start=5))


def test_old_trace_readers_warn_and_agree(tmp_path):
    import twin

    path = tmp_path / "w.zarr"
    store = TraceStore(path, TAGS, UNITS, flush_rows=4, flush_interval=1e9)
    for k in range(6):
        store.append(*_row(k))
    store.close()
    with pytest.warns(DeprecationWarning, match="open_trace"):
        assert twin.trace_rows(path) == 6
    with pytest.warns(DeprecationWarning, match="open_trace"):
        xr.testing.assert_identical(twin.read_trace_rows(path, start=2), open_trace(path, start=2))
    with pytest.warns(DeprecationWarning, match="open_trace"):
        assert twin.trace_rows(tmp_path / "none.zarr") == 0
    with pytest.raises(DatasetError, match="no 'forecast' group"):
        open_trace(path, group="forecast")


# -- nothing lost: existing stores, resume, a failing disk (issue 23) ------------------------------------------


class FailingDisk:
    """Injectable disk failure: every store file write raises ``OSError(errno)`` while ``full``."""

    def __init__(self, monkeypatch, code: int = errno.ENOSPC) -> None:
        import twin._zarr_writer as zw

        self.full = False
        self.code = code
        self.failures = 0
        real = zw._atomic_write

        def write(path, data):
            if self.full:
                self.failures += 1
                raise OSError(self.code, os.strerror(self.code), str(path))
            real(path, data)

        monkeypatch.setattr(zw, "_atomic_write", write)


def _write(path, n, **kw):
    store = TraceStore(path, TAGS, UNITS, flush_rows=4, flush_interval=1e9, **kw)
    for k in range(n):
        store.append(*_row(k))
    return store


def test_existing_store_is_refused_unless_overwrite_or_append(tmp_path):
    path = tmp_path / "t.zarr"
    store = _write(path, 6)
    store.log_event({"tag": "TI", "kind": "ewma", "start": 10.0, "end": 20.0})
    store.close()
    with pytest.raises(TraceExistsError, match=r"t\.zarr.*overwrite=True.*append=True") as info:
        TraceStore(path, TAGS, UNITS)
    assert isinstance(info.value, ConfigError)
    with pytest.raises(ConfigError, match="exclude each other"):
        TraceStore(path, TAGS, UNITS, overwrite=True, append=True)
    assert open_trace(path).sizes["time"] == 6  # refusals touched nothing
    _write(path, 3, overwrite=True).close()
    assert open_trace(path).sizes["time"] == 3 and read_events(path) == []


def test_only_a_trace_store_is_ever_deleted(tmp_path):
    """A directory that is not a trace store — even a Zarr group with a time axis, a historian — is
    refused by overwrite and append, and nothing in it changes."""
    hist = tmp_path / "hist.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xr.Dataset({"TI": ("time", np.arange(5.0))}, coords={"time": np.arange(5.0)}).to_zarr(
            hist, consolidated=False)
    before = {p: p.read_bytes() for p in hist.rglob("*") if p.is_file()}
    for kw in ({"overwrite": True}, {"append": True}):
        with pytest.raises(DatasetError, match="not a trace store"):
            TraceStore(hist, TAGS, UNITS, **kw)
    store = TraceStore(hist, TAGS, UNITS)  # no option: refused at the first flush, as before
    store.append(*_row(0))
    with pytest.raises(DatasetError, match="not a trace store"):
        store.flush()
    assert {p: p.read_bytes() for p in hist.rglob("*") if p.is_file()} == before


def test_resume_continues_rows_and_the_alarm_log(tmp_path):
    """A crashed writer (never closed; an alarm open, one more after the last complete row): the resumed
    store continues after its last complete row, the open alarm ends there, the later one is dropped."""
    path = tmp_path / "r.zarr"
    crashed = _write(path, 8)  # flushed rows 0..7 (time 0..70)
    crashed.log_event({"tag": "TI", "kind": "cusum", "start": 30.0, "end": None, "magnitude": 0.2})
    crashed.log_event({"tag": "TJ", "kind": "limit", "start": 10.0, "end": 20.0, "magnitude": 3.0})
    crashed.append(*_row(8))  # buffered only: lost in the crash
    crashed.log_event({"tag": "TJ", "kind": "ewma", "start": 80.0, "end": None, "magnitude": 0.1})
    del crashed
    resumed = TraceStore(path, TAGS, UNITS, flush_rows=4, flush_interval=1e9, append=True)
    assert resumed.last_time == 70.0
    assert resumed.trim_events(resumed.last_time) == 2
    for k in range(8, 12):
        resumed.append(*_row(k))
    resumed.log_event({"tag": "TI", "kind": "cusum", "start": 100.0, "end": 110.0})
    resumed.close()
    ds = open_trace(path)
    assert np.array_equal(ds["time"].values, 10.0 * np.arange(12))
    events = [(e["tag"], e["kind"], e["start"], e["end"]) for e in read_events(path)]
    assert events == [("TJ", "limit", 10.0, 20.0), ("TI", "cusum", 30.0, 70.0), ("TI", "cusum", 100.0, 110.0)]


def test_resume_refuses_a_store_of_other_tags(tmp_path):
    path = tmp_path / "r.zarr"
    _write(path, 4).close()
    with pytest.raises(DatasetError, match="cannot resume.*tags"):
        TraceStore(path, ["X", "Y", "Z"], UNITS, append=True)


def test_failing_disk_buffers_then_writes_everything(tmp_path, monkeypatch):
    disk = FailingDisk(monkeypatch)
    path = tmp_path / "f.zarr"
    store = TraceStore(path, TAGS, UNITS, flush_rows=3, flush_interval=1e9)
    for k in range(30):
        disk.full = 6 <= k < 20  # the disk is full while rows 6..19 arrive
        store.append(*_row(k))  # never raises
        if k == 10:
            assert not store.persisted and store.events[0].end is None
            assert store.events[0].kind == TRACE_NOT_PERSISTED and store.events[0].start == 60.0
    store.close()
    assert disk.failures > 0 and store.persisted and store.rows_lost == 0
    assert store.rows_written == 30 and store.rows_buffered_then_written > 0
    ds = open_trace(path)
    assert np.array_equal(ds["time"].values, 10.0 * np.arange(30))
    assert np.array_equal(ds["quality"].sel(tag="TJ").values, np.arange(30) % 3)
    (ev,) = read_events(path)
    # from the first row not written to the row whose flush succeeded; at most 12 rows waited (6..17)
    assert ev["kind"] == TRACE_NOT_PERSISTED and ev["start"] == 60.0 and ev["end"] == 200.0
    assert ev["unit"] == "rows" and ev["magnitude"] == 12


def test_buffer_bound_drops_the_oldest_rows_and_counts_them(tmp_path, monkeypatch):
    disk = FailingDisk(monkeypatch, errno.EIO)
    path = tmp_path / "b.zarr"
    store = TraceStore(path, TAGS, UNITS, flush_rows=1, flush_interval=1e9, max_buffer_rows=5)
    for k in range(40):
        disk.full = 10 <= k < 30
        store.append(*_row(k))
    store.close()
    # rows 10..30 waited (the flush of row 30 succeeded), 5 of them kept: the 16 oldest were dropped
    assert store.rows_lost == 16 and store.rows_written == 24 and store.rows_buffered_then_written == 4
    t = open_trace(path)["time"].values
    assert np.array_equal(t, 10.0 * np.r_[np.arange(10), np.arange(26, 40)])


def test_last_flush_failing_counts_the_rest_as_lost(tmp_path, monkeypatch):
    disk = FailingDisk(monkeypatch, errno.EDQUOT)
    path = tmp_path / "l.zarr"
    store = TraceStore(path, TAGS, UNITS, flush_rows=4, flush_interval=1e9)
    for k in range(10):
        disk.full = k >= 6
        store.append(*_row(k))
    store.close()
    assert not store.persisted and isinstance(store.error, OSError)
    assert store.rows_written == 4 and store.rows_lost == 6 and store.events[0].end == 90.0
    disk.full = False
    assert open_trace(path).sizes["time"] == 4
    resumed = TraceStore(path, TAGS, UNITS, append=True)  # the next run: continues after row 3, keeps the loss
    assert resumed.last_time == 30.0 and resumed.trim_events(resumed.last_time) == 0
    (ev,) = read_events(path)
    assert (ev["kind"], ev["start"], ev["end"], ev["rows_lost"]) == (TRACE_NOT_PERSISTED, 40.0, 90.0, 6)
