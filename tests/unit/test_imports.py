"""The pure domain packages import without faust, aiohttp or any streams machinery."""

from __future__ import annotations

import subprocess
import sys

import pytest

FORBIDDEN = ("faust", "aiohttp", "mode", "aiokafka")


@pytest.mark.parametrize(
    "package", ["atlas_streams.profiling", "atlas_streams.registry", "atlas_streams.rbac"]
)
def test_pure_package_imports_without_streams_machinery(package: str) -> None:
    """Import the package in a fresh interpreter and list forbidden modules it loaded."""
    script = (
        "import importlib, sys\n"
        f"importlib.import_module({package!r})\n"
        f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "", f"{package} loaded: {result.stdout.strip()}"
