"""Rectangle ROIs as QuPath-compatible GeoJSON.

Each ROI is a ``Feature`` whose geometry is a closed rectangle ``Polygon`` in pixel
coordinates (``x`` = column, ``y`` = row, on pixel corners, so the ROI's half-open
``[col0, col1) x [row0, row1)`` becomes the corners ``(col0, row0) ... (col1, row1)``), with
``properties.objectType = "annotation"``, ``properties.classification.name`` = the population
and the frame in ``properties.frame`` (and ``geometry.plane.t``, where QuPath keeps the plane).
QuPath's *File > Import objects* reads it; its *Export objects as GeoJSON* output reads back.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segpaint.io.export import commit_files

__all__ = ["GeoJSONError", "RoiRecord", "read_rois", "rois_to_geojson", "write_rois"]


class GeoJSONError(ValueError):
    """A GeoJSON file whose ROIs segpaint cannot read."""


@dataclass(frozen=True)
class RoiRecord:
    """A rectangle ROI of one frame and its population (QuPath classification)."""

    population: str | None
    frame: int
    row0: int
    row1: int
    col0: int
    col1: int


def _colour(name: str) -> list[int]:
    """A stable colour per class name (QuPath shows classes in their colour)."""
    h = zlib.crc32(name.encode("utf-8"))
    return [64 + (h & 0x7F), 64 + ((h >> 8) & 0x7F), 64 + ((h >> 16) & 0x7F)]


def rois_to_geojson(rois: Iterable[RoiRecord]) -> dict[str, Any]:
    """A GeoJSON ``FeatureCollection`` of rectangle annotations.

    Examples
    --------
    >>> doc = rois_to_geojson([RoiRecord("targets", 2, row0=10, row1=20, col0=5, col1=9)])
    >>> feature = doc["features"][0]
    >>> feature["geometry"]["coordinates"]
    [[[5, 10], [9, 10], [9, 20], [5, 20], [5, 10]]]
    >>> feature["properties"]["classification"]["name"], feature["properties"]["frame"]
    ('targets', 2)
    """
    features = []
    for roi in rois:
        ring = [
            [roi.col0, roi.row0],
            [roi.col1, roi.row0],
            [roi.col1, roi.row1],
            [roi.col0, roi.row1],
            [roi.col0, roi.row0],
        ]
        props: dict[str, Any] = {
            "objectType": "annotation",
            "name": f"frame {roi.frame} rows {roi.row0}-{roi.row1} cols {roi.col0}-{roi.col1}",
            "frame": roi.frame,
            "isLocked": False,
        }
        if roi.population is not None:
            props["classification"] = {"name": roi.population, "color": _colour(roi.population)}
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [ring],
                    "plane": {"c": -1, "z": 0, "t": roi.frame},
                },
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def write_rois(
    path: str | os.PathLike[str],
    rois: Iterable[RoiRecord],
    *,
    overwrite: bool = True,
    base: Path | None = None,
) -> Path:
    """Write ROIs to a ``.geojson`` file atomically (see `rois_to_geojson`); with ``base`` (the
    data folder), never through a symbolic link below it."""
    p = Path(path)
    text = json.dumps(rois_to_geojson(rois), indent=1)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    commit_files({p: write}, overwrite=overwrite, base=base)
    return p


def _features(doc: Any, where: str) -> list[Any]:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise GeoJSONError(f"{where}: a FeatureCollection needs a 'features' list")
        return feats
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        return [doc]
    raise GeoJSONError(
        f"{where}: expected a GeoJSON FeatureCollection, a Feature or a list of features; found "
        f"{type(doc).__name__}{' of type ' + repr(doc.get('type')) if isinstance(doc, dict) else ''}"
    )


def _number(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GeoJSONError(f"{where}: coordinate {value!r} is not a number")
    if float(value) != round(float(value)):
        raise GeoJSONError(
            f"{where}: coordinate {value} is not on a pixel corner; segpaint ROIs have integer "
            "pixel coordinates"
        )
    return round(float(value))


def _record(feature: Any, where: str) -> RoiRecord:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise GeoJSONError(f"{where}: expected a GeoJSON Feature, found {feature!r:.80}")
    geom = feature.get("geometry")
    if not isinstance(geom, dict) or geom.get("type") != "Polygon":
        kind = geom.get("type") if isinstance(geom, dict) else geom
        raise GeoJSONError(
            f"{where}: geometry is {kind!r}; segpaint reads rectangle ROIs (Polygon with 4 corners)"
        )
    rings = geom.get("coordinates")
    if not isinstance(rings, list) or len(rings) != 1 or not isinstance(rings[0], list):
        raise GeoJSONError(f"{where}: a rectangle is one Polygon ring without holes")
    ring = rings[0]
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring = ring[:-1]  # GeoJSON rings repeat the first point at the end
    if len(ring) != 4 or not all(isinstance(pt, list) and len(pt) >= 2 for pt in ring):
        raise GeoJSONError(
            f"{where}: a Polygon of {len(ring)} corners is not a rectangle; segpaint ROIs are "
            "axis-aligned rectangles (draw them with QuPath's rectangle tool)"
        )
    xs = [_number(pt[0], where) for pt in ring]
    ys = [_number(pt[1], where) for pt in ring]
    if len(set(xs)) != 2 or len(set(ys)) != 2 or len(set(zip(xs, ys, strict=True))) != 4:
        raise GeoJSONError(f"{where}: the polygon {ring} is not an axis-aligned rectangle")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise GeoJSONError(f"{where}: 'properties' must be an object")
    frame = props.get("frame")
    plane = geom.get("plane")
    if frame is None and isinstance(plane, dict):
        frame = plane.get("t", 0)
    frame = 0 if frame is None else frame
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
        raise GeoJSONError(f"{where}: frame {frame!r} must be a non-negative integer")
    cls = props.get("classification")
    population = None
    if isinstance(cls, dict) and isinstance(cls.get("name"), str):
        population = cls["name"]
    elif isinstance(cls, str):
        population = cls
    return RoiRecord(population, frame, min(ys), max(ys), min(xs), max(xs))


def read_rois(path: str | os.PathLike[str]) -> list[RoiRecord]:
    """Read rectangle ROIs from a GeoJSON file (segpaint's or QuPath's export).

    Raises
    ------
    GeoJSONError
        When the file is not JSON, not GeoJSON features, or a feature is not an axis-aligned
        rectangle with integer pixel corners; the message names the feature.
    """
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise GeoJSONError(f"{p}: not valid JSON ({err})") from err
    features = _features(doc, str(p))
    return [_record(f, f"{p} feature {i}") for i, f in enumerate(features)]
