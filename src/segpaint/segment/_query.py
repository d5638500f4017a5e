"""A tiny, safe grammar for Celldetective's ``feature_queries`` (``"area < 80"``).

Celldetective passes these strings to ``pandas.DataFrame.query``, which evaluates Python.  Here
they are tokenised and parsed by hand into a small tree; nothing is ever evaluated::

    query      := or_expr
    or_expr    := and_expr (("or" | "|") and_expr)*
    and_expr   := unary (("and" | "&") unary)*
    unary      := ("not" | "~") unary | "(" or_expr ")" | comparison
    comparison := operand OP operand (OP operand)?      # ``80 < area <= 200`` chains
    operand    := NAME | NUMBER
    OP         := "<" | "<=" | ">" | ">=" | "==" | "!="

Each comparison must name exactly one property per pair; the allowed property names are given by
the caller (the region properties the threshold pipeline can measure).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["QUERY_DEPTH_MAX", "QUERY_LENGTH_MAX", "Query", "QuerySyntaxError", "parse_query"]

QUERY_LENGTH_MAX = 2000
"""Longest feature query, in characters."""

QUERY_DEPTH_MAX = 32
"""Deepest nesting of parentheses and ``not`` in a feature query."""

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

_OPS: dict[str, Callable[[FloatArray, FloatArray], BoolArray]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<op><=|>=|==|!=|<|>)"
    r"|(?P<paren>[()])"
    r"|(?P<logic>[&|~])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)"
    r")"
)
_WORDS = {"and": "&", "or": "|", "not": "~"}


class QuerySyntaxError(ValueError):
    """A ``feature_queries`` string that the grammar does not accept."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "op", "paren", "logic", "name", "end"
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if match is None or match.end() == pos:
            raise QuerySyntaxError(
                f"feature query {text!r}: unexpected character {stripped[pos:].lstrip()[:1]!r} at "
                f"position {pos}; expected '<property> <op> <number>' joined by and/or, "
                "e.g. 'area < 80 or eccentricity > 0.95'"
            )
        kind = match.lastgroup
        assert kind is not None
        value = match.group(kind)
        if kind == "name" and value.lower() in _WORDS:
            kind, value = "logic", _WORDS[value.lower()]
        tokens.append(_Token(kind, value, match.start(kind)))
        pos = match.end()
    tokens.append(_Token("end", "", len(stripped)))
    return tokens


@dataclass(frozen=True)
class _Compare:
    left: str | float
    op: str
    right: str | float


@dataclass(frozen=True)
class _Not:
    inner: _Node


@dataclass(frozen=True)
class _BoolOp:
    op: str  # "&" or "|"
    parts: tuple[_Node, ...]


_Node = _Compare | _Not | _BoolOp


class _Parser:
    def __init__(self, text: str, allowed: Collection[str]) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.allowed = allowed
        self.names: set[str] = set()
        self.depth = 0

    def _error(self, message: str) -> QuerySyntaxError:
        token = self.tokens[self.index]
        where = "at the end" if token.kind == "end" else f"at {token.text!r} (position {token.pos})"
        return QuerySyntaxError(
            f"feature query {self.text!r}: {message} {where}; expected '<property> <op> <number>' "
            "joined by and/or, e.g. 'area < 80 or eccentricity > 0.95'"
        )

    def _peek(self) -> _Token:
        return self.tokens[self.index]

    def _take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> _Node:
        if self._peek().kind == "end":
            raise self._error("empty query")
        node = self._or()
        if self._peek().kind != "end":
            raise self._error("unexpected token")
        return node

    def _or(self) -> _Node:
        parts = [self._and()]
        while self._peek().kind == "logic" and self._peek().text == "|":
            self._take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else _BoolOp("|", tuple(parts))

    def _and(self) -> _Node:
        parts = [self._unary()]
        while self._peek().kind == "logic" and self._peek().text == "&":
            self._take()
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else _BoolOp("&", tuple(parts))

    def _unary(self) -> _Node:
        token = self._peek()
        nests = (token.kind == "logic" and token.text == "~") or (
            token.kind == "paren" and token.text == "("
        )
        if not nests:
            return self._comparison()
        # every nested level costs a few Python frames here and in _evaluate: keep it shallow
        self.depth += 1
        if self.depth > QUERY_DEPTH_MAX:
            raise self._error(
                f"more than {QUERY_DEPTH_MAX} nested parentheses or 'not' (simplify the query)"
            )
        self._take()
        if token.text == "~":
            node: _Node = _Not(self._unary())
        else:
            node = self._or()
            if self._peek().text != ")":
                raise self._error("missing ')'")
            self._take()
        self.depth -= 1
        return node

    def _operand(self) -> str | float:
        token = self._peek()
        if token.kind == "number":
            self._take()
            return float(token.text)
        if token.kind == "name":
            if token.text not in self.allowed:
                known = ", ".join(sorted(self.allowed))
                raise QuerySyntaxError(
                    f"feature query {self.text!r}: unknown property {token.text!r}; "
                    f"known properties: {known}"
                )
            self._take()
            self.names.add(token.text)
            return token.text
        raise self._error("expected a property name or a number")

    def _comparison(self) -> _Node:
        operands = [self._operand()]
        ops: list[str] = []
        while self._peek().kind == "op" and len(ops) < 2:
            ops.append(self._take().text)
            operands.append(self._operand())
        if not ops:
            raise self._error("expected a comparison operator (<, <=, >, >=, ==, !=)")
        pairs = [_Compare(operands[i], ops[i], operands[i + 1]) for i in range(len(ops))]
        for pair in pairs:
            if isinstance(pair.left, str) == isinstance(pair.right, str):
                raise QuerySyntaxError(
                    f"feature query {self.text!r}: each comparison needs one property and one "
                    f"number, got {pair.left!r} {pair.op} {pair.right!r}"
                )
        return pairs[0] if len(pairs) == 1 else _BoolOp("&", tuple(pairs))


