"""Soak test (issue 23, part 9): 24 h of plant time with server kills, a clock step and a full disk.

One live twin watches the reactor plant emulator over a real OPC UA server for 24 h of plant
time on virtual time (a :class:`~twin.ManualClock`: the plant runs as fast as the machine
allows, so nothing depends on how fast that is). On the way:

* the server is stopped and restarted with the same anchor three times (5 h, 11 h, 17 h); it
  stays down 10 plant minutes each time, while the plant runs on (those samples are never
  published: the twin flags a gap over them);
* the server's clock steps back 300 s at 8 h;
* the trace store's disk (a small tmpfs, root only) is full from 13 h to 14 h.

The sample period is 30 s for plant and twin (2881 samples over 24 h) rather than the shipped
10 s: 8641 samples through the OPC UA server and the EKF twin take about three times as long,
beyond the few minutes a CI test may take; the plant time is the full 24 h.

The server runs on virtual time but at most 100 samples ahead of the twin (:class:`PacedClock` of ``tests/twin/_synthetic.py``),
as a real plant publishes one sample per period. Unpaced, it publishes a whole segment long
before the twin has taken it, falls quiet, and the source re-subscribes (``resubscribe_after``)
with a backlog still queued: before the fix that came with this test, ``OpcUaSource`` dropped
that backlog as stragglers (hundreds of published samples, flagged as gaps); now it keeps it
(``tests/twin/test_opcua_backlog.py``), and the pacing only keeps those extra
re-subscriptions, which are not faults this test injects, out of the run.

The server is stopped only once the twin has taken every sample it published (it pauses at the
kill time), so the accounting is exact: every plant sample instant is either published, or
skipped while the server was down (counted by the restarted server's catch-up), and

    rows recorded + rows flagged rejected + samples in flagged gaps = plant sample instants
                                                                    = published + skipped.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from tests._tmpfs import mounted_tmpfs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "twin"))
from _reactor import binding as make_binding  # noqa: E402
from _reactor import plant  # noqa: E402
from _synthetic import PacedClock, free_port  # noqa: E402

from twin import (  # noqa: E402
    TRACE_NOT_PERSISTED,
    ManualClock,
    QualityFlag,
    Twin,
    open_trace,
    read_events,
)
from twin.emulator import PlantEmulator, PlantServer  # noqa: E402
from twin.sources import OpcUaSource  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.opcua]

T0 = 1.8e9  # plant epoch of the virtual clock
PERIOD = 30.0
HOUR = 3600.0
KILLS = (5 * HOUR, 11 * HOUR, 17 * HOUR)  # plant times the server goes down
DOWN = 600.0  # plant seconds it stays down
STEP_AT, STEP = 8 * HOUR, -300.0
DISK_FULL = (13 * HOUR, 14 * HOUR)


class _Segment:
    """The plant of one server run: pauses (``done``) at ``stop_at``; steps its server's clock once."""

    def __init__(self, scenario, stop_at: float | None, state: dict) -> None:
        self.inner, self.stop_at, self.state = PlantEmulator(scenario), stop_at, state
        self.tags, self.units = self.inner.tags, self.inner.units

    def __getattr__(self, name):
        return getattr(self.inner, name)

    @property
    def done(self) -> bool:
        return self.inner.done or (
            self.stop_at is not None and self.inner.time >= self.stop_at - 1e-9
        )

    def advance(self):
        out = self.inner.advance()
        if not self.state["stepped"] and self.inner.time >= STEP_AT:
            self.state["server"].step_clock(STEP)
            self.state["stepped"] = True
        return out


def _fill(mnt: Path) -> Path:
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
    return ballast


@contextlib.contextmanager
def _trace_disk(tmp_path: Path):
    """Yield ``(folder, why_not)``: a 32 MB tmpfs where mounting one is permitted (root; the
    disk-full episode runs, ``why_not`` is None), else a plain folder and the reason it is not."""
    with contextlib.ExitStack() as stack:
        try:
            mnt, _ = stack.enter_context(mounted_tmpfs(tmp_path / "disk", "32m"))
        except pytest.skip.Exception as why:
            mnt, why_not = tmp_path, str(why)
        else:
            why_not = None
        yield mnt, why_not


