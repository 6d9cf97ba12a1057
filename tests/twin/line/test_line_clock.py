"""The line twin and a source clock stepping back: the step is logged, earlier-timed samples rejected."""

from __future__ import annotations

from _line import binding, model, plant

from twin import read_events
from twin.line import LineTwin
from twin.sources import Frame, MemorySource, Sample


def test_line_twin_rejects_samples_of_a_clock_step_and_logs_it(tmp_path):
    frames = [
        Frame(t, {k: Sample(k, v, t) for k, v in values.items()})
        for t, values in plant(seed=3, duration=600.0).frames()
    ]
    period = frames[1].time - frames[0].time
    k = len(frames) // 2
    back = 10 * period  # from frame k on the source clock is 10 periods behind
    stepped = frames[:k] + [Frame(f.time - back, dict(f.samples)) for f in frames[k:]]
    stepped[k].clock_step = -back
    b = binding()
    tw = LineTwin(
        b, scenario=model(), trace=tmp_path / "l.zarr", time_kind="elapsed", forecast=False
    )
    report = tw.run(MemorySource(stepped))
    report = tw.close()
    assert report.rejected == 10  # 9 before the last accepted time, 1 equal to it
    assert report.samples + report.rejected == len(frames)  # every sample accounted for
    assert report.clock_steps == [(stepped[k].time, -back)]
    events = [e for e in read_events(tmp_path / "l.zarr") if e["kind"] == "CLOCK_STEP"]
    assert len(events) == 1 and events[0]["magnitude"] == back
