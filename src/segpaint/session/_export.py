"""Export: ROIs as training samples, full-frame label saves, the samples on disk."""

from __future__ import annotations

import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from segpaint._version import __version__
from segpaint.io._fs import recover_folder
from segpaint.io.export import (
    ExportError,
    check_format,
    read_sidecar,
    sample_paths,
    write_sample,
)
from segpaint.io.qc import earlier_rois, qc_sample
from segpaint.ops import bbox_slices, check_bbox
from segpaint.session._rois import _RoisMixin
from segpaint.session._types import ROI, RoiExport, Sample


class _ExportMixin(_RoisMixin):
    """Export: ROIs as training samples, full-frame label saves, the samples on disk."""

    def export_rois(
        self,
        population: str,
        frame: int,
        *,
        format: str = "celldetective",
        folder: str | Path | None = None,
        overwrite: bool = False,
        pad: bool | None = None,
    ) -> list[RoiExport]:
        """Export every ROI of ``frame`` (see :meth:`export_roi`), reporting each: a sample that
        cannot be written (it exists, a missing pixel size) does not stop the others.

        Returns
        -------
        list of RoiExport
            One per ROI of the frame, in order (empty when the frame has none): ``files``
            written, or ``error`` saying why not.
        """
        check_format(format)
        self._pop(population)
        out: list[RoiExport] = []
        for roi in self.rois(frame):
            try:
                files = self.export_roi(
                    population, roi, format=format, folder=folder, overwrite=overwrite, pad=pad
                )
            except (ExportError, OSError, ValueError) as err:
                out.append(RoiExport(roi, [], str(err)))
            else:
                out.append(RoiExport(roi, files))
        return out

    # ----------------------------------------------------------------- export
    def _target(
        self, folder: str | Path | None, default: Path | None, verb: str
    ) -> tuple[Path, Path]:
        """Where to write, and the folder below which no symlink may be followed.

        An explicit ``folder`` is the user's choice (links in it are theirs); the default lies
        inside the data folder, which nothing written may leave.
        """
        if folder is not None:
            path = Path(folder).expanduser()
            return path, path
        if default is None:
            raise ValueError(
                f"folder= is required to {verb}: this session was opened from an array, so there "
                "is no experiment or file to write beside; pass folder='some/folder'"
            )
        if self._read_only:
            why = (
                "a newer session of the same data was opened in this kernel: use that one"
                if self._superseded
                else "it was opened with read_only=True"
            )
            raise PermissionError(
                f"this session does not write into its data folder ({why}); pass folder= to "
                f"{verb} somewhere else"
            )
        data = self.source.data_folder
        base = (
            data if data is not None and default.is_relative_to(data) else self.source.export_base
        )
        assert base is not None  # a default folder exists only for sources with a folder
        return default, base

    def _export_folder(
        self, population: str, format: str, folder: str | Path | None
    ) -> tuple[Path, Path]:
        return self._target(folder, self.source.default_export_folder(population, format), "export")

    def sample_stem(self, roi: ROI) -> str:
        """``{experiment}_{position}_{frame:04d}_roi_{row0}_{row1}_{col0}_{col1}``."""
        return f"{self.source.name}_{roi.frame:04d}_roi_{roi.row0}_{roi.row1}_{roi.col0}_{roi.col1}"

    def export_roi(
        self,
        population: str,
        roi: ROI,
        *,
        format: str = "celldetective",
        folder: str | Path | None = None,
        overwrite: bool = False,
        pad: bool | None = None,
        auto_correct: bool | str = True,
        version: int | None = None,
    ) -> list[Path]:
        """Export the crop of an ROI (all channels + the population's mask + sidecar JSON).

        Parameters
        ----------
        population : str
            Whose masks to export.
        roi : ROI
            From :meth:`add_roi`.
        format : {"celldetective", "cellpose", "stardist"}
            Layout of the files (see the README).
        folder : path, optional
            Default: ``annotations_<population>`` at the experiment root, or beside the file.
        overwrite : bool
            Replace an existing sample with the same name (otherwise an error).
        pad : bool, optional
            Zero-pad crops under 256 px to 256 (default: yes for celldetective and stardist).
        auto_correct : bool or "refuse"
            Quality control (`segpaint.io.qc`): ``True`` splits labels made of separate pieces
            and drops objects under 9 px, like Celldetective; ``False`` exports as drawn;
            ``"refuse"`` raises an error naming the labels instead.  The checks and the changes
            are recorded in the sidecar (``"qc"``, ``"auto_correct"``); an empty mask warns.
        version : int, optional
            Write a new version of a sample already exported, ``<stem>_v<version>`` (2 or more;
            the sidecar records it), instead of replacing it: ``exported(...) + 1`` is the next.

        Returns
        -------
        list of Path
            The image, mask and sidecar written.
        """
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or version < 2
        ):
            raise ValueError(
                f"version must be an integer >= 2 (version 1 is the sample without a suffix); "
                f"got {version!r}; session.exported(population, roi) + 1 is the next free one"
            )
        fmt = check_format(format)
        if not isinstance(roi, ROI):
            raise TypeError(
                f"roi must be an ROI from session.add_roi(frame, rows=..., cols=...); got {roi!r}"
            )
        pop = self._pop(population)
        check_bbox(roi.bbox, self.frame_shape, name="roi")
        if fmt == "celldetective" and self.pixel_size_um is None:
            raise ExportError(
                "Celldetective samples need the pixel size: set session.pixel_size_um = <µm per "
                "pixel> (or pass pixel_size_um= to segpaint.open), or export with format='cellpose'"
            )
        rows, cols = bbox_slices(roi.bbox)
        image = np.array(self.image(roi.frame)[:, rows, cols])
        with self._lock:
            frame_labels = pop.view(roi.frame)  # read-only; QC reads only the ring around the ROI
            labels = np.array(frame_labels[bbox_slices(roi.bbox)])
        target, base = self._export_folder(population, fmt, folder)
        source = str(self.source.path) if self.source.path else self.source.kind
        labels, qc, corrected = qc_sample(
            labels,
            auto_correct=auto_correct,  # type: ignore[arg-type]  # validated there
            roi=roi.bbox,
            frame_labels=frame_labels,
            earlier=earlier_rois(
                sample_paths(target, "x", fmt).sidecar.parent.glob("*.json"),
                source=source,
                frame=roi.frame,
                exclude=self.sample_stem(roi),
            ),
        )
        if "empty" in qc["flags_after"]:
            warnings.warn(
                f"the exported sample {self.sample_stem(roi)!r} has an empty mask (no "
                f"{population} object in the ROI); it teaches a model that this region holds "
                "no cell, so make sure it does not",
                UserWarning,
                stacklevel=2,
            )
        pos = self.source.position
        sidecar: dict[str, Any] = {
            "spatial_calibration": self.pixel_size_um,
            "channels": self.channel_names,
            "frame": roi.frame,
            "population": population,
            "roi": {
                "frame": roi.frame,
                "row0": roi.row0,
                "row1": roi.row1,
                "col0": roi.col0,
                "col1": roi.col1,
            },
            "source": source,
            "experiment": pos.name if pos else None,
            "well": pos.well if pos else None,
            "position": pos.position if pos else None,
            "frame_interval_min": self.frame_interval_min,
            "method": pop.method,
            "segpaint_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "qc": qc,
            "auto_correct": corrected,
        }
        stem = self.sample_stem(roi)
        if version is not None:
            sidecar["version"] = version
            stem = f"{stem}_v{version}"
        return write_sample(
            target,
            stem,
            image,
            labels,
            sidecar,
            format=fmt,
            pad=pad,
            overwrite=overwrite,
            base=base,
        )

    def exported(
        self,
        population: str,
        roi: ROI,
        *,
        format: str = "celldetective",
        folder: str | Path | None = None,
    ) -> int:
        """How many times ``roi`` was exported into ``folder``: the highest version on disk (1 for
        the sample without a suffix, n for ``<stem>_v<n>``), 0 when none; see :meth:`export_roi`.

        Examples
        --------
        >>> import numpy as np, segpaint, tempfile
        >>> session = segpaint.open(np.zeros((1, 32, 32), np.uint8), axes="TYX")
        >>> roi = session.add_roi(0, rows=(0, 16), cols=(0, 16))
        >>> out = tempfile.mkdtemp()
        >>> session.exported("cells", roi, format="cellpose", folder=out)
        0
        """
        fmt = check_format(format)
        self._pop(population)
        target = (
            Path(folder).expanduser()
            if folder is not None
            else self.source.default_export_folder(population, fmt)
        )
        if target is None:
            return 0
        stem = self.sample_stem(roi)
        found = 1 if sample_paths(target, stem, fmt).image.exists() else 0
        version = 2
        while sample_paths(target, f"{stem}_v{version}", fmt).image.exists():
            found = version
            version += 1
        return found

    def samples(
        self,
        population: str,
        *,
        format: str = "celldetective",
        folder: str | Path | None = None,
    ) -> list[Sample]:
        """Samples already exported for a population (read from the sidecars on disk)."""
        fmt = check_format(format)
        self._pop(population)
        base = (
            Path(folder)
            if folder is not None
            else self.source.default_export_folder(population, fmt)
        )
        if base is None:
            raise ValueError(
                "folder= is required to list samples: this session was opened from an array; "
                "pass the folder you exported to"
            )
        if not self._read_only and base.is_dir() and not base.is_symlink():
            recover_folder(base)  # finish (or undo) a sample write a crash interrupted
        side_dir = sample_paths(base, "x", fmt).sidecar.parent
        out = []
        for side in sorted(side_dir.glob("*.json")):
            paths = sample_paths(base, side.stem, fmt)
            if paths.image.is_file() and paths.mask.is_file():
                out.append(Sample(paths.image, paths.mask, side, read_sidecar(side)))
        return out
