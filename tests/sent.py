"""What a widget sends to the browser, recorded for tests that act as the browser."""

from __future__ import annotations

from typing import Any

import pytest

Sent = list[tuple[dict[str, Any], list[Any]]]


def capture(widget: Any, monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Record every message ``widget`` sends: a list of ``(content, buffers)`` that grows."""
    sent: Sent = []

    def send(content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        sent.append((content, list(buffers or [])))

    monkeypatch.setattr(widget, "send", send)
    return sent
