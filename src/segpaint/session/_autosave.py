"""The autosave journal: every acknowledged edit is on disk before it is announced."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from segpaint._journal import Signature, encode_record
from segpaint.ops import BBox
from segpaint.session._base import SessionBase

logger = logging.getLogger("segpaint")
JOURNAL_MIN_BYTES = 64 * 1024**2
"""The journal is compacted when it outgrows this and four times its last compacted size."""


class _JournalMixin(SessionBase):
    """The autosave journal: every acknowledged edit is on disk before it is announced."""

    # --------------------------------------------------------------- journal
    def _signature(self, population: str, t: int) -> Signature:
        """``(mtime_ns, size)`` of frame ``t``'s label file in the default folder, or None."""
        folder = self.source.default_labels_folder(population)
        if folder is None:
            return None
        try:
            st = (folder / f"{t:04d}.tif").stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _log(
        self,
        population: str,
        frame: int,
        bbox: BBox,
        values: npt.NDArray[np.uint32],
        *,
        index: npt.NDArray[np.integer[Any]] | None = None,
    ) -> None:
        """Journal one edit (call with the lock held); with ``index`` (positions in ``bbox``) a
        sparse record of those pixels' new ``values``. A failed write never blocks editing:
        autosave is reported off and comes back, complete, once writing works again."""
        if self._journal is None:
            return
        pop = self._pops[population]
        if frame not in pop.base:
            pop.base[frame] = self._signature(population, frame)
        try:
            if self._autosave_error is not None:
                self._compact_journal()  # the records since the failure are not on disk
            else:
                self._journal.append(population, frame, bbox, values, pop.base[frame], index=index)
                limit = max(JOURNAL_MIN_BYTES, 4 * self._journal_compacted)
                if self._journal.nbytes > limit:
                    self._compact_journal()
        except OSError as err:
            self._journal.close()
            if self._autosave_error is None:
                logger.warning(
                    "segpaint: autosave journal disabled, cannot write %s: %s. Edits are kept in "
                    "memory; autosave resumes by itself once the journal can be written again "
                    "(check session.autosave), and save_labels() still saves them",
                    self._journal.path,
                    err,
                )
            self._autosave_error = err.strerror or str(err)
            return
        if self._autosave_error is not None:
            logger.warning("segpaint: autosave journal back on at %s", self._journal.path)
            self._autosave_error = None

    def _marker(self, population: str, t: int) -> Callable[[Path], None]:
        """Before a save's rename: journal which file signature that save produces."""

        def mark(tmp: Path) -> None:
            st = tmp.stat()
            with self._lock:
                if self._journal is None or self._autosave_error is not None:
                    return
                try:
                    self._journal.mark_saved(population, t, (st.st_mtime_ns, st.st_size))
                except OSError as err:
                    self._autosave_error = err.strerror or str(err)

        return mark

    def _compact_journal(self) -> None:
        """Rewrite the journal as one record per unsaved frame (call with the lock held)."""
        if self._journal is None:
            return
        records = []
        h, w = self.frame_shape
        for name, pop in self._pops.items():
            for t in sorted(pop.dirty):
                records.append(encode_record(name, t, (0, h, 0, w), pop.view(t), pop.base.get(t)))
        self._journal.rewrite(records)
        self._journal_compacted = self._journal.nbytes

    @property
    def autosave(self) -> str:
        """``"on"``; ``"off: <reason>"`` after a failed journal write (it comes back by itself);
        ``"disabled"`` (``journal=False``, an array without a journal path, or read-only)."""
        if self._journal is None:
            return "disabled"
        return "on" if self._autosave_error is None else f"off: {self._autosave_error}"

    def discard_pending(self) -> None:
        """Delete the edits earlier sessions journaled but never saved."""
        if self._read_only:
            raise PermissionError(
                "this session is read-only: open the data without read_only=True to discard "
                "its pending edits"
            )
        for path in self._pending_files():
            path.unlink(missing_ok=True)
