"""Other tools' formats (issue 13): label import/export, GeoJSON ROIs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from segpaint.io.export import write_label_frame
from segpaint.session._export import _ExportMixin
from segpaint.session._plumbing import check_population_name
from segpaint.session._types import ROI


class _FormatsMixin(_ExportMixin):
    """Other tools' formats (issue 13): label import/export, GeoJSON ROIs."""

    # ------------------------------------------- other tools' formats (issue 13)
    def import_labels(
        self,
        source: str | Path | None = None,
        population: str | None = None,
        *,
        frame: int = 0,
    ) -> list[str]:
        """Load labels written by another tool as populations (one undo step per frame).

        Parameters
        ----------
        source : path or URL, optional
            A Cellpose ``_seg.npy`` (its ``masks`` become ``population`` on ``frame``), or an
            OME-Zarr image whose ``labels/`` groups become populations named after them.
            Default: this session's own OME-Zarr, when it was opened from one.
            ``_seg.npy`` files are unpickled, which can run code: use trusted files only.
        population : str, optional
            For ``_seg.npy``: the population to fill (default: the first one).  For OME-Zarr:
            load only the label image of that name (default: every one).
        frame : int
            For ``_seg.npy``: the frame its masks belong to.

        Returns
        -------
        list of str
            The populations that received labels (created when missing).
        """
        from segpaint.io import zarr as ngff

        if source is not None and str(source).endswith(".npy"):
            from segpaint.io.cellpose_seg import read_seg

            t = self.stack.check_frame(frame)
            seg = read_seg(source)
            if seg.masks.shape != self.frame_shape:
                raise ValueError(
                    f"source: the masks in {source} are {seg.masks.shape} but the frames are "
                    f"{self.frame_shape}; open the image those masks were made on"
                )
            default = self.populations[0] if self.populations else "cells"
            name = check_population_name(population or default)
            if name not in self._pops:
                self.add_population(name)
            self.set_labels(name, t, seg.masks)
            return [name]
        if source is None:
            if not isinstance(self.stack, ngff.ZarrStack):
                raise ValueError(
                    "source: this session was not opened from an OME-Zarr; pass the path of a "
                    "_seg.npy file or of an OME-Zarr image"
                )
            image = self.stack
        else:
            level = self.stack.level if isinstance(self.stack, ngff.ZarrStack) else 0
            image = ngff.ZarrStack(source, level=level)
            if (image.shape[0], *image.shape[2:]) != (self.n_frames, *self.frame_shape):
                raise ValueError(
                    f"source: {source} is (T, Y, X) = {(image.shape[0], *image.shape[2:])} but "
                    f"this session is {(self.n_frames, *self.frame_shape)}"
                )
        names = ngff.label_names(image)
        if population is not None:
            if population not in names:
                raise KeyError(
                    f"population: {image.url} has no label image {population!r}; it has {names}"
                )
            names = [population]
        loaded = []
        for label in names:
            pop = ngff.population_name(label)
            if pop not in self._pops:
                self.add_population(pop)
            for t in range(self.n_frames):
                data = ngff.read_label_frame(image, label, t)
                if data.any() or self.labels(pop, t).any():
                    self.set_labels(pop, t, data)
            loaded.append(pop)
        return loaded

    def export_labels(
        self,
        population: str,
        path: str | Path | None = None,
        *,
        format: str = "ngff",
        frame: int = 0,
        image: bool = False,
        overwrite: bool = False,
    ) -> str:
        """Write a population's labels in another tool's format.

        Parameters
        ----------
        population : str
            Whose labels.
        path : path or URL, optional
            ``format="ngff"``: the OME-Zarr image to add ``labels/<population>`` to (default:
            the one this session was opened from).  ``format="cellpose"``: the ``_seg.npy`` to
            write (default: ``<image stem>_seg.npy`` beside the image file, or
            ``<stem>_<frame>_seg.npy`` for a time-lapse).
        format : {"ngff", "cellpose"}
            ``"ngff"`` writes every frame as an NGFF label image (one resolution level, the
            session's); ``"cellpose"`` writes one frame in the fields Cellpose's GUI reads.
        frame : int
            ``format="cellpose"``: the frame to write.
        image : bool
            ``format="cellpose"``: also store the frame's image as ``img`` (channels last).
        overwrite : bool
            Replace an existing label image or file (otherwise an error).

        Returns
        -------
        str
            Where the labels went.
        """
        self._pop(population)
        if format == "ngff":
            from segpaint.io import zarr as ngff

            if path is None:
                if not isinstance(self.stack, ngff.ZarrStack):
                    raise ValueError(
                        "path: this session was not opened from an OME-Zarr; pass path= of the "
                        "OME-Zarr image to add the labels to"
                    )
                target = self.stack
            else:
                level = self.stack.level if isinstance(self.stack, ngff.ZarrStack) else 0
                target = ngff.ZarrStack(path, level=level)
                if (target.shape[0], *target.shape[2:]) != (self.n_frames, *self.frame_shape):
                    raise ValueError(
                        f"path: {path} is (T, Y, X) = {(target.shape[0], *target.shape[2:])} "
                        f"but this session is {(self.n_frames, *self.frame_shape)}"
                    )

            def read(t: int) -> npt.NDArray[np.uint32]:
                with self._lock:
                    return np.array(self._pop(population).view(t))

            return ngff.write_labels(target, population, read, overwrite=overwrite)
        if format == "cellpose":
            from segpaint.io.cellpose_seg import seg_path, write_seg

            t = self.stack.check_frame(frame)
            src = self.source.path
            if path is None:
                if src is None or self.source.kind != "file":
                    raise ValueError(
                        "path: this session was not opened from an image file; pass "
                        "path='<name>_seg.npy'"
                    )
                base = seg_path(src)
                path = (
                    base
                    if self.n_frames == 1
                    else base.with_name(f"{src.name.split('.')[0]}_{t:04d}_seg.npy")
                )
            with self._lock:
                masks = np.array(self._pop(population).view(t))
            img = None
            if image:
                frame_image = self.image(t)
                img = (
                    frame_image[0] if frame_image.shape[0] == 1 else frame_image.transpose(1, 2, 0)
                )
            written = write_seg(
                path,
                masks,
                filename=src if src is not None and self.source.kind == "file" else None,
                image=img,
                overwrite=overwrite,
            )
            return str(written)
        raise ValueError(f"format: expected 'ngff' or 'cellpose', got {format!r}")

    def export_rois_geojson(
        self, population: str, path: str | Path | None = None, *, overwrite: bool = True
    ) -> Path:
        """Write this session's ROIs as QuPath GeoJSON rectangles classified as ``population``.

        Default path: ``<session name>_rois.geojson`` in the population's sample folder
        (``annotations_<population>/``), next to the samples.
        """
        from segpaint.io.geojson import RoiRecord, write_rois

        self._pop(population)
        base = None
        if path is None:
            folder, base = self._export_folder(population, "celldetective", None)
            path = folder / f"{self.source.name}_rois.geojson"
        records = [
            RoiRecord(population, r.frame, r.row0, r.row1, r.col0, r.col1) for r in self.rois()
        ]
        return write_rois(path, records, overwrite=overwrite, base=base)

    def import_rois_geojson(self, path: str | Path, *, population: str | None = None) -> list[ROI]:
        """Add the rectangle ROIs of a GeoJSON file (segpaint's or QuPath's export).

        Parameters
        ----------
        path : path
            The ``.geojson`` file.
        population : str, optional
            Only ROIs classified as this population (and unclassified ones); default: all.

        Returns
        -------
        list of ROI
            The ROIs added (clipped to the image); none is added if one is invalid.
        """
        from segpaint.io.geojson import read_rois

        records = [
            r for r in read_rois(path) if population is None or r.population in (None, population)
        ]
        for r in records:
            try:
                self.stack.check_frame(r.frame)
            except IndexError as err:
                raise ValueError(f"{path}: an ROI is on frame {r.frame}: {err}") from err
        with self._history.group("import ROIs"):  # one undo step for the file
            return [self.add_roi(r.frame, (r.row0, r.row1), (r.col0, r.col1)) for r in records]

    def save_labels(
        self,
        population: str,
        *,
        folder: str | Path | None = None,
        all_frames: bool = False,
        format: str = "tiff",
    ) -> list[Path]:
        """Write edited frames to ``labels_<population>/{t:04d}.tif`` (YX), atomically.

        Safe while other threads edit: each frame is copied with its version under the session
        lock and written outside it; a frame edited during the write stays unsaved (and
        journaled), so the next save writes it again.

        Parameters
        ----------
        folder : path, optional
            Default: ``labels_<population>`` in the experiment position, or
            ``labels_<population>/<image name>/`` beside a file.
        all_frames : bool
            Write every frame that has labels, not only the edited ones.
        format : {"tiff", "ngff"}
            ``"ngff"``: for a session opened from an OME-Zarr image, write the population as the
            image's NGFF label group ``labels/<population>`` (every frame, replacing the group;
            see :meth:`export_labels`) instead of TIFF frames.
        """
        if format == "ngff":
            return self._save_ngff(population)
        if format != "tiff":
            raise ValueError(f"format: expected 'tiff' or 'ngff', got {format!r}")
        pop = self._pop(population)
        target, base = self._target(
            folder, self.source.default_labels_folder(population), "save labels"
        )
        default = folder is None
        if all_frames:
            frames = [
                t
                for t in range(self.n_frames)
                if pop.has_data(t) or self._signature(population, t) is not None
            ]
        else:
            with self._lock:
                frames = sorted(pop.dirty)
        written = []
        for t in frames:
            with self._lock:
                arr = pop.view(t).copy()
                version = pop.version.get(t, 0)
            path = write_label_frame(
                target / f"{t:04d}.tif",
                arr,
                base=base,
                before_replace=self._marker(population, t) if default else None,
            )
            written.append(path)
            with self._lock:
                if default:
                    pop.base[t] = self._signature(population, t)
                if pop.version.get(t, 0) == version:
                    pop.saved_version[t] = version
                    if default:
                        pop.on_disk.add(t)  # can be read back from there when cold
        if self._journal is not None:
            with self._lock:
                try:
                    if not any(p.dirty for p in self._pops.values()):
                        self._journal.clear()  # every edit is on disk now
                    else:
                        self._compact_journal()
                    self._autosave_error = None
                except OSError as err:
                    self._autosave_error = err.strerror or str(err)
        return written

    def _save_ngff(self, population: str) -> list[Path]:
        pop = self._pop(population)
        with self._lock:
            versions = dict(pop.version)
        where = self.export_labels(population, format="ngff", overwrite=True)
        with self._lock:
            for t, version in versions.items():
                if pop.version.get(t, 0) == version:
                    pop.saved_version[t] = version
            if self._journal is not None:
                try:
                    self._compact_journal()
                except OSError as err:
                    self._autosave_error = err.strerror or str(err)
        return [Path(where)]
