"""One small event mechanism for the Session: edits, undo/redo and ROI changes all use it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


class Event:
    """Callbacks for one kind of change, called in the order they were connected.

    A failing callback does not stop the others and does not undo the change: once all were
    called, a ``RuntimeError`` names the first failure.

    Examples
    --------
    >>> changed = Event("on_roi_change")
    >>> seen = []
    >>> disconnect = changed.connect(seen.append)
    >>> changed.emit(3)
    >>> disconnect()
    >>> changed.emit(4)
    >>> seen
    [3]
    """

    def __init__(self, name: str, what: str = "the change") -> None:
        self.name = name
        self.what = what
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[[], None]:
        """Call ``callback`` on every :meth:`emit`; returns a function that disconnects it."""
        if not callable(callback):
            raise TypeError(f"callback must be callable; got {callback!r}")
        self._callbacks.append(callback)

        def disconnect() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return disconnect

    def emit(self, *args: Any) -> None:
        """Call every callback with ``args``; report the first failure after all were called."""
        errors: list[BaseException] = []
        for callback in list(self._callbacks):
            try:
                callback(*args)
            except Exception as err:  # keep notifying the others, then report
                errors.append(err)
        if errors:
            raise RuntimeError(
                f"an {self.name} callback failed after {self.what} was applied: {errors[0]!r}"
            ) from errors[0]

    def __iter__(self) -> Iterator[Callable[..., Any]]:
        return iter(list(self._callbacks))

    def __len__(self) -> int:
        return len(self._callbacks)