def test_soak_24_h_of_plant_time_with_kills_a_clock_step_and_a_full_disk(tmp_path):
    sc = plant(duration="24 h", sample_period=f"{PERIOD:g} s")
    n_instants = round(24 * HOUR / PERIOD) + 1
    url = f"opc.tcp://127.0.0.1:{free_port()}/twin/plant"
    clock = PacedClock(T0)
    state: dict = {"stepped": False}
    stops = [*KILLS, None]

    def start(anchor):
        server = PlantServer(
            sc,
            endpoint=url,
            clock=clock,
            anchor=anchor,
            start_on_subscribe=True,
            plant=_Segment(sc, stops[len(servers)], state),
        )
        if servers:  # the host's clock stays stepped across a restart
            server.step_clock(servers[-1].clock_offset)
        servers.append(server)
        state["server"] = server
        server.start_thread()
        return server

    servers: list[PlantServer] = []
    resumed_at: list[float] = []  # plant time each restarted server resumed at
    with _trace_disk(tmp_path) as (disk, why_not):
        can_fill = why_not is None
        path = disk / "soak.zarr"
        b = make_binding(None, sample_period=f"{PERIOD:g} s")
        start(None)
        twin = Twin(b, trace=path, time_kind="datetime")
        twin.trace.flush_interval = 0.0  # every row flushed: what was recorded is on disk
        src = OpcUaSource(
            url,
            [t.tag for t in b.tags] + [b.batch_time_tag],
            period=b.sample_period,
            namespace=b.opcua.namespace,
            units={t.tag: t.unit for t in b.tags},
            publishing_interval=0.05,
            clock=ManualClock(T0),
            reconnect_initial=0.1,
            reconnect_max=0.5,
            connect_timeout=120,
            data_timeout=60,
        )
        r = twin.report
        disk_state: dict = {}

        def skipped() -> int:
            return sum(round((t - k) / PERIOD) - 1 for t, k in zip(resumed_at, KILLS, strict=False))

        def accounted() -> int:
            return r.samples + r.rejected + r.gap_samples

        clock.ahead = lambda: sum(s.samples_published for s in servers) + skipped() - accounted()

        def on_step(step):
            plant_t = step.time - servers[0].anchor
            if can_fill and "ballast" not in disk_state and plant_t >= DISK_FULL[0]:
                disk_state["ballast"], disk_state["filled"] = _fill(disk), step.time
            if can_fill and "freed" not in disk_state and plant_t >= DISK_FULL[1]:
                disk_state["ballast"].unlink()
                disk_state["freed"] = step.time
            server = servers[-1]
            published = sum(s.samples_published for s in servers)
            if not (server.plant.done and accounted() >= published + skipped()):
                return
            if len(servers) == len(stops):  # 24 h: every sample taken
                raise StopIteration
            server.stop_thread()  # the server goes away
            clock.advance(DOWN)  # ... while the plant runs on
            new = start(server.anchor)  # back with the same anchor: it catches the plant up
            resumed_at.append(new.plant.time)

        try:
            try:
                twin.run(src, on_step=on_step)
            except StopIteration:
                pass
        finally:
            src.close()
            for s in servers:
                if s._thread.is_alive():
                    s.stop_thread()
        report = twin.close()

        published = sum(s.samples_published for s in servers)
        assert len(servers) == 4 and len(resumed_at) == 3 and src.reconnects >= 3
        assert [t - k for t, k in zip(resumed_at, KILLS, strict=True)] == [DOWN] * 3
        assert published + skipped() == n_instants  # every plant instant: published or skipped
        # the invariant: rows recorded + rows flagged rejected + samples in flagged gaps
        assert report.samples + report.rejected + report.gap_samples == n_instants
        gaps = [(a - servers[0].anchor, b - servers[0].anchor) for a, b in report.gaps]
        assert report.gap_samples == skipped() == 3 * (round(DOWN / PERIOD) - 1), gaps
        assert report.rejected == round(
            -STEP / PERIOD
        )  # stamped at or before the last recorded time
        assert report.rows_recorded == report.samples and report.rows_lost == 0
        assert report.trace_persisted
        assert src.late_values == 0

        # faults as events / flags
        assert [s for _, s in report.clock_steps] == [pytest.approx(STEP, abs=1e-3)]
        logged = read_events(path)
        steps = [e for e in logged if e["kind"] == "CLOCK_STEP"]
        assert len(steps) == 1 and steps[0]["magnitude"] == pytest.approx(-STEP, abs=1e-3)
        assert len(report.gaps) == 3  # one flagged gap per restart (there is no reconnect event)
        if can_fill:
            (ev,) = [e for e in report.events if e.kind == TRACE_NOT_PERSISTED]
            # the fill and the freeing happen after a row is taken: the next row meets them
            assert (
                ev.start == disk_state["filled"] + PERIOD and ev.end == disk_state["freed"] + PERIOD
            )
            assert report.rows_buffered_then_written == round(
                (DISK_FULL[1] - DISK_FULL[0]) / PERIOD
            )
            (merged,) = [
                e for e in logged if e["kind"] == TRACE_NOT_PERSISTED
            ]  # start + end records
            assert (merged["start"], merged["end"]) == (ev.start, ev.end) and merged[
                "rows_lost"
            ] == 0
            assert "No space" in merged["message"]
            raw = [json.loads(x) for x in (path / "events.jsonl").read_text().splitlines()]
            ends = [e["end"] for e in raw if e["kind"] == TRACE_NOT_PERSISTED]
            assert ends == [None, ev.end]  # the start record waited in memory, then went out first

        # every recorded row is in the trace; the time axis only jumps at the flagged gaps
        ds = open_trace(path)
        assert ds.sizes["time"] == report.rows_recorded
        times = ds["time"].values.astype("datetime64[ns]").astype(np.int64) / 1e9
        dt = np.diff(times)
        assert (dt > 0).all()
        jumps = np.flatnonzero(np.abs(dt - PERIOD) > 1e-3)
        assert len(jumps) == 3
        gap = ds["gap"].values
        assert dt[jumps] == pytest.approx([DOWN] * 3, abs=1e-3)
        assert gap[jumps + 1] == pytest.approx([DOWN - PERIOD] * 3, abs=1e-3)
        assert all(ds["quality"].values[k + 1].max() & QualityFlag.GAP for k in jumps)
        assert np.count_nonzero(gap > 0) == 3
    if why_not:  # everything else ran and held
        pytest.skip(f"the disk-full episode did not run: {why_not}")


