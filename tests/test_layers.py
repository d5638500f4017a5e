"""Imports point down the layers only: ops -> io -> segment -> session -> widgets (issue 9).

Every module of the package is placed in one layer below; a runtime import of a higher layer
(at module level or inside a function) fails this test. Imports under ``if TYPE_CHECKING:``
are for annotations only and do not count. docs/architecture.md shows the same map.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import segpaint
from segpaint.session import register_viewer

SRC = Path(segpaint.__file__).parent

LAYERS = ("base", "ops", "io", "segment", "session", "widgets", "top")
"""Lowest first: a module may import its own layer and the layers before it."""

PLACES = {
    "segpaint._version": "base",
    "segpaint._events": "base",
    "segpaint.ops": "ops",
    "segpaint.io": "io",
    "segpaint.segment": "segment",
    "segpaint.metrics": "segment",
    "segpaint.session": "session",
    "segpaint._history": "session",
    "segpaint._journal": "session",
    "segpaint._lock": "session",
    "segpaint._presegment": "session",
    "segpaint._samples": "session",
    "segpaint.experiment": "session",
    "segpaint.widgets": "widgets",
    "segpaint.data": "top",
    "segpaint": "top",
}
"""Module (or package) -> layer; the longest matching prefix wins."""


def layer_of(module: str) -> str:
    """The layer of a dotted module name (the longest prefix in PLACES)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        place = PLACES.get(".".join(parts[:n]))
        if place is not None:
            return place
    raise KeyError(module)


def runtime_imports(source: str, module: str, *, is_package: bool) -> list[tuple[int, str]]:
    """``(line, module)`` of every segpaint import outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(source)
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from segpaint import widgets` imports the submodule segpaint.widgets
            targets = [f"{base}.{a.name}" for a in node.names] if base == "segpaint" else [base]
            found += [(node.lineno, t) for t in targets]
    return [(line, name) for line, name in found if name.split(".")[0] == "segpaint"]


def upward_imports(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Each import of ``module`` that points to a higher layer, as a readable line."""
    rank = LAYERS.index(layer_of(module))
    problems = []
    for line, target in runtime_imports(source, module, is_package=is_package):
        if target == "segpaint":  # `import segpaint` alone: the top package
            target_layer = "top"
        else:
            try:
                target_layer = layer_of(target)
            except KeyError:
                target_layer = layer_of(target.rpartition(".")[0])  # `from pkg import name`
        if LAYERS.index(target_layer) > rank:
            problems.append(
                f"{module}:{line} ({layer_of(module)}) imports {target} ({target_layer})"
            )
    return problems


def package_modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path))
    return found


def test_every_module_has_a_layer():
    unplaced = []
    for name, _ in package_modules():
        try:
            layer_of(name)
        except KeyError:
            unplaced.append(name)
    assert not unplaced, f"place these modules in PLACES (and docs/architecture.md): {unplaced}"


def test_no_layer_imports_a_higher_one():
    problems = []
    for name, path in package_modules():
        problems += upward_imports(
            path.read_text(encoding="utf-8"), name, is_package=path.name == "__init__.py"
        )
    assert not problems, "upward imports:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("def f():\n    from segpaint.widgets import Annotator\n", "segpaint.session._core", 2),
        ("from segpaint import widgets\n", "segpaint.experiment", 1),
        ("from ..session import Session\n", "segpaint.io.export", 1),
        ("import segpaint.segment\n", "segpaint.ops.labels", 1),
        ("from .. import data\n", "segpaint.session._core", 1),
    ],
)
def test_an_upward_import_is_caught_even_lazy_or_relative(source, module, expected):
    (problem,) = upward_imports(source, module)
    assert problem.startswith(f"{module}:{expected} ")


def test_type_checking_imports_and_downward_ones_pass():
    source = (
        "from typing import TYPE_CHECKING\n"
        "from segpaint.ops import BBox\n"
        "from segpaint.io.export import FORMATS\n"
        "if TYPE_CHECKING:\n"
        "    from segpaint.widgets import Annotator\n"
    )
    assert upward_imports(source, "segpaint.session._core") == []


def test_session_annotator_opens_the_registered_viewer(tmp_path):
    session = segpaint.open(np.zeros((2, 16, 16), np.uint8), axes="TYX", journal=False)
    calls = []

    def viewer(source, population=None, **kwargs):
        calls.append((source, population, kwargs))
        return "a viewer"

    previous = register_viewer(viewer)
    try:
        assert session.annotator("cells", tool="fill") == "a viewer"
        assert calls == [(session, "cells", {"tool": "fill"})]
        register_viewer(None)
        with pytest.raises(RuntimeError, match="no viewer is registered for Session.annotator"):
            session.annotator()
        with pytest.raises(TypeError, match="factory must be callable"):
            register_viewer("segpaint.widgets.Annotator")  # type: ignore[arg-type]
    finally:
        register_viewer(previous)
    assert previous is not None and previous.__module__ == "segpaint"
