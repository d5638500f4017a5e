"""Typed traits of the Annotator that say what they expect (in the manner of lonboard's traits).

Each trait validates its value and, when it refuses one, raises a ``TraitError`` that names the
trait, what was expected and what was given: ``frame must be an integer from 0 to 2 (the session
has 3 frame(s)); got 3``. Bounds that depend on the data (frames, populations, channels) are read
from the widget when the value is set.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import traitlets

Dynamic = Callable[[Any], Any]
"""A bound computed from the widget (``lambda widget: widget.n_frames - 1``)."""


class _RefusedError(ValueError):
    """An item check failed; the text completes "<name> must be ..."."""


def _resolve(value: Any, obj: Any) -> Any:
    return value(obj) if callable(value) else value


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


class _Typed(traitlets.TraitType[Any, Any]):
    """A trait whose errors read ``<name> must be <what>; got <value>``."""

    def refuse(self, what: str, value: Any, name: str | None = None) -> traitlets.TraitError:
        return traitlets.TraitError(f"{name or self.name} must be {what}; got {value!r}")


class IntIn(_Typed):
    """An integer from ``low`` to ``high`` (either may be computed from the widget).

    ``what`` names the kind (``"an integer diameter"``), ``unit`` follows the range
    (``" pixels"``) and ``note`` (a string or a function of the widget) explains the range.
    """

    def __init__(
        self,
        default: int,
        *,
        low: int | Dynamic,
        high: int | Dynamic,
        what: str = "an integer",
        unit: str = "",
        note: str | Dynamic | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(default, **kwargs)
        self.low, self.high, self.what, self.unit, self.note = low, high, what, unit, note
        self.info_text = f"{what} in a range"

    def validate(self, obj: Any, value: Any) -> int:
        low, high = _resolve(self.low, obj), _resolve(self.high, obj)
        if _is_int(value) and low <= int(value) <= high:
            return int(value)
        note = _resolve(self.note, obj)
        extra = f" ({note})" if note else ""
        raise self.refuse(f"{self.what} from {low} to {high}{self.unit}{extra}", value)


def _number(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if not _is_real(value) or not low <= float(value) <= high:
            raise _RefusedError(f"a number from {low} to {high}")
        return float(value)

    return check


class FloatIn(_Typed):
    """A finite number from ``low`` to ``high``."""

    def __init__(self, default: float, *, low: float, high: float, **kwargs: Any) -> None:
        super().__init__(default, **kwargs)
        self.check = _number(low, high)
        self.info_text = f"a number from {low} to {high}"

    def validate(self, obj: Any, value: Any) -> float:
        try:
            return self.check(value)
        except _RefusedError as err:
            raise self.refuse(str(err), value) from None


class OneOf(_Typed):
    """One of ``choices`` (a sequence, or a function of the widget); ``hint(widget, value)`` may
    add how to make a missing choice exist."""

    def __init__(
        self,
        default: str,
        *,
        choices: Sequence[str] | Dynamic,
        hint: Callable[[Any, Any], str] | None = None,
        listed: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(default, **kwargs)
        self.choices, self.hint, self.listed = choices, hint, listed
        self.info_text = "one of the listed choices"

    def validate(self, obj: Any, value: Any) -> str:
        choices = list(_resolve(self.choices, obj))
        if isinstance(value, str) and value in choices:
            return value
        shown = str(choices) if self.listed else ", ".join(choices)
        err = self.refuse(f"one of {shown}", value)
        if self.hint is not None:
            err = traitlets.TraitError(f"{err}. {self.hint(obj, value)}")
        raise err


class PerChannel(_Typed):
    """A list with one entry per channel of the widget's session, each checked by ``item``
    (a function that returns the value to keep or raises ``_RefusedError`` with what it expected)."""

    def __init__(self, item: Callable[[Any], Any], **kwargs: Any) -> None:
        super().__init__([], **kwargs)
        self.item = item
        self.info_text = "a list with one entry per channel"

    def validate(self, obj: Any, value: Any) -> list[Any]:
        names = list(obj.channel_names)
        if not isinstance(value, list | tuple) or len(value) != len(names):
            what = f"a list with one entry per channel ({len(names)}: {names})"
            raise self.refuse(what, value)
        out = []
        for c, entry in enumerate(value):
            try:
                out.append(self.item(entry))
            except _RefusedError as err:
                raise self.refuse(str(err), entry, name=f"{self.name}[{c}]") from None
        return out


def contrast_limits(value: Any) -> list[float]:
    """``[lo, hi]`` with finite ``lo < hi``, in image units."""
    ok = isinstance(value, list | tuple) and len(value) == 2 and all(_is_real(v) for v in value)
    lo, hi = (float(value[0]), float(value[1])) if ok else (math.nan, math.nan)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise _RefusedError("[lo, hi] with finite lo < hi (image units)")
    return [lo, hi]


def boolean(value: Any) -> bool:
    """True or False (numpy booleans too), never 0/1."""
    if not isinstance(value, bool | np.bool_):
        raise _RefusedError("True or False")
    return bool(value)


_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def hex_color(value: Any) -> str:
    """A ``"#rrggbb"`` colour, lower-cased."""
    if not isinstance(value, str) or not _HEX.match(value):
        raise _RefusedError('a colour like "#rrggbb" (e.g. "#ff00ff")')
    return value.lower()


def number_in(low: float, high: float) -> Callable[[Any], float]:
    """An item check: a number from ``low`` to ``high``."""
    return _number(low, high)


class PercentileRange(_Typed):
    """Two percentiles ``(low, high)`` with ``0 <= low < high <= 100`` (auto contrast)."""

    info_text = "two percentiles (low, high) with 0 <= low < high <= 100"

    def validate(self, obj: Any, value: Any) -> tuple[float, float]:
        ok = isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2
        if ok and all(_is_real(v) for v in value):
            low, high = float(value[0]), float(value[1])
            if 0 <= low < high <= 100:
                return (low, high)
        raise self.refuse(
            "two percentiles (low, high) with 0 <= low < high <= 100, e.g. (1, 99.8)", value
        )
