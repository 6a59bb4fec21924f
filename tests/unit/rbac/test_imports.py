"""The access-control domain imports neither faust nor aiohttp and does nothing at import."""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = [
    "atlas_streams.rbac",
    "atlas_streams.rbac.accounts",
    "atlas_streams.rbac.audit",
    "atlas_streams.rbac.endpoints",
    "atlas_streams.rbac.errors",
    "atlas_streams.rbac.keys",
    "atlas_streams.rbac.masking",
    "atlas_streams.rbac.payloads",
    "atlas_streams.rbac.permissions",
    "atlas_streams.rbac.policy",
    "atlas_streams.rbac.roles",
    "atlas_streams.rbac.users",
]

CHECK = """
import sys, importlib
importlib.import_module({module!r})
loaded = sorted(m for m in ("faust", "aiohttp", "aiokafka", "mode", "numpy") if m in sys.modules)
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
def test_module_declares_its_exports(module: str) -> None:
    imported = __import__(module, fromlist=["__all__"])
    assert imported.__all__
    for name in imported.__all__:
        assert hasattr(imported, name), (module, name)
