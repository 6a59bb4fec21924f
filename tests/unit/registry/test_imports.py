"""The registry domain imports neither faust nor aiohttp and does nothing at import."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

MODULES = [
    "atlas_streams.registry",
    "atlas_streams.registry.commands",
    "atlas_streams.registry.decision",
    "atlas_streams.registry.errors",
    "atlas_streams.registry.events",
    "atlas_streams.registry.metrics",
    "atlas_streams.registry.names",
    "atlas_streams.registry.queries",
    "atlas_streams.registry.stage",
    "atlas_streams.registry.state",
]

CHECK = """
import sys, importlib
importlib.import_module({module!r})
loaded = sorted(m for m in ("faust", "aiohttp", "aiokafka", "mode", "numpy", "fsspec")
                if m in sys.modules)
print(",".join(loaded))
"""


@pytest.mark.parametrize("module", MODULES)
def test_module_loads_no_framework(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": ":".join(sys.path)},
    )
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("module", MODULES)
def test_module_declares_documented_exports(module: str) -> None:
    imported = importlib.import_module(module)
    assert imported.__all__
    for name in imported.__all__:
        value = getattr(imported, name)
        if callable(value):
            assert (value.__doc__ or "").strip(), (module, name)
