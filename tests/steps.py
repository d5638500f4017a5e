"""Shared check of two sessions' last undo steps (tests that compare two commit paths)."""

from __future__ import annotations

from typing import Any

import numpy as np

from segpaint._history import Edit


def same_steps(a: Any, b: Any) -> None:
    """The last undo steps of sessions ``a`` and ``b`` are the same `Edit`: box, label, the
    old / new / index arrays (dtype, shape, values) and the bytes they hold."""
    x, y = a.history.peek(), b.history.peek()
    assert type(x) is type(y) is Edit
    assert x.bbox == y.bbox and x.label == y.label
    for name in ("old", "new", "index"):
        u, v = getattr(x, name), getattr(y, name)
        assert (u is None) == (v is None)
        if u is not None:
            assert u.dtype == v.dtype and u.shape == v.shape
            np.testing.assert_array_equal(u, v)
    assert x.nbytes == y.nbytes


def paint_during(monkeypatch: Any, module: Any, name: str, session: Any, *stroke: Any) -> list[Any]:
    """Patch ``module.name`` so that, when called, it first starts ``session.paint(*stroke)``
    in another thread and gives it 0.3 s (a stroke made while the tool computes), then runs.
    Returns the list that receives that thread (join it, then check the labels)."""
    import threading

    real = getattr(module, name)
    painter: list[threading.Thread] = []

    def while_painting(*args: Any, **kwargs: Any) -> Any:
        worker = threading.Thread(target=session.paint, args=stroke, daemon=True)
        worker.start()
        worker.join(timeout=0.3)
        painter.append(worker)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, while_painting)
    return painter
