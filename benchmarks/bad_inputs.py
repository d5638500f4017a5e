"""Bad but plausible inputs to the pure functions (ops, threshold pipeline, metrics): how each ends.

Run:  python benchmarks/bad_inputs.py
Prints one markdown row per input: what it is, how the call ended (a result, or the exception
and its message) and the peak traced memory.  Issue 8 part 5: no input may end in a raw
numpy/scipy error, a MemoryError, a RecursionError or minutes of work.  The process is capped
at 3 GiB of address space and each call at 20 s, so the old behaviour shows as a MemoryError
or TimeoutError instead of swapping.  Not a test: nothing fails.
"""

from __future__ import annotations

import resource
import signal
import tempfile
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from segpaint import ops
from segpaint.metrics import iou_matrix, match_instances
from segpaint.segment import parse_query, read_threshold_config, segment
from segpaint.segment._filters import apply_filters, normalize_filters
from segpaint.segment._threshold import ThresholdParams


def _describe(out: Any) -> str:
    if isinstance(out, np.ndarray) and out.size and out.ndim == 2 and out.dtype == np.uint32:
        return f"labels max {int(out.max())}"
    return repr(out)[:60].replace("\n", " ")


def _timeout(signum: int, frame: Any) -> None:
    raise TimeoutError("still running after 20 s")


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    warnings.simplefilter("error")
    img = np.random.default_rng(0).integers(0, 1000, (2, 64, 64)).astype(np.uint16)
    img[:, 20:30, 20:30] += 3000
    props = {"area", "eccentricity"}
    tmp = Path(tempfile.mkdtemp())
    (tmp / "deep.json").write_text("[" * 100000 + "]" * 100000)
    (tmp / "latin.json").write_bytes('{"filters": [["gauss", 2]], "x": "\xb5"}'.encode("latin-1"))
    (tmp / "dir.json").mkdir()
    rng = np.random.default_rng(1)
    noise_a = rng.integers(0, 65536, (1024, 1024))
    noise_b = rng.integers(0, 65536, (1024, 1024))

    cases = [
        (
            "stroke to (1e9,1e9) r=10 on 2048^2",
            lambda: ops.stroke_mask((2048, 2048), [(1000, 1000), (1e9, 1e9)], 10),
        ),
        (
            "largest brush r=512 diag 2048^2",
            lambda: ops.stroke_mask((2048, 2048), [(0, 0), (2047, 2047)], 512),
        ),
        ("stroke 1e6 points", lambda: ops.stroke_mask((64, 64), np.zeros((10**6, 2)), 2)),
        ("stroke coordinate 1e300", lambda: ops.stroke_mask((64, 64), [(0, 0), (1e300, 1e300)], 2)),
        ("stroke_mask shape (10,)", lambda: ops.stroke_mask((10,), [(1, 1)], 2)),
        ("stroke_mask shape (-5, 5)", lambda: ops.stroke_mask((-5, 5), [(1, 1)], 2)),
        ("stroke_mask radius 'x'", lambda: ops.stroke_mask((10, 10), [(1, 1)], "x")),
        ("stroke_mask clip (0, 3)", lambda: ops.stroke_mask((10, 10), [(1, 1)], 2, clip=(0, 3))),
        ("disk_offsets(None)", lambda: ops.disk_offsets(None)),
        ("next_label(2**32-1)", lambda: ops.next_label(2**32 - 1)),
        ("next_label(2.5)", lambda: ops.next_label(2.5)),
        ("next_label(5, dtype=float32)", lambda: ops.next_label(5, dtype=np.float32)),
        ("check_label(True)", lambda: ops.check_label(True)),
        ("check_label(2**32)", lambda: ops.check_label(2**32)),
        ("check_label(-1)", lambda: ops.check_label(-1)),
        ("check_label(1.5)", lambda: ops.check_label(1.5)),
        ("check_label(3, dtype='f4')", lambda: ops.check_label(3, dtype="f4")),
        ("relabel_sequential(empty)", lambda: ops.relabel_sequential(np.zeros((0, 5), np.uint32))),
        ("relabel_sequential(0-d)", lambda: ops.relabel_sequential(np.uint32(5))),
        ("tight_bbox(1-D mask)", lambda: ops.tight_bbox(np.ones(5, bool))),
        (
            "fill_mask seed (nan, 1)",
            lambda: ops.fill_mask(np.zeros((5, 5), np.uint32), (np.nan, 1)),
        ),
        ("fill_mask seed (1,)", lambda: ops.fill_mask(np.zeros((5, 5), np.uint32), (1,))),
        ("fill_mask empty image", lambda: ops.fill_mask(np.zeros((0, 0), np.uint32), (0, 0))),
        ("fill_mask list image", lambda: ops.fill_mask([[0, 1], [1, 0]], (0, 0))),
        ("pad_symmetric 1-D", lambda: ops.pad_symmetric(np.ones(5))),
        (
            "pad_symmetric min_size 1e12",
            lambda: ops.pad_symmetric(np.ones((2, 2)), min_size=10**12),
        ),
        (
            "percentile_limits max_samples=0",
            lambda: ops.percentile_limits(np.arange(10), max_samples=0),
        ),
        ("percentile_limits strings", lambda: ops.percentile_limits(np.array(["a", "b"]))),
        ("percentile_limits bool", lambda: ops.percentile_limits(np.array([True, False]))),
        ("percentile_limits complex", lambda: ops.percentile_limits(np.array([1j, 2]))),
        ("check_bbox shape (5,)", lambda: ops.check_bbox((0, 1, 0, 1), (5,))),
        ("as_label_image uint64 2**63", lambda: ops.as_label_image(np.array([2**63], np.uint64))),
        ("filters gauss 1e9", lambda: segment(img, filters=[["gauss", 1e9]], thresholds=[0, 1e10])),
        ("filters gauss -1", lambda: segment(img, filters=[["gauss", -1]], thresholds=[0, 1e10])),
        (
            "filters gauss nan",
            lambda: segment(img, filters=[["gauss", float("nan")]], thresholds=[0, 1e10]),
        ),
        (
            "filters gauss inf",
            lambda: segment(img, filters=[["gauss", float("inf")]], thresholds=[0, 1e10]),
        ),
        (
            "filters median 1e9",
            lambda: segment(img, filters=[["median", 1e9]], thresholds=[0, 1e10]),
        ),
        (
            "filters median inf",
            lambda: segment(img, filters=[["median", float("inf")]], thresholds=[0, 1e10]),
        ),
        (
            "filters median nan",
            lambda: segment(img, filters=[["median", float("nan")]], thresholds=[0, 1e10]),
        ),
        (
            "filters variance 1e9",
            lambda: segment(img, filters=[["variance", 1e9]], thresholds=[0, 1e10]),
        ),
        (
            "filters maximum 1e12",
            lambda: segment(img, filters=[["maximum", 1e12]], thresholds=[0, 1e10]),
        ),
        (
            "filters tophat 1e9",
            lambda: segment(img, filters=[["tophat", 1e9]], thresholds=[0, 1e10]),
        ),
        (
            "filters tophat 500",
            lambda: segment(img, filters=[["tophat", 500]], thresholds=[0, 1e10]),
        ),
        (
            "filters dog 3 then 1 (low>high)",
            lambda: segment(img, filters=[["dog", 3, 1]], thresholds=[0, 1e10]),
        ),
        (
            "filters dog 1e9 1e9",
            lambda: segment(img, filters=[["dog", 1e9, 1e9]], thresholds=[0, 1e10]),
        ),
        ("filters log -2", lambda: segment(img, filters=[["log", -2]], thresholds=[0, 1e10])),
        (
            "filters subtract inf",
            lambda: segment(img, filters=[["subtract", float("inf")]], thresholds=[0, 1e10]),
        ),
        (
            "filters invert nan",
            lambda: segment(img, filters=[["invert", float("nan")]], thresholds=[0, 1e10]),
        ),
        (
            "filters gauss with 3 args",
            lambda: segment(img, filters=[["gauss", 1, 2, 3]], thresholds=[0, 1e10]),
        ),
        ("filters 10000 steps", lambda: normalize_filters([["abs"]] * 10000)),
        (
            "filters variance 1e200-valued image",
            lambda: segment(
                img.astype(float) * 1e200, filters=[["variance", 4]], thresholds=[0, 1e10]
            ),
        ),
        (
            "apply_filters empty image invert",
            lambda: apply_filters(np.zeros((0, 0)), normalize_filters(["invert"])),
        ),
        ("query 400-deep parens", lambda: parse_query("(" * 400 + "area < 5" + ")" * 400, props)),
        ("query 400 nots", lambda: parse_query("not " * 400 + "area < 5", props)),
        ("query 1 MB long", lambda: parse_query(" or ".join(["area < 5"] * 100000), props)),
        (
            "query call missing property",
            lambda: parse_query("area < 5", props)({"eccentricity": [1]}),
        ),
        (
            "query call ragged lengths",
            lambda: parse_query("area < 5 and eccentricity > 1", props)(
                {"area": [1, 2], "eccentricity": [1, 2, 3]}
            ),
        ),
        ("query number 1e999", lambda: parse_query("area < 1e999", props)({"area": [1.0]})),
        ("thresholds [nan, 5]", lambda: segment(img, thresholds=[float("nan"), 5])),
        (
            "thresholds [8000, inf]",
            lambda: segment(img, thresholds=[2000, float("inf")], filters=[]),
        ),
        (
            "thresholds [-inf, inf]",
            lambda: segment(
                img, thresholds=[float("-inf"), float("inf")], filters=[], do_watershed=False
            ),
        ),
        ("thresholds 'inf' string", lambda: segment(img, thresholds=[2000, "inf"])),
        (
            "marker_min_distance inf",
            lambda: segment(img, thresholds=[2000, 1e10], marker_min_distance=float("inf")),
        ),
        (
            "marker_min_distance nan",
            lambda: segment(img, thresholds=[2000, 1e10], marker_min_distance=float("nan")),
        ),
        (
            "marker_footprint_size 1e9",
            lambda: segment(img, thresholds=[2000, 1e10], marker_footprint_size=1e9),
        ),
        (
            "marker_min_distance 1e9",
            lambda: segment(img, thresholds=[2000, 1e10], marker_min_distance=1e9),
        ),
        (
            "feature_queries 10000 items",
            lambda: segment(img, thresholds=[2000, 1e10], feature_queries=["area < 1"] * 10000),
        ),
        (
            "equalize_reference empty",
            lambda: segment(img, thresholds=[2000, 1e10], equalize_reference=np.zeros((0, 0))),
        ),
        (
            "equalize_reference with NaN",
            lambda: segment(
                img, thresholds=[2000, 1e10], equalize_reference=np.full((4, 4), np.nan)
            ),
        ),
        ("params not a mapping", lambda: ThresholdParams.from_mapping([("filters", [])])),
        ("threshold image 1x1", lambda: segment(np.ones((1, 1)), thresholds=[0.5, 2])),
        ("threshold image 1x1 auto", lambda: segment(np.ones((1, 1)))),
        ("threshold image 1x5 auto", lambda: segment(np.arange(5.0)[None])),
        (
            "threshold image 2x2 otsu",
            lambda: segment(np.array([[0, 1], [2, 3]]), thresholds=["otsu", 10]),
        ),
        ("threshold image 0x0", lambda: segment(np.zeros((0, 0)))),
        ("threshold image 5x0", lambda: segment(np.zeros((5, 0)))),
        (
            "threshold constant image otsu",
            lambda: segment(np.full((20, 20), 7.0), thresholds=["otsu", 1e10]),
        ),
        ("threshold bool image", lambda: segment(np.eye(20, dtype=bool))),
        ("threshold complex image", lambda: segment(np.ones((8, 8), complex))),
        ("threshold object image", lambda: segment(np.full((8, 8), None))),
        (
            "threshold image with +inf",
            lambda: segment(np.where(np.eye(30, dtype=bool), np.inf, 1.0)),
        ),
        (
            "threshold image with +inf, otsu",
            lambda: segment(
                np.where(np.eye(30, dtype=bool), np.inf, 1.0), thresholds=["otsu", np.inf]
            ),
        ),
        ("threshold image all NaN", lambda: segment(np.full((10, 10), np.nan))),
        ("threshold uint64 near 2**64", lambda: segment(np.full((10, 10), 2**64 - 1, np.uint64))),
        (
            "read_threshold_config 100000-deep JSON",
            lambda: read_threshold_config(tmp / "deep.json"),
        ),
        ("read_threshold_config latin-1 file", lambda: read_threshold_config(tmp / "latin.json")),
        (
            "match_instances two uint16 intensity images 1024^2",
            lambda: match_instances(noise_a, noise_b).tp,
        ),
        (
            "iou_matrix two uint16 intensity images 1024^2",
            lambda: iou_matrix(noise_a, noise_b)[0].shape,
        ),
        ("read_threshold_config a folder", lambda: read_threshold_config(tmp / "dir.json")),
    ]

    signal.signal(signal.SIGALRM, _timeout)
    print("| input | how it ends | peak MiB |\n|---|---|---|")
    for name, call in cases:
        signal.alarm(20)
        tracemalloc.start()
        try:
            outcome = "ok: " + _describe(call())
        except (TimeoutError, MemoryError, RecursionError) as error:
            outcome = f"UNBOUNDED {type(error).__name__}: {str(error)[:70]}"
        except Exception as error:
            outcome = f"{type(error).__name__}: {str(error)[:110]}"
        finally:
            signal.alarm(0)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        print(f"| {name} | {outcome.replace('|', '/')} | {peak / 2**20:.0f} |", flush=True)
    print(f"\n{len(cases)} inputs")


if __name__ == "__main__":
    main()
