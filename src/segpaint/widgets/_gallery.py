"""SampleGallery: the exported samples of a folder or experiment as thumbnails (ipywidgets).

Each card shows the sample's image (first channel) with its mask outlines, its origin
(position, frame, ROI) and its QC flags, with "exclude"/"include" and "open" buttons; filters
select a population, a position or a flag.  A coverage panel shows which frames and regions of
the field of view have samples.  Every action is a method, so it works without a browser.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import numpy as np

from segpaint._samples import exclude_sample, open_sample, save_sample_version
from segpaint.io.png import encode_png, grey_rgb, outline_overlay
from segpaint.io.samples import (
    SampleFile,
    as_sample_files,
    coverage_picture,
    find_samples,
    read_sample,
    sample_coverage,
    sample_table,
)

if TYPE_CHECKING:
    from segpaint.session import Session
    from segpaint.widgets._annotator import Annotator

__all__ = ["THUMBNAIL_SIZE", "SampleGallery"]

THUMBNAIL_SIZE = 160
"""Longest side of a thumbnail, in screen pixels (larger crops are subsampled)."""
_ALL = "(all)"


def thumbnail(sample: SampleFile, *, size: int = THUMBNAIL_SIZE) -> bytes:
    """PNG bytes of a sample: first channel in grey, mask outlines in green (red if excluded)."""
    image, mask = read_sample(sample)
    step = max(1, int(np.ceil(max(mask.shape) / size)))
    grey = grey_rgb(image[0][::step, ::step])
    colour = (255, 60, 60) if sample.excluded else (0, 255, 0)
    return encode_png(outline_overlay(grey, mask[::step, ::step], colour))


class SampleGallery(widgets.VBox):  # type: ignore[misc]
    """Review exported samples: thumbnails, origin, QC flags, exclude/include, open, coverage.

    Parameters
    ----------
    source : path or list
        A sample folder, an experiment root (its ``annotations_*`` folders) or a list of
        samples (see `segpaint.samples`).
    population : str, optional
        Show only this population's samples (the filter can be changed later).
    session : Session, optional
        The movie the samples come from: its frame count and frame shape make the coverage
        exact (otherwise inferred from the samples).
    grid : int
        Coverage regions per side of the field of view.

    Examples
    --------
    >>> import tempfile, numpy as np, segpaint
    >>> folder = tempfile.mkdtemp()
    >>> s = segpaint.open(np.zeros((2, 32, 32), np.uint8), axes="TYX", pixel_size_um=1)
    >>> _ = s.paint("cells", 0, [(10, 10)], radius=4, label=1)
    >>> _ = s.export_roi("cells", s.add_roi(0, rows=(0, 20), cols=(0, 20)), folder=folder)
    >>> gallery = segpaint.SampleGallery(folder, session=s)
    >>> [row["sample"] for row in gallery.rows], gallery.coverage["frames_not_sampled"]
    (['array_0000_roi_0_20_0_20'], [1])
    """

    def __init__(
        self,
        source: Any,
        population: str | None = None,
        *,
        session: Session | None = None,
        grid: int = 4,
    ) -> None:
        self.source = source
        self.session = session
        self.grid = grid
        self._samples: list[SampleFile] = []
        self.population = widgets.Dropdown(description="population")
        self.position = widgets.Dropdown(description="position")
        self.flag = widgets.Dropdown(description="QC flag")
        self.show_excluded = widgets.Checkbox(value=True, description="show excluded")
        self.cards = widgets.GridBox(
            layout=widgets.Layout(
                grid_template_columns=f"repeat(auto-fill, {THUMBNAIL_SIZE + 40}px)"
            )
        )
        self.coverage_image = widgets.Image(format="png")
        self.coverage_table = widgets.HTML()
        self.status = widgets.HTML()
        self.output = widgets.Output()
        self.last_annotator: Annotator | None = None
        self._opened: str | None = None
        super().__init__(
            [
                widgets.HBox([self.population, self.position, self.flag, self.show_excluded]),
                self.status,
                self.cards,
                widgets.HTML("<b>Coverage</b> (grey: not sampled)"),
                widgets.HBox([self.coverage_image, self.coverage_table]),
                self.output,
            ]
        )
        self.refresh(population=population)
        for control in (self.population, self.position, self.flag, self.show_excluded):
            control.observe(self._on_filter_changed, names="value")

    # ------------------------------------------------------------------ data
    def _load(self) -> list[SampleFile]:
        if isinstance(self.source, str | Path):
            return find_samples(self.source)
        return as_sample_files(self.source)

    def refresh(self, population: str | None = None) -> None:
        """Read the samples again from disk and redraw (keeps the filters where possible)."""
        self._samples = self._load()
        table = sample_table(self._samples)
        pops = sorted({str(r["population"]) for r in table if r["population"]})
        positions = sorted({self._position_of(r) for r in table})
        flags = sorted({f for r in table for f in r["qc_flags"]})
        wanted = population if population is not None else self.population.value
        self._set_options(self.population, pops, wanted)
        self._set_options(self.position, positions, self.position.value)
        self._set_options(self.flag, flags, self.flag.value)
        self._redraw()

    @staticmethod
    def _set_options(control: widgets.Dropdown, values: list[str], keep: Any) -> None:
        options = [_ALL, *values]
        control.options = options
        control.value = keep if keep in options else _ALL

    @staticmethod
    def _position_of(row: dict[str, Any]) -> str:
        return f"{row.get('well') or '-'}/{row.get('position') or '-'}"

    @property
    def all_rows(self) -> list[dict[str, Any]]:
        """Every sample found, as `segpaint.samples` rows."""
        return sample_table(self._samples)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The samples that pass the filters, as `segpaint.samples` rows."""
        out = []
        for row in self.all_rows:
            if self.population.value != _ALL and row["population"] != self.population.value:
                continue
            if self.position.value != _ALL and self._position_of(row) != self.position.value:
                continue
            if self.flag.value != _ALL and self.flag.value not in row["qc_flags"]:
                continue
            if not self.show_excluded.value and row["excluded"]:
                continue
            out.append(row)
        return out

    @property
    def coverage(self) -> dict[str, Any]:
        """`segpaint.io.samples.sample_coverage` of the filtered samples (excluded ones left out)."""
        n_frames = self.session.n_frames if self.session is not None else None
        shape = self.session.frame_shape if self.session is not None else None
        return sample_coverage(self.rows, n_frames=n_frames, frame_shape=shape, grid=self.grid)

    def set_filter(
        self,
        *,
        population: str | None = None,
        position: str | None = None,
        flag: str | None = None,
        show_excluded: bool | None = None,
    ) -> None:
        """Set the filters (``None`` leaves one as it is, ``"(all)"`` clears it)."""
        for control, value in (
            (self.population, population),
            (self.position, position),
            (self.flag, flag),
        ):
            if value is not None:
                if value not in control.options:
                    raise ValueError(
                        f"{control.description}: {value!r} is not among {list(control.options)}"
                    )
                control.value = value
        if show_excluded is not None:
            self.show_excluded.value = bool(show_excluded)
        self._redraw()

    def _find(self, sample: str) -> SampleFile:
        for s in self._samples:
            if sample in (s.stem, str(s.sidecar)):
                return s
        raise KeyError(
            f"sample: no sample named {sample!r} in this gallery; names are "
            f"{[s.stem for s in self._samples]}"
        )

    # ------------------------------------------------------------------ actions
    def exclude(self, sample: str, excluded: bool = True) -> dict[str, Any]:
        """Exclude a sample from training (its sidecar is updated; no file is deleted)."""
        row = exclude_sample(self._find(sample).sidecar, excluded)
        self.refresh()
        return row

    def include(self, sample: str) -> dict[str, Any]:
        """Include an excluded sample again."""
        return self.exclude(sample, excluded=False)

    def open_sample(self, sample: str) -> Annotator:
        """An Annotator on the sample (its crop and mask), shown below the gallery.

        Fix the mask, then press "save as new version" (or call `save_version`).
        """
        found = self._find(sample)
        session = open_sample(found.sidecar)
        annotator = session.annotator(found.population or None)
        self.last_annotator = annotator
        self._opened = found.stem
        save = widgets.Button(description="save as new version", layout={"width": "180px"})
        save.on_click(lambda _b: self.save_version())
        self.output.clear_output()
        with self.output:
            from IPython.display import display

            display(widgets.VBox([annotator, save]))  # type: ignore[no-untyped-call]
        return annotator

    def save_version(self) -> dict[str, Any]:
        """Save the opened sample's fixed mask as its next version (``<stem>_v2``, ...).

        The original is kept and excluded from training (see `segpaint.save_sample_version`).
        """
        if self.last_annotator is None or self._opened is None:
            raise RuntimeError("nothing is open: call gallery.open_sample(name) first")
        row = save_sample_version(self.last_annotator.session, self._find(self._opened).sidecar)
        self._opened = row["sample"]
        self.refresh()
        return row

    # ------------------------------------------------------------------ view
    def _on_filter_changed(self, _change: dict[str, Any]) -> None:
        self._redraw()

    def _card(self, row: dict[str, Any]) -> widgets.VBox:
        sample = self._find(row["sample"])
        image = widgets.Image(value=thumbnail(sample), format="png")
        roi = row["roi"] or ["?"] * 4
        flags = ", ".join(row["qc_flags"]) or "ok"
        caption = widgets.HTML(
            "<div style='font-size:11px;line-height:1.2'>"
            f"<b>{html.escape(row['sample'])}</b><br>"
            f"{html.escape(self._position_of(row))} · frame {row['frame']} · "
            f"rows {roi[0]}-{roi[1]} cols {roi[2]}-{roi[3]}<br>"
            f"{row['n_labels']} object(s) · QC: {html.escape(flags)}"
            + (" · <span style='color:#c00'>excluded</span>" if row["excluded"] else "")
            + "</div>"
        )
        toggle = widgets.Button(
            description="include" if row["excluded"] else "exclude", layout={"width": "80px"}
        )
        opener = widgets.Button(description="open", layout={"width": "60px"})
        name = row["sample"]
        toggle.on_click(lambda _b: self.exclude(name, not row["excluded"]))
        opener.on_click(lambda _b: self.open_sample(name))
        return widgets.VBox([image, caption, widgets.HBox([toggle, opener])])

    def _redraw(self) -> None:
        rows = self.rows
        self.cards.children = [self._card(row) for row in rows]
        cov = self.coverage
        self.coverage_image.value = encode_png(coverage_picture(cov))
        missing = cov["frames_not_sampled"]
        shown = ", ".join(map(str, missing[:30])) + (" ..." if len(missing) > 30 else "")
        lines = [
            ("samples", str(cov["n_samples"])),
            ("frames sampled", ", ".join(f"{t} ({n})" for t, n in cov["frames"].items()) or "-"),
            ("frames not sampled", shown or "-"),
            ("positions", ", ".join(f"{p} ({n})" for p, n in cov["positions"].items()) or "-"),
            (
                "regions not sampled",
                f"{len(cov['regions_not_sampled'])} of {self.grid * self.grid}",
            ),
        ]
        self.coverage_table.value = (
            "<table>"
            + "".join(
                f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in lines
            )
            + "</table>"
        )
        self.status.value = f"{len(rows)} of {len(self._samples)} sample(s) shown"
