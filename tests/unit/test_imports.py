"""The pure domain packages import without streams machinery, module by module."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import atlas_streams.drift
import atlas_streams.profiling
import atlas_streams.rbac
import atlas_streams.registry
import atlas_streams.windowing

STREAMS = ("faust", "aiohttp", "mode", "aiokafka")
# Access control and the registry need no numerical code either.
FORBIDDEN = {
    atlas_streams.profiling: STREAMS,
    atlas_streams.drift: STREAMS,
    atlas_streams.windowing: STREAMS,
    atlas_streams.registry: (*STREAMS, "numpy"),
    atlas_streams.rbac: (*STREAMS, "numpy"),
}
CASES = [
    (name, forbidden)
    for package, forbidden in FORBIDDEN.items()
    for name in [package.__name__]
    + [m.name for m in pkgutil.iter_modules(package.__path__, package.__name__ + ".")]
]


@pytest.mark.parametrize(("module", "forbidden"), CASES, ids=[c[0] for c in CASES])
def test_pure_module_imports_without_streams_machinery(module: str, forbidden: tuple) -> None:
    """Import the module in a fresh interpreter and list the forbidden packages it loaded."""
    script = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "", f"{module} loaded: {result.stdout.strip()}"
