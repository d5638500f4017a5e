"""The :class:`Session`, assembled from one mixin per concern."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from segpaint.session._assist import _AssistMixin
from segpaint.session._formats import _FormatsMixin
from segpaint.session._viewers import open_viewer

if TYPE_CHECKING:
    from segpaint.widgets import Annotator


class Session(_AssistMixin, _FormatsMixin):
    """A stack to annotate, its populations' labels, ROIs and edit history.

    Create one with :func:`segpaint.open`. Every edit is one undo step, touches one frame of one
    population, and is announced to :meth:`on_change` subscribers.
    """

    # ------------------------------------------------------------ other layers
    def presegment(
        self,
        population: str,
        method: str | os.PathLike[str] = "threshold",
        *,
        frames: int | Iterable[int] | None = None,
        channels: Sequence[int | str] | None = None,
        mode: str = "replace",
        progress: bool = True,
        client: Any = None,
        callback: Callable[[int, int], None] | None = None,
        window: int | None = None,
        **params: Any,
    ) -> list[int]:
        """Pre-segment frames of a population (one undo step for the whole run).

        Parameters
        ----------
        population : str
            Whose labels are written.
        method : str or path-like
            ``"threshold"`` (default), a named model (``"CP_cyto3"``, ``"SD_versatile_fluo"``,
            ...), a model folder (Cellpose, StarDist, Celldetective, or one from
            :func:`segpaint.train`), or a ``threshold_config_<population>.json``.
        frames : int or iterable of int, optional
            Frames to segment (default: all).
        channels : sequence of int or str, optional
            Channels given to the method, by index or name.
        mode : {"replace", "fill-empty"}
            ``"fill-empty"`` skips frames that already hold labels.
        progress : bool
            Show a progress bar.
        client : dask.distributed.Client, optional
            Run frames on that cluster (default: threads in this process).
        callback : callable(done, total), optional
            Called on this thread after each frame is written.
        window : int, optional
            Frames in flight at once (bounds memory).
        **params
            The method's parameters (see :func:`segpaint.segment.segment`).

        Returns
        -------
        list of int
            The frames written.
        """
        from segpaint._presegment import presegment

        return presegment(
            self,
            population,
            method,
            frames=frames,
            channels=channels,
            mode=mode,
            progress=progress,
            client=client,
            callback=callback,
            window=window,
            **params,
        )

    def annotator(self, population: str | None = None, **kwargs: Any) -> Annotator:
        """An :class:`segpaint.Annotator` widget bound to this session."""
        # The widget layer sits above this one: its factory is registered by segpaint/__init__.py.
        viewer: Annotator = open_viewer(self, population, **kwargs)
        return viewer

    def __repr__(self) -> str:
        t, c, y, x = self.shape
        notes = []
        pending = self.pending_edits
        if pending:
            notes.append(
                f"{pending} unsaved edit(s) from an earlier session: session.recover() applies "
                "them, session.discard_pending() drops them"
            )
        if self._read_only:
            notes.append("read-only")
        if self._autosave_error is not None:
            notes.append(f"autosave off: {self._autosave_error}")
        extra = "".join(f"; {n}" for n in notes)
        return (
            f"<Session {self.source.name!r}: {t} frame(s) x {c} channel(s) {self.channel_names} of "
            f"{y}x{x} {self.dtype}, populations {self.populations}{extra}>"
        )

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
