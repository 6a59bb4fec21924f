"""The artifact store's fsspec driver, for ``s3://bucket/prefix`` (and ``memory://`` in tests).

fsspec, and s3fs for S3, are imported only when such a store is opened, so the package works
without them. Uploads go to ``<root>/.tmp/`` and are moved into place once complete; an S3
object becomes visible only when its upload completes, so readers never see part of one.
Every method blocks; the store calls them in a thread.
"""

from __future__ import annotations

import importlib
import uuid
from typing import Any, BinaryIO

from .errors import StoreUnavailable

__all__ = ["FsspecFiles"]

SCHEMES = ("s3", "memory")
_INSTALL = "pip install 'atlas-streams[s3]'"


class FsspecFiles:
    """Artifacts kept as objects in an fsspec filesystem under a root prefix."""

    def __init__(self, uri: str) -> None:
        try:
            core = importlib.import_module("fsspec.core")
            fs, root = core.url_to_fs(uri)
        except ImportError as exc:
            raise StoreUnavailable(
                f"artifact store {uri!r} needs a driver that is not installed ({exc}); "
                f"run {_INSTALL}"
            ) from None
        self._fs: Any = fs
        self._root = str(root).rstrip("/")
        self.uri = uri.rstrip("/")

    def _path(self, key: str) -> str:
        return f"{self._root}/{key}"

    def key_uri(self, key: str) -> str:
        """Return the URI of the artifact at ``key``."""
        return f"{self.uri}/{key}"

    def key_of(self, uri: str) -> str | None:
        """Return the key of ``uri``, or None when it is not under the root."""
        prefix = self.uri + "/"
        return uri[len(prefix):] if uri.startswith(prefix) else None

    def open_temp(self) -> tuple[BinaryIO, str]:
        """Start a new temporary object; return it open for writing and its name."""
        temp = f".tmp/{uuid.uuid4().hex}"
        handle: BinaryIO = self._fs.open(self._path(temp), "wb")
        return handle, temp

    def seal(self, handle: BinaryIO) -> None:
        """Finish writing the temporary object."""
        handle.close()

    def abort(self, handle: BinaryIO, temp: str) -> None:
        """Abandon a temporary object, cancelling an unfinished multipart upload."""
        discard = getattr(handle, "discard", None)
        if callable(discard):
            discard()
        else:
            handle.close()
        if self._fs.exists(self._path(temp)):
            self._fs.rm(self._path(temp))

    def commit(self, temp: str, key: str) -> None:
        """Move a finished temporary object to ``key``."""
        self._fs.mv(self._path(temp), self._path(key))

    def open_read(self, key: str) -> BinaryIO:
        """Open the artifact at ``key`` for reading; raise FileNotFoundError if absent."""
        handle: BinaryIO = self._fs.open(self._path(key), "rb")
        return handle

    def remove(self, key: str) -> None:
        """Remove the artifact at ``key`` if it is there."""
        if self._fs.exists(self._path(key)):
            self._fs.rm(self._path(key))
