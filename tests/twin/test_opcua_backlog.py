"""A slow consumer's backlog survives a re-subscription (found by the soak test, issue 23).

Values the client received before it tore its subscription down (a re-subscription after a
quiet spell, or a reconnect) are samples the server published: they must reach the twin,
not be dropped as stragglers of the old client.
"""

from __future__ import annotations

import os
import sys
import time

import pytest
from _synthetic import T0, free_port, sine_scenario, virtual_sine_server, virtual_source

sys.path.insert(0, os.path.dirname(__file__))
pytestmark = pytest.mark.opcua



def test_values_received_before_a_resubscription_are_not_dropped():
    sc = sine_scenario(free_port())
    server = virtual_sine_server(sc, 300.0)
    src = virtual_source(sc.endpoint, data_timeout=20, resubscribe_after=0.5)
    frames = []
    try:
        for f in src.frames():
            frames.append(f)
            if len(frames) == 1:
                # the server publishes the whole run (31 samples on virtual time) and falls quiet
                # while this consumer is busy: the source re-subscribes with a backlog queued
                deadline = time.monotonic() + 60
                while src.resubscribes == 0 and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert src.resubscribes >= 1 and server.samples_published == 31
            if len(frames) == 31:
                break
    finally:
        src.close()
        server.stop_thread()
    assert [f.time - T0 for f in frames] == pytest.approx([10.0 * k for k in range(31)])
    assert not any(f.reconnected for f in frames[1:])  # every sample of one subscription came
