"""Pure functions on label images (no I/O, no state).

Everything here takes arrays and returns new arrays or masks; the :class:`segpaint.Session`
applies them and records undo steps.
"""

from segpaint.ops.assist import (
    MORPH_OPS,
    channel_intensity,
    default_limits,
    labels_in_box,
    match_labels,
    morph_labels,
    polygon_mask,
    region_at,
    split_label,
    wand_mask,
)
from segpaint.ops.labels import (
    LABEL_DTYPE,
    RADIUS_MAX,
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
    "LABEL_DTYPE",
    "MORPH_OPS",
    "RADIUS_MAX",
    "BBox",
    "as_label_image",
    "bbox_slices",
    "channel_intensity",
    "check_bbox",
    "check_label",
    "default_limits",
    "disk_offsets",
    "fill_mask",
    "labels_in_box",
    "match_labels",
    "morph_labels",
    "next_label",
    "pad_symmetric",
    "percentile_limits",
    "polygon_mask",
    "region_at",
    "relabel_sequential",
    "split_label",
    "stroke_centres",
    "stroke_mask",
    "tight_bbox",
    "union_bbox",
    "wand_mask",
]
