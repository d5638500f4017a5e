"""The Annotator's assisted tools (issue 11): the browser's wand (js/wand.js, run by Node) against
`segpaint.ops.wand_mask`, and the ``assist`` message that runs the Session's tools."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from segpaint.ops import wand_mask

_WAND_JS = Path(__file__).resolve().parents[1] / "js" / "wand.js"
_WAND_SCRIPT = """
import { readFileSync } from "node:fs";
const { Wand } = await import(process.argv[1]);
const input = JSON.parse(readFileSync(0, "utf8"));
const TYPES = { uint8: Uint8Array, uint16: Uint16Array, float32: Float32Array };
const channels = input.channels.map(([dtype, text]) => {
  const b = Buffer.from(text, "base64");
  const copy = new Uint8Array(b.length);
  copy.set(b);
  return new TYPES[dtype](copy.buffer);
});
const wand = new Wand(channels, input.limits, input.width, input.height);
const out = input.cases.map(({ seed, tol, clip }) => {
  const m = wand.mask(seed, tol, clip);
  return m && { bbox: m.bbox, mask: Buffer.from(m.mask).toString("base64") };
});
console.log(JSON.stringify(out));
"""


def _cells(shape: tuple[int, int], seed: int) -> np.ndarray:
    """A noisy image of bright discs on a dim background (float64, before the dtype cast)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = rng.normal(200, 30, shape)
    for _ in range(12):
        r, c = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        rad = rng.integers(5, 14)
        image += rng.uniform(300, 900) * ((rows - r) ** 2 + (cols - c) ** 2 <= rad**2)
    return image


def _run_node_wand(
    channels: list[np.ndarray], limits: list[list[float]], cases: list[dict[str, Any]]
) -> list[Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (needed to run js/wand.js)")
    height, width = channels[0].shape
    payload = {
        "channels": [
            [
                str(ch.dtype),
                base64.b64encode(
                    np.ascontiguousarray(ch).astype(ch.dtype.newbyteorder("<")).tobytes()
                ).decode(),
            ]
            for ch in channels
        ],
        "limits": limits,
        "width": width,
        "height": height,
        "cases": cases,
    }
    run = subprocess.run(
        [node, "--input-type=module", "-e", _WAND_SCRIPT, _WAND_JS.as_uri()],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result: list[Any] = json.loads(run.stdout)
    return result


@pytest.mark.parametrize(
    ("dtypes", "limits"),
    [
        (["uint16"], [[150.0, 1100.0]]),
        (["uint8", "float32"], [[10.0, 240.0], [180.5, 1400.25]]),
        (["float32", "uint16", "uint16"], [[100.0, 900.0], [0.0, 65535.0], [250.0, 251.0]]),
    ],
)
def test_the_browser_wand_gives_the_pixels_of_wand_mask(
    dtypes: list[str], limits: list[list[float]]
) -> None:
    """js/wand.js and segpaint.ops.wand_mask on the same raw channels, limits, seeds, tolerances
    and ROI clips: the same box and the same pixels, every time (and a 2-px-wide tolerance sweep
    on a real edge, where a rounding difference would show)."""
    shape = (97, 131)
    channels = []
    for k, dtype in enumerate(dtypes):
        raw = _cells(shape, seed=k)
        if dtype == "uint8":
            raw = raw / 4
        channels.append(
            np.clip(raw, 0, np.iinfo(dtype).max if dtype != "float32" else None).astype(dtype)
        )
    stack = np.stack(channels)
    rng = np.random.default_rng(5)
    cases: list[dict[str, Any]] = []
    for _ in range(40):
        seed = [float(rng.uniform(0, shape[0] - 1)), float(rng.uniform(0, shape[1] - 1))]
        tol = float(rng.choice([0.0, 0.02, 0.1, 0.25, 0.5, 1.0, rng.uniform(0, 0.4)]))
        clip = None
        if rng.random() < 0.3:
            r, c = int(seed[0] + 0.5), int(seed[1] + 0.5)
            clip = [max(0, r - 20), r + 15, max(0, c - 10), c + 30]
        cases.append({"seed": seed, "tol": tol, "clip": clip})
    # the exact boundary: tolerance equal to a neighbour's distance from the seed value
    from segpaint.ops import channel_intensity

    v = channel_intensity(stack, limits=[tuple(p) for p in limits])
    for r, c in [(40, 60), (10, 10)]:
        for dr, dc in [(0, 1), (1, 0)]:
            cases.append(
                {"seed": [r, c], "tol": float(abs(v[r + dr, c + dc] - v[r, c])), "clip": None}
            )
    got = _run_node_wand(channels, limits, cases)
    for case, out in zip(cases, got, strict=True):
        box, mask = wand_mask(
            stack, case["seed"], case["tol"], limits=[tuple(p) for p in limits], clip=case["clip"]
        )
        assert out is not None, case
        assert tuple(out["bbox"]) == box, case
        js_mask = np.frombuffer(base64.b64decode(out["mask"]), np.uint8).reshape(mask.shape)
        np.testing.assert_array_equal(js_mask.astype(bool), mask, err_msg=str(case))
        assert mask.sum() >= 1
