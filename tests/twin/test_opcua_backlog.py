"""A slow consumer's backlog (found by the soak test and the line reconnect test, issue 23).

Values the client received are samples the server published: while the consumer is still
taking them, a quiet server is not a silent subscription (no re-subscription), and when the
client is torn down (the server went away) they still reach the twin, not dropped as
stragglers of the old client.
"""

from __future__ import annotations

import os
import sys
import time

import pytest
from _synthetic import T0, free_port, sine_scenario, virtual_sine_server, virtual_source

sys.path.insert(0, os.path.dirname(__file__))
pytestmark = pytest.mark.opcua


def _wait(condition, what: str, bound: float = 60.0) -> None:
    deadline = time.monotonic() + bound  # a bound for a hang, not a timing assertion
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {bound:g} s"
        time.sleep(0.05)


def test_a_backlog_is_neither_a_silent_subscription_nor_lost_with_its_client():
    sc = sine_scenario(free_port())
    server = virtual_sine_server(sc, 300.0)
    src = virtual_source(sc.endpoint, data_timeout=60, resubscribe_after=0.5, reconnect_initial=0.1,
                         reconnect_max=0.5)
    frames = []
    try:
        for f in src.frames():
            frames.append(f)
            if len(frames) == 1:
                # the server publishes the whole run (31 samples on virtual time) and falls quiet while
                # this consumer is busy: every value received waits in the source's queue (2 tags)
                _wait(lambda: server.samples_published == 31 and src._queue.qsize() >= 2 * 30,
                      "the whole run reaching the client")
                seen = src.health_checks  # the client judges silence once a round (0.25 s apart): let it judge
                _wait(lambda seen=seen: src.health_checks >= seen + 12, "12 rounds of the client's health loop")  # > 3 s quiet
                assert src.resubscribes == 0  # the consumer is behind: that is no silent subscription
                server.stop_thread()  # the server goes away with the backlog still queued
                _wait(lambda: src.disconnects, "the source noticing its server stopped")
            if len(frames) == 31:
                break
    finally:
        src.close()
        if server._thread.is_alive():
            server.stop_thread()
    assert [f.time - T0 for f in frames] == pytest.approx([10.0 * k for k in range(31)])
    assert not any(f.reconnected for f in frames[1:])  # every sample of the one subscription came
