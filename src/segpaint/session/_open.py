"""``segpaint.open``: read a source and build its Session."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from segpaint._history import DEFAULT_BUDGET
from segpaint.io.source import read_source
from segpaint.ops import as_label_image
from segpaint.session._core import Session


def open(
    source: Any,
    *,
    axes: str | None = None,
    channel_names: Sequence[str] | None = None,
    pixel_size_um: float | None = None,
    frame_interval_min: float | None = None,
    populations: Sequence[str] | None = None,
    labels: Mapping[str, npt.ArrayLike] | None = None,
    well: str | None = None,
    position: str | int | None = None,
    name: str | None = None,
    history_bytes: int = DEFAULT_BUDGET,
    journal: bool | str | Path = True,
    read_only: bool = False,
) -> Session:
    """Open images to annotate and return a :class:`Session`.

    Parameters
    ----------
    source : ndarray, path to a TIFF / OME-TIFF / ImageJ file, folder of TIFFs, or a Celldetective experiment
        Files are read lazily: opening reads metadata only, and showing a frame reads that frame.
        A Celldetective experiment can be given as a position folder (``W1/100``) or as the
        experiment root plus ``well=`` and ``position=``.
    axes : str, optional
        One letter per dimension (``"YX"``, ``"TYX"``, ``"CYX"``, ``"TCYX"``, ``"TYXC"``) when the
        shape or file metadata do not say; ambiguous shapes are an error that shows what to pass.
    channel_names, pixel_size_um, frame_interval_min : optional
        Override what the file or config.ini says.
    populations : sequence of str, optional
        Default: the experiment's ``[Populations]`` (``effectors, targets`` when absent), or
        ``["cells"]``.
    labels : mapping of population -> array, optional
        Initial labels ``(T, Y, X)`` (or ``(Y, X)`` for one frame) per population.
    name : str, optional
        Prefix of exported sample names (default: ``<experiment>_<position>`` or the file stem).
    journal : bool or path
        Autosave every edit to a journal so that a kernel crash loses nothing (default: a hidden
        ``.segpaint/`` folder beside files and experiments; arrays need a path). Edits left by a
        session that never saved are reported by ``session.pending_edits`` and applied by
        ``session.recover()``. ``False`` turns it off.
    read_only : bool
        Look without writing anything into the data folder: no journal, no writer lock, and
        saves or exports only to a ``folder=`` you pass. Files and experiments are open for
        writing in one process at a time: a second process gets
        :class:`segpaint.SessionLockedError` and can pass ``read_only=True``.

    Examples
    --------
    >>> import numpy as np, segpaint
    >>> s = segpaint.open(np.zeros((3, 64, 64), np.uint16), axes="TYX")
    >>> s.shape, s.populations
    ((3, 1, 64, 64), ['cells'])
    """
    stack, src = read_source(source, axes=axes, well=well, position=position, name=name)
    pops = list(populations) if populations is not None else None
    if labels is not None and pops is not None:
        pops += [p for p in labels if p not in pops]
    session = Session(
        stack,
        src,
        channel_names=channel_names,
        pixel_size_um=pixel_size_um,
        frame_interval_min=frame_interval_min,
        populations=pops,
        history_bytes=history_bytes,
        journal=journal,
        read_only=read_only,
    )
    for pop_name, arr in (labels or {}).items():
        if pop_name not in session.populations:
            session.add_population(pop_name)
        data = np.asarray(arr)
        if data.ndim == 2:
            data = data[np.newaxis]
        expected = (session.n_frames, *session.frame_shape)
        if data.shape != expected:
            raise ValueError(
                f"labels[{pop_name!r}] has shape {np.asarray(arr).shape}; expected {expected} "
                f"(T, Y, X) or {session.frame_shape} for a single frame"
            )
        checked = as_label_image(data, name=f"labels[{pop_name!r}]")
        pop = session._pops[pop_name]
        for t in range(len(checked)):
            if checked[t].any():
                pop.set_frame(t, np.array(checked[t]))
    _attach_zarr_labels(session)
    session.history.clear()
    return session


def _attach_zarr_labels(session: Session) -> None:
    """An OME-Zarr image's ``labels/`` groups become populations, read lazily frame by frame.

    Frames saved by segpaint (``labels_<population>/``) take precedence over the Zarr labels.
    """
    if type(session.stack).__name__ != "ZarrStack":
        return
    from segpaint.io.zarr import ZarrStack, label_names, population_name, read_label_frame

    stack = session.stack
    assert isinstance(stack, ZarrStack)
    for label in label_names(stack):
        name = population_name(label)
        if name not in session.populations:
            session.add_population(name)
        pop = session._pops[name]
        saved = pop.loader

        def load(t: int, saved: Callable[[int], Any] = saved, label: str = label) -> Any:
            data = saved(t)
            return data if data is not None else read_label_frame(stack, label, t)

        pop.loader = load
