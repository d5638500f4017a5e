"""Assisted tools (issue 11): click-to-segment, wand, split, merge, polygon, morphology, copy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from segpaint.ops import (
    LABEL_DTYPE,
    BBox,
    bbox_slices,
    check_bbox,
    check_label,
    next_label,
    tight_bbox,
)
from segpaint.session._edits import _EditsMixin
from segpaint.session._types import ROI, Change

_T = TypeVar("_T")


class _AssistMixin(_EditsMixin):
    """Assisted tools (issue 11): click-to-segment, wand, split, merge, polygon, morphology, copy."""

    # ------------------------------------------------------- assisted tools (issue 11)
    # Kernels live in segpaint.ops.assist (imported here, not at the top, so that this block
    # stays one contiguous piece of the file).
    _ASSIST_PARAMS = ("sigma", "h", "level", "max_half", "refine")

    def _channels_key(self, channels: Sequence[int | str] | None) -> tuple[int, ...]:
        """The indices of ``channels`` (default: all), a cache key for what they show."""
        picked = range(self.n_channels) if channels is None else channels
        return tuple(self._channel_index(c) for c in picked)

    def _memo(self, name: str, key: Any, make: Callable[[], _T], *, most: int) -> _T:
        """``make()`` once per ``key`` in the session's small cache ``name`` (frames never
        change); past ``most`` entries the oldest is dropped."""
        cache: dict[Any, Any] = self.__dict__.setdefault(name, {})
        if key not in cache:
            while len(cache) >= most:
                cache.pop(next(iter(cache)))
            cache[key] = make()
        value: _T = cache[key]
        return value

    def _assist_channels(
        self, t: int, channels: Sequence[int | str] | None, limits: Sequence[Sequence[float]] | None
    ) -> tuple[npt.NDArray[Any], list[tuple[float, float]]]:
        """The chosen channels of frame ``t`` and their contrast limits (given or default)."""
        from segpaint.ops.assist import _check_limits, default_limits

        if channels is not None and (isinstance(channels, str | int) or not len(channels)):
            raise TypeError(
                f"channels: expected a non-empty list of channel names or indices, got "
                f"{channels!r}; e.g. channels=[{self._channel_names[0]!r}]"
            )
        image = self.image(t)
        if channels is not None:
            picked = [self._channel_index(c) for c in channels]
            if picked == list(range(picked[0], picked[0] + len(picked))):
                # a run of channels (one, most often): a view of the frame, read-only as it
                # is with every channel, not a copy of it (8 MB at 2048x2048 uint16: ~1 ms)
                image = image[picked[0] : picked[0] + len(picked)]
            else:
                image = image[picked]
        if limits is None:
            # frames never change, so their percentiles are computed once per channel set
            key = (t, self._channels_key(channels))
            return image, self._memo("_assist_limits", key, lambda: default_limits(image), most=32)
        # the kernels' own check: one rule and one message for limits, whoever is called
        pairs = _check_limits(limits, image.shape[0])
        assert pairs is not None
        return image, pairs

    def _assist_commit(
        self,
        population: str,
        t: int,
        bbox: BBox,
        values: npt.NDArray[np.uint32] | int,
        mask: npt.NDArray[np.bool_] | None,
        *,
        clip: BBox | None,
        preserve_label: int | None = None,
    ) -> Change | None:
        """Commit ``values`` where ``mask`` (everywhere in ``bbox`` when None: an array of
        values then changes only the pixels it differs in), never outside ``clip``; one undo
        step. With ``preserve_label`` set, pixels of any other label than it (and 0) are kept.
        """
        if clip is not None:
            box = (
                max(bbox[0], clip[0]),
                min(bbox[1], clip[1]),
                max(bbox[2], clip[2]),
                min(bbox[3], clip[3]),
            )
            if box[0] >= box[1] or box[2] >= box[3]:
                return None
            inner = (box[0] - bbox[0], box[1] - bbox[0], box[2] - bbox[2], box[3] - bbox[2])
            if mask is not None:
                mask = mask[bbox_slices(inner)]
            if isinstance(values, np.ndarray):
                values = values[bbox_slices(inner)]
            bbox = box
        if preserve_label is not None:
            current = self._pop(population).view(t)[bbox_slices(bbox)]
            keep = (current == 0) | (current == preserve_label)
            mask = keep if mask is None else mask & keep
        if mask is not None and not mask.any():
            return None
        return self._commit(population, t, bbox, values, mask)

    def _new_labels(self, population: str, n: int) -> list[int]:
        first = self.new_label(population)
        last = next_label(first + n - 2) if n > 1 else first
        return list(range(first, last + 1))

    def segment_at(
        self,
        population: str,
        frame: int,
        point: Sequence[float],
        *,
        label: int | None = None,
        channels: Sequence[int | str] | None = None,
        roi: ROI | Sequence[int] | None = None,
        preserve_labels: bool = True,
        method: str = "auto",
        limits: Sequence[Sequence[float]] | None = None,
        positive: Sequence[Sequence[float]] = (),
        negative: Sequence[Sequence[float]] = (),
        **params: Any,
    ) -> Change | None:
        """Click inside a cell the pre-segmentation missed: that one cell becomes a label.

        ``method="auto"`` runs `segpaint.ops.region_at` (a local threshold between the
        window's background and the clicked object, in a window that grows with the object,
        then a distance watershed that cuts touching neighbours off).  Any other ``method``
        is a name `segpaint.segment.segment` knows (``"threshold"``, ``"CP_cyto3"``,
        ``"SD_versatile_fluo"``, a model folder ...): it runs on a crop of ``2 * window`` px
        around the click (``window=128`` by default) and the object under the click is kept.

        Parameters
        ----------
        population, frame
            Which labels to edit.
        point : (row, col)
            The click, inside the cell.
        label : int, optional
            Label to give the cell (default: `new_label`).  An existing label is re-segmented:
            its old pixels outside the new region (inside ``roi``) are cleared, so refining
            with more clicks is one undo step each.
        channels : sequence of int or str, optional
            Channels to look at (default: all); their contrast-normalised mean is used.
        roi : ROI or (row0, row1, col0, col1), optional
            The cell never leaves it; nothing outside it changes.
        preserve_labels : bool
            Never take pixels of other cells (default True).
        method : str
            ``"auto"`` (classical, no model) or a `segpaint.segment.segment` method; where the
            method finds no object under ``point``, the classical object is taken.
        limits : sequence of (low, high), optional
            Contrast limits per chosen channel (the display contrast); default percentiles.
        positive, negative : sequence of (row, col)
            Refinement clicks: more of this cell / not this cell.  With a model, its object
            under ``point`` is corrected by them as `segpaint.ops.assist.refine_region` does; each
            click's pixel ends on its side unless it belongs to another cell.
        **params
            ``method="auto"``: ``sigma``, ``h``, ``level``, ``max_half``, ``refine`` (see
            `region_at`).
            Otherwise ``window`` and the method's own parameters.

        Returns
        -------
        Change or None
            None when the click found nothing (background) or nothing changed.
        """
        from segpaint.ops.assist import refine_region, region_at

        t = self.stack.check_frame(frame)
        clip = self._roi_box(roi, t)
        value = self.new_label(population) if label is None else check_label(label)
        if value == 0:
            raise ValueError("label: 0 is the background; pass label=None for a new label")
        image, pairs = self._assist_channels(t, channels, limits)
        current = self._pop(population).view(t)
        hit: tuple[BBox, npt.NDArray[np.bool_]] | None
        if method == "auto":
            unknown = sorted(set(params) - set(self._ASSIST_PARAMS))
            if unknown:
                raise TypeError(
                    f"segment_at: unknown parameter(s) {unknown} for method='auto'; check the "
                    f"spelling, known ones are {list(self._ASSIST_PARAMS)}"
                )
            hit = region_at(
                image,
                point,
                positive=positive,
                negative=negative,
                limits=pairs,
                labels=current if preserve_labels else None,
                label=value,
                clip=clip,
                **params,
            )
        else:
            key = self._channels_key(channels)
            hit = self._segment_crop(t, point, image, method, clip=clip, channels_key=key, **params)
            others = current if preserve_labels else None
            if hit is None:
                # the method sees no cell under the click: the classical object (a click on a
                # cell the model missed still makes that cell)
                hit = region_at(image, point, limits=pairs, labels=others, label=value,
                                clip=clip)  # fmt: skip
            if positive or negative:
                # the object is the start; the clicks correct it as region_at's refinement does
                hit = refine_region(image, hit, point, positive=positive, negative=negative,
                                    limits=pairs, labels=others, label=value, clip=clip)  # fmt: skip
        if hit is None:
            return None
        bbox, mask = hit
        old_cell = current == value if label is not None else None
        if old_cell is not None and old_cell.any():
            # re-segmenting an existing cell: clear its old pixels that the new region drops
            old_box, _ = tight_bbox(old_cell)
            whole = (
                min(bbox[0], old_box[0]),
                max(bbox[1], old_box[1]),
                min(bbox[2], old_box[2]),
                max(bbox[3], old_box[3]),
            )
            new = np.zeros((whole[1] - whole[0], whole[3] - whole[2]), bool)
            new[
                bbox[0] - whole[0] : bbox[1] - whole[0], bbox[2] - whole[2] : bbox[3] - whole[2]
            ] = mask
            region = current[bbox_slices(whole)]
            values = np.where(new, value, np.where(region == value, 0, region)).astype(LABEL_DTYPE)
            write = new | (region == value)
            if preserve_labels:
                write &= (region == 0) | (region == value)
            return self._assist_commit(population, t, whole, values, write, clip=clip)
        return self._assist_commit(
            population,
            t,
            bbox,
            value,
            mask,
            clip=clip,
            preserve_label=value if preserve_labels else None,
        )

    def _segment_crop(
        self,
        t: int,
        point: Sequence[float],
        image: npt.NDArray[Any],
        method: str,
        *,
        clip: BBox | None,
        channels_key: tuple[int, ...] = (),
        window: int = 128,
        **params: Any,
    ) -> tuple[BBox, npt.NDArray[np.bool_]] | None:
        """Run a segmentation method on a crop around ``point``; the object under it.

        A model sees the crop scaled as the whole frame would be (`frame_normalization`,
        unless ``normalization_percentile``/``normalization_values`` are given).  The crop's
        instances are kept (a few crops per session, keyed by frame, channels, crop box,
        method and its folder's identity, parameters): refinement clicks on the same click
        run the model once.
        """
        import os

        from segpaint.segment import frame_normalization, segment

        if isinstance(window, bool) or not isinstance(window, int) or not 16 <= window <= 1024:
            raise ValueError(f"window: expected an integer from 16 to 1024 px, got {window!r}")
        try:
            r, c = (int(np.floor(float(v) + 0.5)) for v in point)
        except (TypeError, ValueError) as err:
            raise TypeError(f"point: expected a (row, col) pair, got {point!r}") from err
        lim = clip if clip is not None else (0, self.frame_shape[0], 0, self.frame_shape[1])
        if not (lim[0] <= r < lim[1] and lim[2] <= c < lim[3]):
            raise ValueError(f"point: {(r, c)} is outside the image or the ROI {lim}")
        box = (
            max(lim[0], r - window),
            min(lim[1], r + window),
            max(lim[2], c - window),
            min(lim[3], c + window),
        )
        try:
            st = os.stat(method)
            stamp: tuple[int, int] | None = (st.st_ino, st.st_mtime_ns)
        except (OSError, ValueError):
            stamp = None  # a method name, not a path
        key = (t, channels_key, box, method, stamp, self.pixel_size_um,
               repr(sorted(params.items())))  # fmt: skip

        def run() -> npt.NDArray[Any]:
            given = params
            if "normalization_percentile" not in given and "normalization_values" not in given:
                # the crop scaled as the whole frame is (the model saw whole samples)
                norm = self._memo("_model_norms", (t, channels_key, method, stamp),
                                  lambda: frame_normalization(image, method), most=8)  # fmt: skip
                if norm is not None:
                    given = {**given, "normalization_values": norm}
            crop = image[:, box[0] : box[1], box[2] : box[3]]
            found: npt.NDArray[Any] = segment(crop, method, pixel_size_um=self.pixel_size_um,
                                              **given)  # fmt: skip
            return found

        found = self._memo("_model_crops", key, run, most=8)
        hit = int(found[r - box[0], c - box[2]])
        if hit == 0:
            return None
        return tight_bbox(found == hit, offset=(box[0], box[2]))

    def wand(
        self,
        population: str,
        frame: int,
        point: Sequence[float],
        tolerance: float,
        *,
        label: int,
        channels: Sequence[int | str] | None = None,
        roi: ROI | Sequence[int] | None = None,
        preserve_labels: bool = False,
        limits: Sequence[Sequence[float]] | None = None,
    ) -> Change | None:
        """Magic wand: paint ``label`` on the 4-connected region of similar intensity.

        The rule is `segpaint.ops.wand_mask` (documented in docs/architecture.md so that the
        browser's wand gives the same pixels): channels normalised by ``limits`` (the display
        contrast; default percentiles 1-99.8), averaged, then every 4-connected pixel with
        ``abs(v - v[seed]) <= tolerance``.

        Parameters
        ----------
        point : (row, col)
            The seed.
        tolerance : float
            0..1, in normalised intensity.
        label : int
            Label to paint (0 erases the region).
        channels, roi, limits
            As in `segment_at`; the region never leaves ``roi``.
        preserve_labels : bool
            Only paint over background (and ``label`` itself).
        """
        from segpaint.ops.assist import wand_mask

        t = self.stack.check_frame(frame)
        value = check_label(label)
        clip = self._roi_box(roi, t)
        image, pairs = self._assist_channels(t, channels, limits)
        bbox, mask = wand_mask(image, point, tolerance, limits=pairs, clip=clip)
        return self._assist_commit(
            population,
            t,
            bbox,
            value,
            mask,
            clip=clip,
            preserve_label=value if preserve_labels else None,
        )

    def split(
        self,
        population: str,
        frame: int,
        label: int,
        seeds: Sequence[Any] | npt.NDArray[Any],
        *,
        channels: Sequence[int | str] | None = None,
        limits: Sequence[Sequence[float]] | None = None,
        roi: ROI | Sequence[int] | None = None,
    ) -> Change | None:
        """Split one cell by a seeded watershed; every part but the first gets a new label.

        Parameters
        ----------
        label : int
            The cell to split.
        seeds : sequence
            One entry per part, at least two: a click ``(row, col)`` or a drawn line
            ``[(row, col), ...]`` (its pixels are that part's seed).
        channels : sequence of int or str, optional
            When given, the watershed follows the intensity edges of these channels;
            otherwise it cuts the cell's shape at its necks (distance transform).
        limits, roi
            As in `segment_at`.  Pixels outside ``roi`` keep ``label``.

        Returns
        -------
        Change or None
            The part of ``seeds[0]`` keeps ``label``; the others get labels from `new_label`
            in order.
        """
        from segpaint.ops.assist import split_label

        t = self.stack.check_frame(frame)
        value = check_label(label)
        clip = self._roi_box(roi, t)
        try:
            strokes = [
                [s] if np.ndim(s) == 1 else s
                for s in (seeds.tolist() if isinstance(seeds, np.ndarray) else seeds)
            ]
        except TypeError as err:
            raise TypeError(
                f"seeds: expected a list of clicks (row, col) or lines [(row, col), ...], got {seeds!r}"
            ) from err
        current = self._pop(population).view(t)
        image = None
        if channels is not None:
            image, pairs = self._assist_channels(t, channels, limits)
        else:
            pairs = None
        box, parts = split_label(current, value, strokes, image=image, limits=pairs)
        n = len(strokes)
        new_ids = self._new_labels(population, n - 1)
        lut = np.array([0, value, *new_ids], dtype=LABEL_DTYPE)
        values = lut[parts]
        mask = parts > 0
        return self._assist_commit(population, t, box, values, mask, clip=clip)

    def cut(
        self,
        population: str,
        frame: int,
        line: npt.ArrayLike,
        *,
        roi: ROI | Sequence[int] | None = None,
    ) -> Change | None:
        """Cut a cell in two (or more) exactly along a drawn line, from one side to the other.

        What a Shift-drag with the split tool does in the widget: the cell the line crosses
        most is cut along the line (a one-pixel-wide polyline, 8-connected, so the parts on
        either side never touch through it); the largest part keeps the cell's label, every
        other part of 3 px or more gets a new label (`new_label`), and the line's own pixels
        (and smaller crumbs) go to the part nearest them.  Unlike `split` no image is looked
        at: the cut is where the line is.  One undo step.

        Parameters
        ----------
        population, frame
            Which labels to edit.
        line : array_like, shape (n, 2)
            The polyline's ``(row, col)`` vertices, two or more, inside the frame.
        roi : ROI or (row0, row1, col0, col1), optional
            Pixels outside it keep their label (the ROI lock).

        Returns
        -------
        Change or None
            None when nothing changed.

        Raises
        ------
        ValueError
            When the line crosses no cell, or does not cut the cell it crosses most in two.

        Examples
        --------
        >>> import segpaint
        >>> s = segpaint.open(np.zeros((6, 9)), axes="YX", populations=["cells"])
        >>> lab = np.zeros((6, 9), np.uint32); lab[1:5, 1:8] = 3
        >>> _ = s.set_labels("cells", 0, lab)
        >>> _ = s.cut("cells", 0, [(0, 4), (5, 4)])
        >>> print(s.labels("cells", 0)[2])
        [0 3 3 3 3 4 4 4 0]
        """
        from scipy import ndimage as ndi

        from segpaint.ops import stroke_mask

        t = self.stack.check_frame(frame)
        clip = self._roi_box(roi, t)
        try:
            vertices = np.asarray(line, dtype=float)
        except (TypeError, ValueError) as err:
            raise TypeError(f"line: expected (row, col) vertices, got {line!r}") from err
        if vertices.ndim != 2 or vertices.shape[1] != 2 or len(vertices) < 2:
            raise ValueError(
                f"line: expected two or more (row, col) vertices, shape (n, 2), got shape "
                f"{vertices.shape}; draw the cut across the cell"
            )
        h, w = self.frame_shape
        hit = stroke_mask((h, w), vertices, 0.5)
        current = self._pop(population).view(t)
        if hit is None:
            raise ValueError(f"line: {vertices.tolist()} is outside the {h}x{w} frame")
        box, on = hit
        crossed = current[bbox_slices(box)][on]
        values, counts = np.unique(crossed[crossed != 0], return_counts=True)
        if not values.size:
            raise ValueError("line: it crosses no cell; draw the cut across the cell to cut")
        value = int(values[np.argmax(counts)])
        cell = current == value
        cell_box, _ = tight_bbox(cell)
        sub = cell[bbox_slices(cell_box)]
        cut_line = np.zeros_like(sub)
        r0, r1 = max(box[0], cell_box[0]), min(box[1], cell_box[1])
        c0, c1 = max(box[2], cell_box[2]), min(box[3], cell_box[3])
        if r0 < r1 and c0 < c1:
            cut_line[r0 - cell_box[0] : r1 - cell_box[0], c0 - cell_box[2] : c1 - cell_box[2]] = on[
                r0 - box[0] : r1 - box[0], c0 - box[2] : c1 - box[2]
            ]
        parts, _ = ndi.label(sub & ~cut_line)  # 4-connected: nothing crosses the line
        sizes = np.bincount(parts.ravel())
        sizes[0] = 0
        kept = [k for k in np.argsort(-sizes) if k and sizes[k] >= 3]
        if len(kept) < 2:
            raise ValueError(
                f"line: it does not cut cell {value} in two; draw it across the whole cell, "
                "from background to background"
            )
        # the line's pixels and crumbs go to the nearest kept part
        seeds = np.where(np.isin(parts, kept), parts, 0)
        _, (rr, cc) = ndi.distance_transform_edt(seeds == 0, return_indices=True)
        nearest = seeds[rr, cc]
        new_ids = self._new_labels(population, len(kept) - 1)
        table = np.zeros(int(parts.max()) + 1, LABEL_DTYPE)
        table[kept[0]] = value
        for k, v in zip(kept[1:], new_ids, strict=True):
            table[k] = v
        values_out = np.where(sub, table[nearest], current[bbox_slices(cell_box)])
        return self._assist_commit(
            population, t, cell_box, values_out.astype(LABEL_DTYPE), sub, clip=clip
        )

    def merge(
        self,
        population: str,
        frame: int,
        labels: Sequence[int],
        *,
        roi: ROI | Sequence[int] | None = None,
    ) -> Change | None:
        """Merge cells into one: the smallest of ``labels`` keeps the union, the others are freed.

        Parameters
        ----------
        labels : sequence of int
            Two or more labels present in the frame.
        roi
            Pixels outside it keep their label.
        """
        t = self.stack.check_frame(frame)
        clip = self._roi_box(roi, t)
        try:
            ids = sorted({check_label(v, name="labels") for v in labels})
        except TypeError as err:
            raise TypeError(f"labels: expected a list of label values, got {labels!r}") from err
        if 0 in ids or len(ids) < 2:
            raise ValueError(
                f"labels: need at least two different non-zero labels to merge, got {labels!r}"
            )
        current = self._pop(population).view(t)
        members = np.isin(current, ids)
        present = set(np.unique(current[members]).tolist())
        missing = [v for v in ids if v not in present]
        if missing:
            raise ValueError(
                f"labels: {missing} not in frame {t} of {population!r}; pick labels that exist"
            )
        bbox, mask = tight_bbox(members)
        return self._assist_commit(population, t, bbox, ids[0], mask, clip=clip)

    def polygon(
        self,
        population: str,
        frame: int,
        vertices: npt.ArrayLike,
        label: int,
        *,
        roi: ROI | Sequence[int] | None = None,
        preserve_labels: bool = False,
    ) -> Change | None:
        """Fill a lasso / polygon outline (``(row, col)`` vertices, closed) with ``label``.

        The outline pixels belong to the polygon (`segpaint.ops.polygon_mask`); with
        ``preserve_labels`` only background (and ``label``) pixels are painted.
        """
        from segpaint.ops.assist import polygon_mask

        t = self.stack.check_frame(frame)
        value = check_label(label)
        clip = self._roi_box(roi, t)
        hit = polygon_mask(self.frame_shape, vertices, clip=clip)
        if hit is None:
            return None
        bbox, mask = hit
        return self._assist_commit(
            population,
            t,
            bbox,
            value,
            mask,
            clip=clip,
            preserve_label=value if preserve_labels else None,
        )

    def morph(
        self,
        population: str,
        frame: int,
        label: int | None,
        op: str,
        *,
        radius: int = 1,
        min_size: int = 0,
        max_size: int | None = None,
        roi: ROI | Sequence[int] | None = None,
    ) -> Change | None:
        """Per-cell morphology: ``fill_holes``, ``grow``, ``shrink``, ``smooth``, ``remove_specks``.

        See `segpaint.ops.morph_labels` for each operation; growing never overwrites another
        cell.  ``label=None`` applies it to every cell of the frame, or of ``roi`` when given
        (then only the ROI is looked at and changed).

        Parameters
        ----------
        population, frame
            Which labels to edit (only that frame of that population changes).
        label : int or None
            The cell, or None for every cell (of ``roi`` when given).
        op : str
            One of `segpaint.ops.MORPH_OPS`.
        radius : int
            Pixels to grow / shrink by, or the smoothing disk's radius.
        min_size : int
            ``remove_specks``: cells with fewer pixels are deleted (0: none).
        max_size : int, optional
            ``remove_specks`` on every cell (``label=None``): cells with more pixels (after
            their specks are removed, counted inside ``roi`` when given) are deleted too, e.g.
            the larger nuclei of another population.  None: none.
        roi : ROI or (row0, row1, col0, col1), optional
            Nothing outside it changes (the ROI lock).

        Returns
        -------
        Change or None
            One undo step; None when nothing changed.

        Examples
        --------
        >>> import segpaint
        >>> s = segpaint.open(np.zeros((10, 10)), axes="YX", populations=["cells"])
        >>> lab = np.zeros((10, 10), np.uint32); lab[0, 0] = 1; lab[2:4, 2:4] = 2; lab[5:10, 5:10] = 3
        >>> _ = s.set_labels("cells", 0, lab)
        >>> _ = s.morph("cells", 0, None, "remove_specks", min_size=2, max_size=20)
        >>> np.unique(s.labels("cells", 0)).tolist()
        [0, 2]
        """
        from segpaint.ops import _morph_all
        from segpaint.ops.assist import MORPH_OPS, morph_labels

        t = self.stack.check_frame(frame)
        clip = self._roi_box(roi, t)
        if op not in MORPH_OPS:
            raise ValueError(f"op: unknown operation {op!r}; choose one of {list(MORPH_OPS)}")
        if max_size is not None:
            if isinstance(max_size, bool) or not isinstance(max_size, int | np.integer):
                raise TypeError(f"max_size: expected an integer number of pixels, got {max_size!r}")
            if max_size < 1:
                raise ValueError(
                    f"max_size: expected at least 1 pixel (None: no limit), got {max_size}"
                )
            if op != "remove_specks" or label is not None:
                raise ValueError(
                    f"max_size: deletes large cells only with op='remove_specks' on every cell "
                    f"(label=None), got op={op!r}, label={label!r}; pass max_size=None"
                )
        value = None if label is None else check_label(label)
        # The lock is held from the read to the commit (as refine and copy_labels do): the commit
        # writes every pixel of the window where the result differs from the frame, so a stroke
        # made in between (another thread) would be undone by older values; it waits instead.
        with self._lock:
            current = self._pop(population).view(t)
            h, w = self.frame_shape
            if value is not None:
                cell = current == value
                if not cell.any():
                    raise ValueError(
                        f"label: {value} is not in frame {t} of {population!r}; "
                        "pick a label that exists"
                    )
                box, _ = tight_bbox(cell)
                reach = (radius if isinstance(radius, int) else 1) + 2
                window = (
                    max(box[0] - reach, 0),
                    min(box[1] + reach, h),
                    max(box[2] - reach, 0),
                    min(box[3] + reach, w),
                )
            else:
                window = clip if clip is not None else (0, h, 0, w)
            region = current[bbox_slices(window)]
            if value is None and max_size is None:
                # every cell: the kernel lists the pixels it changes, and only those are committed
                # (the same undo step and journal record as a commit of the whole new window);
                # under the lock the old values are known
                _morph_all.check_morph_args(radius, min_size)
                idx, values = _morph_all.changes(
                    np.ascontiguousarray(region), op, radius=int(radius), min_size=int(min_size)
                )
                if idx.size == 0:
                    return None
                # grow and fill_holes give labels to background only: no gather of old values
                old = np.zeros(idx.size, np.uint32) if op in ("grow", "fill_holes") else None
                return self._commit_changes(population, t, window, idx, values, old=old)
            new = morph_labels(region, op, label=value, radius=radius, min_size=min_size)
            if max_size is not None and new.size:
                top = int(new.max())
                if top <= 4 * new.size + 4096:  # tables indexed by the label: one pass each
                    counts = np.bincount(new.ravel(), minlength=top + 1)
                    counts[0] = 0
                    if (counts > max_size).any():
                        keep = np.arange(top + 1, dtype=new.dtype)
                        keep[counts > max_size] = 0
                        new = keep[new]
                else:
                    ids, sizes = np.unique(new, return_counts=True)
                    big = ids[(sizes > max_size) & (ids != 0)]
                    if big.size:
                        new = np.where(np.isin(new, big), 0, new).astype(new.dtype)
            # no mask: the commit writes (and records) only the pixels where `new` differs
            return self._assist_commit(population, t, window, new, None, clip=clip)

    def refine(
        self,
        population: str,
        frame: int,
        *,
        label: int | None = None,
        channels: Sequence[int | str] | None = None,
        roi: ROI | Sequence[int] | None = None,
        limits: Sequence[Sequence[float]] | None = None,
        radius: int | None = None,
    ) -> Change | None:
        """Snap outlines to the image: every cell's outline moves to the edge near it.

        One call fixes the boundaries of every cell of the frame (or of ``roi``), one undo
        step.  The rule is `segpaint.ops.refine.refine_outlines`: in a band of ``radius`` px
        around each cell/background border, a pixel belongs to the cell when it is at least as
        bright as the cell's own edge level (the intensity where the image changes most
        around that cell); background that joins a cell must touch it.  Borders between two
        cells never move, no cell takes another's pixels, a cell with no edge near it (or that
        would lose most of its outline) stays as it is.  Bright cells on a darker background.

        Parameters
        ----------
        population, frame
            Which labels to edit (only that frame of that population changes).
        label : int, optional
            Only this cell (default: every cell).
        channels : sequence of int or str, optional
            Channels to look at (default: all); their contrast-normalised mean is used.
        roi : ROI or (row0, row1, col0, col1), optional
            Only this box is looked at and changed (the ROI lock).
        limits : sequence of (low, high), optional
            Contrast limits per chosen channel (the display contrast); default percentiles.
        radius : int, optional
            How far an outline may move, in px (default
            `segpaint.ops.refine.REFINE_RADIUS`).

        Returns
        -------
        Change or None
            None when no outline moved.

        Examples
        --------
        >>> import segpaint
        >>> yy, xx = np.mgrid[:40, :40]; d2 = (yy - 20) ** 2 + (xx - 20) ** 2
        >>> s = segpaint.open((d2 <= 100) * 100.0, axes="YX", populations=["cells"])
        >>> _ = s.set_labels("cells", 0, (d2 <= 64).astype(np.uint32))
        >>> _ = s.refine("cells", 0)
        >>> int((s.labels("cells", 0) == 1).sum()), int((d2 <= 100).sum())
        (317, 317)
        """
        from segpaint.ops.refine import REFINE_RADIUS, refine_changes

        t = self.stack.check_frame(frame)
        clip = self._roi_box(roi, t)
        value = None if label is None else check_label(label)
        if value == 0:
            raise ValueError("label: 0 is the background; pass label=None for every cell")
        image, pairs = self._assist_channels(t, channels, limits)
        # The lock is held from the read to the commit: the commit writes the pixels the
        # kernel changed with the values it read, so a stroke made in between (another
        # thread) would be undone by the refine's older values; it waits instead.
        with self._lock:
            current = self._pop(population).view(t)
            if value is not None and not (current == value).any():
                raise ValueError(
                    f"label: {value} is not in frame {t} of {population!r}; "
                    "pick a label that exists"
                )
            found = refine_changes(
                image,
                current,
                limits=pairs,
                label=value,
                clip=clip,
                radius=REFINE_RADIUS if radius is None else radius,
            )
            if found is None or found[1].size == 0:
                return None
            # the kernel lists the pixels it changes (inside `clip`, the window it looked
            # at) and their values read under this lock: the same undo step, journal record
            # and event as a commit of the whole new window, at the cost of the change
            window, flat, values, old = found
            return self._commit_changes(population, t, window, flat, values, old=old)

    def copy_labels(
        self,
        population: str,
        source_frame: int,
        frame: int,
        *,
        roi: ROI | Sequence[int] | None = None,
        mode: str = "fill-empty",
        min_iou: float = 0.5,
    ) -> Change | None:
        """Bring another frame's masks into this one, keeping each cell's identity.

        A source cell that overlaps a cell of ``frame`` with IoU >= ``min_iou`` is the same
        cell: it takes that cell's label.  Other source cells keep their own label when it is
        free in ``frame``, else get a new one (`new_label`), so labels stay unique.

        Parameters
        ----------
        source_frame, frame : int
            Copy from, copy to (only ``frame`` changes).
        roi : ROI or (row0, row1, col0, col1), optional
            Only this box is copied and matched.
        mode : {"fill-empty", "replace"}
            ``"fill-empty"``: add the source cells that have no match, only on background
            pixels.  ``"replace"``: the box becomes the source's masks (relabelled as above).
        min_iou : float
            Overlap that makes two masks the same cell.
        """
        from segpaint.ops.assist import _match_and_count, label_values

        t = self.stack.check_frame(frame)
        s = self.stack.check_frame(source_frame)
        if mode not in ("fill-empty", "replace"):
            raise ValueError(f"mode: expected 'fill-empty' or 'replace', got {mode!r}")
        if s == t:
            raise ValueError(f"source_frame: {s} is the frame being edited; pick another frame")
        clip = self._roi_box(roi, t)
        h, w = self.frame_shape
        box = clip if clip is not None else (0, h, 0, w)
        pop = self._pop(population)
        with self._lock:
            target_all = pop.view(t)
            src = pop.view(s)[bbox_slices(box)]
            tgt = target_all[bbox_slices(box)]
            pairs, src_ids_arr, tgt_ids, runs = _match_and_count(src, tgt, min_iou=min_iou)
            whole = box == (0, h, 0, w)
            used = tgt_ids if whole else label_values(target_all)  # sorted
            # each source label's new value (sorted arrays, no loop over the labels): its
            # match; a new label (in order) when taken in the target; else itself
            ids = np.asarray(src_ids_arr, np.int64)
            matched = np.fromiter(pairs, np.int64, len(pairs))
            order = np.argsort(matched)
            paired = np.isin(ids, matched, assume_unique=True)
            taken = np.isin(ids, used, assume_unique=True) & ~paired
            mapped_ids = ids.copy()
            targets = np.fromiter(pairs.values(), np.int64, len(pairs))[order]
            mapped_ids[paired] = targets[np.searchsorted(matched[order], ids[paired])]
            n_fresh = int(np.count_nonzero(taken))
            if n_fresh:
                mapped_ids[taken] = self._new_labels(population, n_fresh)[:n_fresh]
            keys = np.concatenate([np.zeros(1, np.int64), ids])
            vals = np.concatenate([np.zeros(1, np.int64), mapped_ids]).astype(LABEL_DTYPE)
            loose = np.concatenate([np.zeros(1, bool), ~paired])
            if runs is not None:
                # the runs of one (source, target) pair: map each run, then spread the runs
                (ss, tt), lengths = runs
                if keys[-1] <= 4 * ss.size + 4096:  # tables indexed by the label
                    top = int(keys[-1]) + 1
                    table = np.zeros(top, LABEL_DTYPE)
                    table[keys] = vals
                    run_new = table[ss]
                    if mode == "fill-empty":
                        free = np.zeros(top, bool)
                        free[keys] = loose
                        run_loose = free[ss]
                else:  # same dtype on both sides: numpy's fast search
                    at = np.searchsorted(keys, ss.astype(keys.dtype))
                    run_new = vals[at]
                    run_loose = loose[at]
                # the runs whose pixels change, spread into their positions: the commit
                # records those only (the same step as comparing the whole mapped box)
                if mode == "fill-empty":
                    change = run_loose & (tt == 0) & (run_new != 0)
                else:
                    change = run_new != tt
                pick = np.flatnonzero(change)
                length = lengths[pick]
                first = np.cumsum(lengths) - lengths
                inner = np.cumsum(length) - length
                flat = np.repeat(first[pick] - inner, length) + np.arange(int(length.sum()))
                values = np.repeat(run_new[pick], length)
                before = np.repeat(tt[pick], length)  # read under this lock hold: no gather
                return self._commit_changes(population, t, box, flat, values, old=before)
            mask: npt.NDArray[np.bool_] | None
            if keys[-1] <= 4 * src.size + 4096:
                # tables indexed by the label: one gather each, no index array
                table = np.zeros(int(keys[-1]) + 1, LABEL_DTYPE)
                table[keys] = vals
                mapped = table[src]
                mask = None
                if mode == "fill-empty":
                    add = np.zeros(int(keys[-1]) + 1, bool)
                    add[keys] = loose
                    mask = add[src] & (tgt == 0)
            else:
                index = np.searchsorted(keys, src)
                mapped = vals[index]
                mask = None if mode == "replace" else loose[index] & (tgt == 0)
            return self._assist_commit(population, t, box, mapped, mask, clip=None)

    def delete_in_box(
        self,
        population: str,
        frame: int,
        bbox: Sequence[int],
        *,
        min_fraction: float = 0.5,
        roi: ROI | Sequence[int] | None = None,
    ) -> Change | None:
        """Delete every cell with at least ``min_fraction`` of its pixels inside ``bbox``.

        The whole cell is deleted (not only its part inside the box), except pixels outside
        ``roi`` when one is given.
        """
        from segpaint.ops.assist import cells_in_box

        t = self.stack.check_frame(frame)
        box = check_bbox(bbox, self.frame_shape, name="bbox")
        clip = self._roi_box(roi, t)
        current = self._pop(population).view(t)
        hit = cells_in_box(current, box, min_fraction=min_fraction)
        if hit is None:
            return None
        whole, mask = hit
        return self._assist_commit(population, t, whole, 0, mask, clip=clip)

    def delete_label(
        self,
        population: str,
        frame: int,
        label: int,
        *,
        roi: ROI | Sequence[int] | None = None,
    ) -> Change | None:
        """Delete one cell: every pixel of ``label`` in ``frame`` becomes background (0).

        What Ctrl+click (Cmd+click) on a cell does in the widget, whatever tool is active (the
        chord Cellpose's GUI uses to delete a mask).  One undo step; no other frame, population
        or label changes.

        Parameters
        ----------
        population, frame
            Which labels to edit.
        label : int
            The cell to delete (not 0, and present in the frame).
        roi : ROI or (row0, row1, col0, col1), optional
            Only the cell's pixels inside it are deleted (the ROI lock); the rest keep
            ``label``.

        Returns
        -------
        Change or None
            None when ``roi`` holds no pixel of the cell.

        Examples
        --------
        >>> import segpaint
        >>> s = segpaint.open(np.zeros((8, 8)), axes="YX", populations=["cells"])
        >>> lab = np.zeros((8, 8), np.uint32); lab[1:3, 1:3] = 4; lab[5:7, 5:7] = 7
        >>> _ = s.set_labels("cells", 0, lab)
        >>> _ = s.delete_label("cells", 0, 4)
        >>> np.unique(s.labels("cells", 0)).tolist()
        [0, 7]
        """
        t = self.stack.check_frame(frame)
        clip = self._roi_box(roi, t)
        value = check_label(label)
        if value == 0:
            raise ValueError(
                "label: 0 is the background, there is no cell to delete; pass a cell's label"
            )
        current = self._pop(population).view(t)
        cell = current == value
        if not cell.any():
            raise ValueError(
                f"label: {value} is not in frame {t} of {population!r}; pick a label that exists"
            )
        bbox, mask = tight_bbox(cell)
        return self._assist_commit(population, t, bbox, 0, mask, clip=clip)