CAMPAIGN = """\
kind: campaign
name: soak
model:
  type: reactor
  backend: reference
  batch_time: 4 h
  jacket_stages: 2
  feed_stages: 2
  jacket_inlet: [340 K, 335 K]
  feed_rate: [1.0e-4, 0]
  output_interval: 120 s
parameters:
  - {name: jacket_inlet_1, low: 300 K, high: 380 K, unit: K}
  - {name: feed_rate_1, low: 2.0e-5, high: 1.5277777e-4, unit: m3/s}
objectives:
  - {metric: yield, direction: maximize}
constraints:
  - {metric: peak_temperature, max: 360 K, unit: K}
sampler: {name: random, seed: 1}
budget: {trials: 100000}
"""


def test_soak_campaign_on_a_disk_that_fills_mid_run_keeps_every_finished_trial(tmp_path):
    """A campaign whose journal is on a 256 KiB tmpfs runs until the disk is full (mid-run): it
    stops with :class:`~optimization.StorageFullError`, every trial finished before is intact and
    readable by plain Optuna, and once space returns the same campaign resumes (root only)."""
    import optuna

    from optimization import StorageFullError, load_campaign

    spec = tmp_path / "soak.yaml"
    spec.write_text(CAMPAIGN)
    with mounted_tmpfs(tmp_path / "disk", "256k") as (mnt, resize):
        journal = mnt / "soak.journal"

        def trials():  # as a fresh process reads them: plain Optuna on the journal file
            from optuna.storages.journal import JournalFileBackend

            storage = optuna.storages.JournalStorage(JournalFileBackend(str(journal)))
            study = optuna.load_study(study_name="soak", storage=storage)
            return {t.number: (t.state.name, t.values, t.params) for t in study.get_trials()}

        with pytest.raises(StorageFullError) as err:
            load_campaign(spec, storage=str(journal)).run(progress=False)
        assert err.value.errno == errno.ENOSPC and err.value.finished > 3
        data = journal.read_bytes()
        assert data.endswith(b"\n") and all(
            json.loads(x) for x in data.splitlines()
        )  # no torn record
        finished = {n: v for n, v in trials().items() if v[0] in ("COMPLETE", "PRUNED")}
        assert len(finished) == err.value.finished

        resize("4m")  # space returns: the same campaign resumes
        load_campaign(spec, storage=str(journal)).run(n_trials=len(finished) + 3, progress=False)
        after = trials()
        assert {n: v for n, v in after.items() if n in finished} == finished  # every one intact
        assert sum(v[0] in ("COMPLETE", "PRUNED") for v in after.values()) == len(finished) + 3
        assert "RUNNING" not in {v[0] for v in after.values()}