def _evaluate(node: _Node, values: Mapping[str, FloatArray], n: int) -> BoolArray:
    if isinstance(node, _Compare):
        left = values[node.left] if isinstance(node.left, str) else np.full(n, node.left)
        right = values[node.right] if isinstance(node.right, str) else np.full(n, node.right)
        return np.asarray(_OPS[node.op](left, right), dtype=bool)
    if isinstance(node, _Not):
        return ~_evaluate(node.inner, values, n)
    results = [_evaluate(part, values, n) for part in node.parts]
    combine = np.logical_and if node.op == "&" else np.logical_or
    out = results[0]
    for result in results[1:]:
        out = combine(out, result)
    return out


@dataclass(frozen=True)
class Query:
    """A parsed feature query.

    Attributes
    ----------
    text : str
        The query as written.
    properties : frozenset of str
        The property names it uses.
    """

    text: str
    properties: frozenset[str]
    _tree: _Node

    def __call__(self, values: Mapping[str, npt.ArrayLike]) -> BoolArray:
        """Evaluate on per-object property arrays; True marks the objects that match."""
        missing = sorted(self.properties - set(values))
        if missing:
            raise KeyError(
                f"feature query {self.text!r}: no values for {', '.join(map(repr, missing))}; "
                "pass one value per object for every property the query uses"
            )
        arrays: dict[str, FloatArray] = {}
        for name in sorted(self.properties):
            try:
                array = np.asarray(values[name], dtype=np.float64)
            except (TypeError, ValueError) as error:
                raise ValueError(
                    f"feature query {self.text!r}: values of {name!r} must be numbers ({error})"
                ) from None
            if array.ndim != 1:
                raise ValueError(
                    f"feature query {self.text!r}: values of {name!r} must be 1-D (one per "
                    f"object), got shape {array.shape}"
                )
            arrays[name] = array
        lengths = {len(array) for array in arrays.values()}
        if len(lengths) > 1:
            found = ", ".join(f"{name}: {len(array)}" for name, array in arrays.items())
            raise ValueError(
                f"feature query {self.text!r}: every property needs one value per object; "
                f"got different lengths ({found})"
            )
        n = lengths.pop() if lengths else 0
        return _evaluate(self._tree, arrays, n)


def parse_query(text: str, properties: Collection[str]) -> Query:
    """Parse a Celldetective feature query without evaluating any code.

    Parameters
    ----------
    text : str
        For example ``"area < 80"`` or ``"area > 2000 or (eccentricity > 0.9 and solidity < 0.8)"``.
    properties : collection of str
        The property names the query may use.

    Returns
    -------
    Query
        Callable on a mapping ``{property: values per object}``; True where an object matches.

    Raises
    ------
    QuerySyntaxError
        When the text is not ``<property> <op> <number>`` terms joined by and/or/not, names an
        unknown property, is longer than `QUERY_LENGTH_MAX` characters or nests parentheses and
        ``not`` deeper than `QUERY_DEPTH_MAX`.

    Examples
    --------
    >>> query = parse_query("area < 80 or 0.9 < eccentricity", {"area", "eccentricity"})
    >>> query({"area": [50, 100, 200], "eccentricity": [0.1, 0.95, 0.2]}).tolist()
    [True, True, False]
    """
    if not isinstance(text, str):
        raise QuerySyntaxError(
            f"feature query must be a string like 'area < 80', got {type(text).__name__}"
        )
    if len(text) > QUERY_LENGTH_MAX:
        raise QuerySyntaxError(
            f"feature query {text[:40]!r}... is {len(text)} characters long; a query may have at "
            f"most {QUERY_LENGTH_MAX}: split it into several queries (each one removes objects)"
        )
    parser = _Parser(text, properties)
    tree = parser.parse()
    return Query(text, frozenset(parser.names), tree)
