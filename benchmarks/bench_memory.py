"""Memory and journal size while pre-segmenting long movies: bounded, and nothing lost.

Writes an N-frame TIFF movie (512² uint16, bright blobs), opens it, pre-segments every frame with
the threshold default, and reports the peak memory numpy and Python allocated (tracemalloc; the
memory-mapped movie itself is not counted), the autosave journal's size, and whether every frame
reads back equal to a direct segmentation after a save. Each N runs in a fresh process.

    python benchmarks/bench_memory.py                 # N = 100, 300, 1000
    python benchmarks/bench_memory.py --frames 50 200

Prints a table and writes ``benchmarks/results/bench_memory.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import tifffile

SIZE = 512


def _movie(path: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    with tifffile.TiffWriter(path) as tif:
        for _ in range(n):
            frame = rng.integers(0, 200, size=(SIZE, SIZE), dtype=np.uint16)
            for _blob in range(25):
                r, c = rng.integers(20, SIZE - 20, 2)
                frame[r - 8 : r + 8, c - 8 : c + 8] += 3000
            tif.write(frame, contiguous=True)


def measure(n: int) -> dict[str, float]:
    """Run in a child: pre-segment ``n`` frames and report memory, journal size and checks."""
    import segpaint
    from segpaint.segment import segment

    folder = Path(tempfile.mkdtemp(prefix="segpaint-mem-"))
    movie = folder / "movie.tif"
    _movie(movie, n)
    session = segpaint.open(movie, axes="TYX")
    tracemalloc.start()
    t0 = time.perf_counter()
    session.presegment("cells", progress=False)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert session.journal_path is not None
    journal = session.journal_path.stat().st_size
    session.save_labels("cells")
    session.close()
    again = segpaint.open(movie, axes="TYX", read_only=True)
    lost = sum(
        not np.array_equal(again.labels("cells", t), segment(again.image(t)))
        for t in range(0, n, max(1, n // 20))
    )
    return {
        "frames": n,
        "peak_traced_mb": round(peak / 1e6, 1),
        "labels_if_all_in_ram_mb": round(n * SIZE * SIZE * 4 / 1e6, 1),
        "journal_mb": round(journal / 1e6, 2),
        "seconds": round(seconds, 1),
        "frames_checked_wrong": lost,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="*", default=[100, 300, 1000])
    parser.add_argument("--child", type=int)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child)))
        return
    rows = []
    for n in args.frames:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    keys = list(rows[0])
    print(" | ".join(f"{k:>22}" for k in keys))
    for row in rows:
        print(" | ".join(f"{row[k]!s:>22}" for k in keys))
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "bench_memory.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
