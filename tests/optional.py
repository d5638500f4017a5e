"""Optional dependencies in tests: skip when absent, fail instead when CI says they must be there."""

from __future__ import annotations

import os
from typing import Any

import pytest


def import_or_skip(module: str, *, env: str, install: str) -> Any:
    """Import an optional module; skip when absent unless ``env``=1 makes that a failure (CI)."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as err:
        if os.environ.get(env) == "1":
            pytest.fail(f"{env}=1 but {module} cannot be imported ({err}); {install}")
        pytest.skip(f"{module} is not installed ({install})")
