"""Per-population label storage: hot frames as arrays, colder ones compressed or dropped."""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from segpaint._journal import Signature
from segpaint.ops import LABEL_DTYPE, as_label_image
from segpaint.session._plumbing import SessionLock

HOT_BYTES = 256 * 1024**2
"""Label frames kept as arrays per population; colder ones are dropped or compressed."""


class _Population:
    """One population's label stack, stored frame by frame (absent frames are zeros).

    Frames are read lazily from ``labels_<population>/`` under the session lock, so a stroke on
    one thread never races a load on another. Memory stays bounded: at most ``hot_bytes`` of
    frames are kept as arrays; a colder frame is dropped when it is saved (it is read back from
    its file) or kept zlib-compressed when it holds unsaved edits. Every write bumps the frame's
    ``version``; a save marks a frame clean only if no edit came in while it was being written.
    """

    def __init__(
        self,
        name: str,
        shape: tuple[int, int, int],
        loader: Callable[[int], npt.NDArray[Any] | None],
        lock: SessionLock,
        *,
        hot_bytes: int | None = None,
    ) -> None:
        self.name = name
        self.shape = shape
        self.loader = loader
        self.lock = lock
        self.hot: OrderedDict[int, npt.NDArray[np.uint32]] = OrderedDict()
        self.cold: dict[int, bytes] = {}
        self.loaded: set[int] = set()
        """Frames whose file was read (or that were set from memory): not read again."""
        self.on_disk: set[int] = set()
        """Frames whose labels equal their file in ``labels_<population>/``: dropped when cold."""
        self.version: dict[int, int] = {}
        self.saved_version: dict[int, int] = {}
        self.maxima: dict[int, int] = {}
        self.method: dict[str, Any] | None = None
        self.base: dict[int, Signature] = {}
        """Signature of each journaled frame's label file when this session last read/wrote it."""
        self._zeros: npt.NDArray[np.uint32] | None = None
        frame_bytes = max(1, shape[1] * shape[2] * LABEL_DTYPE.itemsize)
        self.max_hot = max(2, (HOT_BYTES if hot_bytes is None else hot_bytes) // frame_bytes)

    @property
    def dirty(self) -> set[int]:
        """Frames with edits not yet saved."""
        return {t for t, v in self.version.items() if self.saved_version.get(t, 0) != v}

    def is_dirty(self, t: int) -> bool:
        """Whether frame ``t`` has edits not yet saved."""
        return self.version.get(t, 0) != self.saved_version.get(t, 0)

    def has_data(self, t: int) -> bool:
        """Whether frame ``t`` holds labels in memory (hot or compressed)."""
        return t in self.hot or t in self.cold

    def _get(self, t: int) -> npt.NDArray[np.uint32] | None:
        """The frame's array (making it hot), or None when it has no labels."""
        with self.lock:
            arr = self.hot.get(t)
            if arr is not None:
                self.hot.move_to_end(t)
                return arr
            blob = self.cold.pop(t, None)
            if blob is not None:
                arr = np.frombuffer(zlib.decompress(blob), dtype=LABEL_DTYPE)
                arr = arr.reshape(self.shape[1:]).copy()
            elif t not in self.loaded:
                data = self.loader(t)
                self.loaded.add(t)
                if data is not None:
                    self.on_disk.add(t)
                    checked = as_label_image(
                        data, name=f"labels_{self.name}/{t:04d}.tif", shape=self.shape[1:]
                    )
                    arr = np.array(checked, dtype=LABEL_DTYPE)
            if arr is None:
                return None
            self._put(t, arr)
            return arr

    def _put(self, t: int, arr: npt.NDArray[np.uint32]) -> None:
        self.hot[t] = arr
        self.hot.move_to_end(t)
        while len(self.hot) > self.max_hot:
            old_t, old = self.hot.popitem(last=False)
            if old_t in self.on_disk:
                self.loaded.discard(old_t)  # its file holds exactly this: read it back if needed
            else:
                self.cold[old_t] = zlib.compress(old.tobytes(), 1)

    def view(self, t: int) -> npt.NDArray[np.uint32]:
        arr = self._get(t)
        if arr is None:
            if self._zeros is None:
                self._zeros = np.zeros(self.shape[1:], dtype=LABEL_DTYPE)
                self._zeros.flags.writeable = False
            return self._zeros
        out: npt.NDArray[np.uint32] = arr.view()
        out.flags.writeable = False
        return out

    def writable(self, t: int) -> npt.NDArray[np.uint32]:
        with self.lock:
            arr = self._get(t)
            if arr is None:
                arr = np.empty(self.shape[1:], dtype=LABEL_DTYPE)
                # Written now, not left to the kernel's lazy zero pages: otherwise each later
                # stroke that reaches untouched rows stalls on page faults (with transparent huge
                # pages, 2 MiB zeroed per fault: 0.2-4 ms at 4096²); one pass here instead.
                arr.fill(0)
                self._put(t, arr)
            return arr

    def touch(self, t: int) -> None:
        """Record that frame ``t`` changed (call with the lock held)."""
        self.version[t] = self.version.get(t, 0) + 1
        self.on_disk.discard(t)

    def set_frame(self, t: int, arr: npt.NDArray[np.uint32]) -> None:
        """Hold ``arr`` as frame ``t`` without reading its file (initial labels from memory)."""
        with self.lock:
            self.loaded.add(t)
            self.cold.pop(t, None)
            self._put(t, arr)

    def frames_with_data(self) -> list[int]:
        """Frames that hold labels in memory, sorted."""
        with self.lock:
            return sorted(set(self.hot) | set(self.cold))

    def frame_max(self, t: int) -> int:
        with self.lock:
            if t not in self.maxima:
                arr = self._get(t)
                self.maxima[t] = int(arr.max()) if arr is not None and arr.size else 0
            return self.maxima[t]

    def max_label(self) -> int:
        """The largest label over all frames (each frame's maximum is cached: a widget asks
        after every stroke, so a long movie costs one lock and one pass over the cache)."""
        with self.lock:
            maxima = self.maxima
            if len(maxima) < self.shape[0]:
                for t in range(self.shape[0]):
                    if t not in maxima:
                        self.frame_max(t)
            return max(maxima.values(), default=0)


class LabelStack:
    """Read-only ``(T, Y, X)`` view of a population's labels; ``np.asarray`` materialises it.

    Indexing with a frame number returns that frame without loading the others.
    """

    def __init__(self, population: _Population) -> None:
        self._pop = population

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(T, Y, X)``."""
        return self._pop.shape

    @property
    def dtype(self) -> np.dtype[np.uint32]:
        """Always ``uint32``."""
        return LABEL_DTYPE

    @property
    def ndim(self) -> int:
        """3."""
        return 3

    def __len__(self) -> int:
        return self._pop.shape[0]

    def __iter__(self) -> Iterator[npt.NDArray[np.uint32]]:
        for t in range(len(self)):
            yield self._pop.view(t)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, np.integer)):
            n = len(self)
            t = int(key) + n if key < 0 else int(key)
            if not 0 <= t < n:
                raise IndexError(f"frame {key} is out of range for {n} frame(s)")
            return self._pop.view(t)
        if isinstance(key, tuple) and key and isinstance(key[0], (int, np.integer)):
            return self[key[0]][key[1:]]
        return np.asarray(self)[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> npt.NDArray[Any]:
        out = np.stack([self._pop.view(t) for t in range(len(self))])
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        return f"<LabelStack {self._pop.name!r} shape={self.shape} uint32>"
