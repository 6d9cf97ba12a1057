"""In-process source: frames from any iterable (tests, the emulator, notebooks)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from twin.sources._base import Frame, Source

__all__ = ["MemorySource"]


class MemorySource(Source):
    """Yield frames from an iterable of :class:`~twin.sources.Frame`.

    Parameters
    ----------
    frames
        Any iterable (list, generator) of frames.
    time_kind
        ``"elapsed"`` or ``"datetime"`` (see :class:`~twin.sources.Source`).

    Examples
    --------
    >>> from twin.sources import Frame, MemorySource, Sample
    >>> src = MemorySource([Frame(0.0, {"T": Sample("T", 350.0, 0.0, "K")})])
    >>> [f.time for f in src]
    [0.0]
    """

    def __init__(self, frames: Iterable[Frame], *, time_kind: str = "elapsed") -> None:
        self._frames = frames
        self.time_kind = time_kind
        self._closed = False

    def frames(self) -> Iterator[Frame]:
        for frame in self._frames:
            if self._closed:
                return
            yield frame

    def close(self) -> None:
        self._closed = True
