"""The artifact store's local-disk driver, on the standard library alone.

Uploads are written under ``<root>/.tmp/`` and renamed into place with :func:`os.replace`, which
is atomic because both are on the same filesystem. Every method blocks; the store calls them
in a thread.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from .errors import StoreUnavailable

__all__ = ["LocalFiles"]

_TEMP = ".tmp"  # not a valid model name, so never a key's first segment


class LocalFiles:
    """Artifacts kept as files under a root directory."""

    def __init__(self, root: Path) -> None:
        if not root.is_absolute():
            raise StoreUnavailable(f"artifact root {root} must be an absolute path")
        self.root = root
        self.uri = root.as_uri()

    @classmethod
    def from_uri(cls, uri: str) -> LocalFiles:
        """Return the driver for a ``file:///absolute/dir`` URI."""
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise StoreUnavailable(
                f"artifact store {uri!r} is not a local directory; write file:///absolute/dir"
            )
        return cls(Path(unquote(parts.path)))

    def key_uri(self, key: str) -> str:
        """Return the URI of the artifact at ``key``."""
        return (self.root / key).as_uri()

    def key_of(self, uri: str) -> str | None:
        """Return the key of ``uri``, or None when it is not under the root."""
        parts = urlsplit(uri)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            return None
        prefix = self.root.as_posix().rstrip("/") + "/"
        path = unquote(parts.path)
        return path[len(prefix):] if path.startswith(prefix) else None

    def open_temp(self) -> tuple[BinaryIO, str]:
        """Create a new temporary file; return it open for writing and its name."""
        temp_dir = self.root / _TEMP
        temp_dir.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        return open(temp_dir / name, "xb"), name  # the store closes it

    def seal(self, handle: BinaryIO) -> None:
        """Flush the temporary file to disk and close it."""
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()

    def abort(self, handle: BinaryIO, temp: str) -> None:
        """Close and remove a temporary file."""
        handle.close()
        (self.root / _TEMP / temp).unlink(missing_ok=True)

    def commit(self, temp: str, key: str) -> None:
        """Move a sealed temporary file to ``key`` atomically."""
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.root / _TEMP / temp, target)

    def open_read(self, key: str) -> BinaryIO:
        """Open the artifact at ``key`` for reading; raise FileNotFoundError if absent."""
        return open(self.root / key, "rb")  # the store closes it

    def remove(self, key: str) -> None:
        """Remove the artifact at ``key`` if it is there."""
        (self.root / key).unlink(missing_ok=True)
