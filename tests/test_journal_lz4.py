"""Journal records are LZ4 (cheap for whole-frame tools); zlib records of older journals are
still recovered, and a torn or corrupt LZ4 record is never written into labels."""

from __future__ import annotations

import json
import zlib

import numpy as np

import segpaint
from segpaint import _journal
from segpaint._journal import encode_record, read_journal


def zlib_record(population, frame, bbox, values, base=None) -> bytes:
    """A record as journals written before LZ4 have it (no "z" key, zlib payload)."""
    head = {"p": population, "t": frame, "b": list(bbox), "base": base}
    payload = zlib.compress(np.ascontiguousarray(values, dtype="<u4").tobytes(), 1)
    return _journal._pack(json.dumps(head).encode(), payload)


def test_new_records_are_lz4_and_old_zlib_records_still_read(tmp_path):
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 2**32, (30, 40), dtype=np.uint64).astype(np.uint32)  # incompressible
    flat = np.full((64, 64), 7, np.uint32)
    record = encode_record("cells", 2, (0, 64, 0, 64), flat)
    assert b'"z": "lz4"' in record and len(record) < 64 * 64 * 4 // 20
    path = tmp_path / "journal.bin"
    path.write_bytes(
        zlib_record("cells", 1, (5, 35, 0, 40), noisy)
        + record
        + encode_record("cells", 1, (5, 35, 0, 40), noisy, (11, 22))
    )
    got = list(read_journal(path, frame_shape=(64, 64)))
    assert [(r.frame, r.bbox, r.base) for r in got] == [
        (1, (5, 35, 0, 40), None),
        (2, (0, 64, 0, 64), None),
        (1, (5, 35, 0, 40), (11, 22)),
    ]
    np.testing.assert_array_equal(got[0].values, noisy)
    np.testing.assert_array_equal(got[1].values, flat)
    np.testing.assert_array_equal(got[2].values, noisy)


def test_a_torn_or_corrupt_lz4_record_ends_the_journal(tmp_path):
    good = encode_record("cells", 0, (0, 4, 0, 4), np.arange(16, dtype=np.uint32).reshape(4, 4))
    bad = encode_record("cells", 0, (0, 8, 0, 8), np.full((8, 8), 3, np.uint32))
    path = tmp_path / "journal.bin"
    path.write_bytes(good + bad[:-3])  # torn by a crash
    assert len(list(read_journal(path))) == 1
    # a payload that passes its checksum but decodes to the wrong size is not trusted either
    head = json.dumps({"p": "cells", "t": 0, "b": [0, 8, 0, 8], "base": None, "z": "lz4"})
    short = _journal._lz4.lz4_encode(np.zeros(10, "<u4").tobytes())
    path.write_bytes(good + _journal._pack(head.encode(), short) + good)
    assert len(list(read_journal(path))) == 1
    unknown = json.dumps({"p": "cells", "t": 0, "b": [0, 4, 0, 4], "base": None, "z": "zstd"})
    path.write_bytes(good + _journal._pack(unknown.encode(), b"x") + good)
    assert len(list(read_journal(path))) == 1


def test_a_whole_frame_morph_is_recovered_after_a_crash(tmp_path):
    lab = np.zeros((60, 80), np.uint32)
    lab[10:30, 10:30] = 1
    lab[35:50, 40:70] = 2
    lab[15, 15] = 0
    img = np.zeros((2, 60, 80), np.uint16)
    journal = tmp_path / "journal.bin"
    s = segpaint.open(img, axes="TYX", populations=["c"], journal=journal)
    s.set_labels("c", 0, lab)
    s.morph("c", 0, None, "fill_holes")
    s.morph("c", 0, None, "grow", radius=2)
    expected = np.asarray(s.labels("c", 0)).copy()
    s._journal.close()  # the kernel dies: nothing saved, the journal stays behind
    del s
    again = segpaint.open(img, axes="TYX", populations=["c"], journal=journal)
    assert again.pending_edits == 3
    again.recover()
    np.testing.assert_array_equal(again.labels("c", 0), expected)
    assert (expected[8:12, 10:30] == 1).all() and expected[15, 15] == 1
