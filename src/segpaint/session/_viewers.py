"""The viewer a Session opens with :meth:`Session.annotator`, registered from above.

The session layer never imports the widget layer: ``segpaint/__init__.py``, which sits above
both, registers a factory that imports :mod:`segpaint.widgets` only when a viewer is asked for.
Another front-end (a Qt viewer, a test double) can register its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ViewerFactory = Callable[..., Any]
"""``factory(session, population=None, **kwargs)`` -> a viewer bound to ``session``."""

_factory: ViewerFactory | None = None


def register_viewer(factory: ViewerFactory | None) -> ViewerFactory | None:
    """Make ``factory`` the viewer :meth:`Session.annotator` opens; return the previous one.

    Parameters
    ----------
    factory : callable or None
        Called as ``factory(session, population=population, **kwargs)``; None unregisters.
    """
    global _factory
    if factory is not None and not callable(factory):
        raise TypeError(
            f"factory must be callable as factory(session, population=..., **kwargs); "
            f"got {type(factory).__name__}"
        )
    previous, _factory = _factory, factory
    return previous


def open_viewer(session: object, population: str | None, **kwargs: Any) -> Any:
    """A viewer of ``session`` (a Session, or an Experiment) from the registered factory."""
    if _factory is None:
        raise RuntimeError(
            "no viewer is registered for Session.annotator(): `import segpaint` registers the "
            "Annotator widget, or call segpaint.session.register_viewer(factory)"
        )
    return _factory(session, population=population, **kwargs)
