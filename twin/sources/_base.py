"""The one interface every plant-data source implements.

A source yields :class:`Frame` objects: the values of the bound plant tags at
one sample instant. Historian replay, OPC UA subscriptions and in-process
streams all look the same to the :class:`~twin.Twin`; adding MQTT later means
writing one more :class:`Source`, not another twin.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Sample", "Frame", "Source"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One measured value of one tag.

    Attributes
    ----------
    tag
        Plant tag name (as in the binding's ``tags``).
    value
        The raw value as received. Deliberately untyped: a data-quality gate
        decides whether it is a usable finite number.
    time
        Source timestamp in seconds (epoch seconds for live data, elapsed
        seconds for batch replay).
    unit
        Unit string the source reports, if any (checked against the binding).
    good
        False when the source reports a bad status (e.g. an OPC UA ``Bad_*``
        status code).
    """

    tag: str
    value: Any
    time: float
    unit: str | None = None
    good: bool = True


@dataclass(slots=True)
class Frame:
    """All samples of one sample instant.

    Attributes
    ----------
    time
        Sample instant in seconds (same clock as :attr:`Sample.time`).
    samples
        Tag name → :class:`Sample`. Missing tags are simply absent.
    reconnected
        True on the first frame after a lost connection was restored; the
        twin flags the gap before it.
    clock_step
        Seconds the source clock jumped back before this frame (negative; 0: no step).
        The frames of the step are kept with their own times; the gate flags those not
        after the last accepted one (``OUT_OF_ORDER``/``DUPLICATE``), the twin logs a
        ``CLOCK_STEP`` event.
    new_timeline
        True on the first frame of a new timeline: after a reconnect the plant's time
        went back (a restarted plant with a new time origin). The twin starts over
        from this frame and flags the discontinuity.
    """

    time: float
    samples: Mapping[str, Sample] = field(default_factory=dict)
    reconnected: bool = False
    clock_step: float = 0.0
    new_timeline: bool = False


class Source(abc.ABC):
    """A stream of :class:`Frame` objects (iterate it; close it when done).

    Implementations: :class:`~twin.sources.ReplaySource` (historian files),
    :class:`~twin.sources.OpcUaSource` (live OPC UA subscriptions) and
    :class:`~twin.sources.MemorySource` (in-process, for tests and the emulator).
    """

    #: ``"datetime"`` when frame times are epoch seconds, ``"elapsed"`` when
    #: they are seconds since batch start.
    time_kind: str = "elapsed"

    @abc.abstractmethod
    def frames(self) -> Iterator[Frame]:
        """Yield frames in arrival order until the source is exhausted or closed."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and threads (idempotent)."""

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
