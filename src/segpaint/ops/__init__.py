"""Pure functions on label images (no I/O, no state).

Everything here takes arrays and returns new arrays or masks; the :class:`segpaint.Session`
applies them and records undo steps.
"""

from segpaint.ops.labels import (
    COORD_MAX,
    LABEL_DTYPE,
    PAD_SIZE_MAX,
    RADIUS_MAX,
    STROKE_CENTRES_MAX,
    STROKE_POINTS_MAX,
    BBox,
    as_label_image,
    bbox_slices,
    check_bbox,
    check_label,
    disk_offsets,
    fill_mask,
    next_label,
    pad_symmetric,
    percentile_limits,
    relabel_sequential,
    stroke_centres,
    stroke_mask,
    tight_bbox,
    union_bbox,
)

__all__ = [
    "COORD_MAX",
    "LABEL_DTYPE",
    "PAD_SIZE_MAX",
    "RADIUS_MAX",
    "STROKE_CENTRES_MAX",
    "STROKE_POINTS_MAX",
    "BBox",
    "as_label_image",
    "bbox_slices",
    "check_bbox",
    "check_label",
    "disk_offsets",
    "fill_mask",
    "next_label",
    "pad_symmetric",
    "percentile_limits",
    "relabel_sequential",
    "stroke_centres",
    "stroke_mask",
    "tight_bbox",
    "union_bbox",
]
