"""The model artifact store: stream uploads to disk or S3, and stream verified downloads.

Artifact bytes never go through Kafka: the registry records only an artifact's URI, sha256
and size. :func:`open_store` picks the driver by URI scheme (``file://`` on the standard
library, ``s3://`` and ``memory://`` through fsspec); :class:`ArtifactStore` does the
streaming, hashing and size checks once for every driver.

An artifact is stored at ``<root>/<model>/<version>/<sha256>``: content-addressed, so the
bytes behind a URI the registry recorded never change, and a new upload never disturbs a
download in progress.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar
from urllib.parse import urlsplit

from ..registry.names import check_model_name, parse_version
from .errors import ArtifactCorrupt, ArtifactNotFound, ArtifactTooLarge, StoreUnavailable
from .local import LocalFiles
from .remote import SCHEMES, FsspecFiles

__all__ = ["ArtifactInfo", "ArtifactStore", "Files", "default_store_uri", "open_store"]

CHUNK_SIZE = 1 << 20  # bytes per thread hop: big enough that the hop cost is noise
_SHA256 = re.compile(r"[0-9a-f]{64}")
T = TypeVar("T")


@dataclass(frozen=True)
class ArtifactInfo:
    """Where an artifact was stored, its sha256 (hex) and its size in bytes."""

    uri: str
    sha256: str
    size: int


class Files(Protocol):
    """The blocking primitives a driver gives the store; keys are ``model/version/sha256``."""

    uri: str

    def key_uri(self, key: str) -> str:
        """Return the URI of the artifact at ``key``."""

    def key_of(self, uri: str) -> str | None:
        """Return the key of ``uri``, or None when it is not in this store."""

    def open_temp(self) -> tuple[BinaryIO, str]:
        """Create a temporary file; return it open for writing and its name."""

    def seal(self, handle: BinaryIO) -> None:
        """Make a temporary file's bytes durable and close it."""

    def abort(self, handle: BinaryIO, temp: str) -> None:
        """Close and remove a temporary file."""

    def commit(self, temp: str, key: str) -> None:
        """Move a sealed temporary file to ``key`` atomically."""

    def open_read(self, key: str) -> BinaryIO:
        """Open the artifact at ``key``; raise FileNotFoundError if absent."""

    def remove(self, key: str) -> None:
        """Remove the artifact at ``key`` if present."""


class _Digest(Protocol):
    def update(self, data: bytes | bytearray, /) -> None: ...


def default_store_uri(data_dir: Path) -> str:
    """Return the URI of the default store, ``<data_dir>/artifacts``."""
    return (data_dir.resolve() / "artifacts").as_uri()


def open_store(uri: str, chunk_size: int = CHUNK_SIZE) -> ArtifactStore:
    """Return the store at ``file:///absolute/dir``, ``s3://bucket/prefix`` or ``memory://x``.

    Raises:
        StoreUnavailable: the URI is malformed, or s3fs is not installed for ``s3://``.
    """
    scheme = urlsplit(uri).scheme
    if scheme == "file":
        return ArtifactStore(LocalFiles.from_uri(uri), chunk_size)
    if scheme in SCHEMES:
        return ArtifactStore(FsspecFiles(uri), chunk_size)
    raise StoreUnavailable(
        f"artifact store {uri!r} has an unsupported scheme; use file:///absolute/dir or "
        "s3://bucket/prefix"
    )


class ArtifactStore:
    """Stream artifacts into and out of one driver, checking size and sha256 on the way."""

    def __init__(self, files: Files, chunk_size: int = CHUNK_SIZE) -> None:
        self.files = files
        self.chunk_size = chunk_size

    @property
    def uri(self) -> str:
        """Return the URI of the store's root."""
        return self.files.uri

    async def put(
        self, model: str, version: str, chunks: AsyncIterator[bytes], max_bytes: int
    ) -> ArtifactInfo:
        """Store the bytes of ``chunks`` as the artifact of ``model`` ``version``.

        The bytes go to a temporary file in ``chunk_size`` writes (never all in memory) and
        are hashed on the way; the file is moved into place only once complete.

        Raises:
            Invalid: the model or version name is not valid (so cannot escape the root).
            ArtifactTooLarge: more than ``max_bytes`` arrived; nothing is kept.
        """
        key_dir = f"{check_model_name(model, 'model')}/{parse_version(version)}"
        handle, temp = await _settled(self.files.open_temp)
        try:
            digest, size = await self._write(handle, chunks, max_bytes)
            await _settled(self.files.seal, handle)
            key = f"{key_dir}/{digest}"
            await _settled(self.files.commit, temp, key)
        except BaseException:
            # Inline, not in a thread: this also runs when the upload task is cancelled.
            self.files.abort(handle, temp)
            raise
        return ArtifactInfo(self.files.key_uri(key), digest, size)

    async def _write(
        self, handle: BinaryIO, chunks: AsyncIterator[bytes], max_bytes: int
    ) -> tuple[str, int]:
        hasher, size, buffer = hashlib.sha256(), 0, bytearray()
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise ArtifactTooLarge(
                    f"artifact is over the limit of {max_bytes} bytes; upload a smaller file "
                    "or raise the limit"
                )
            buffer += chunk
            if len(buffer) >= self.chunk_size:
                await _settled(_write_chunk, handle, hasher, buffer)
                buffer.clear()
        if buffer:
            await _settled(_write_chunk, handle, hasher, buffer)
        return hasher.hexdigest(), size

    async def open_verified(self, uri: str, sha256: str, size: int) -> AsyncIterator[bytes]:
        """Check the artifact is there with ``size`` bytes; return its bytes, hash-checked.

        Missing and wrongly sized artifacts fail here, before a response is started. The
        sha256 is checked while streaming, and the last chunk is held back until it has
        been, so a reader never receives all of a corrupt artifact: it gets the error.

        Raises:
            ArtifactNotFound: nothing is stored at ``uri``, or ``uri`` is outside the store.
            ArtifactCorrupt: the stored size differs (here) or the sha256 (while iterating).
        """
        key = self._key(uri)
        stored = await asyncio.to_thread(self._stored_size, key, uri)
        if stored != size:
            raise self._corrupt(uri, sha256, size)
        return self._stream(key, uri, sha256.lower(), size)

    async def _stream(self, key: str, uri: str, sha256: str, size: int) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self._open, key, uri)
        try:
            hasher, seen, held = hashlib.sha256(), 0, b""
            while chunk := await asyncio.to_thread(_read_chunk, handle, hasher, self.chunk_size):
                seen += len(chunk)
                if seen > size:
                    break
                if held:
                    yield held
                held = chunk
            if seen != size or hasher.hexdigest() != sha256:
                raise self._corrupt(uri, sha256, size)
            if held:
                yield held
        finally:
            handle.close()

    async def verify(self, uri: str, sha256: str, size: int) -> None:
        """Read the whole artifact and check it, without keeping its bytes.

        Raises:
            ArtifactNotFound: nothing is stored at ``uri``, or ``uri`` is outside the store.
            ArtifactCorrupt: the stored bytes differ in size or sha256.
        """
        async for _ in await self.open_verified(uri, sha256, size):
            pass

    async def delete(self, uri: str) -> None:
        """Remove the artifact at ``uri``; removing a missing one is not an error.

        Raises:
            ArtifactNotFound: ``uri`` is outside the store.
        """
        await asyncio.to_thread(self.files.remove, self._key(uri))

    def _key(self, uri: str) -> str:
        key = self.files.key_of(uri)
        parts = key.split("/") if key else []
        if len(parts) != 3 or not _SHA256.fullmatch(parts[2]) or not _valid(*parts[:2]):
            raise ArtifactNotFound(
                f"{uri!r} is not an artifact of the store at {self.uri}; use the URI "
                "recorded on the model version"
            )
        return "/".join(parts)

    def _open(self, key: str, uri: str) -> BinaryIO:
        try:
            return self.files.open_read(key)
        except FileNotFoundError:
            raise ArtifactNotFound(
                f"no artifact is stored at {uri}; upload it again and set the artifact anew"
            ) from None

    def _stored_size(self, key: str, uri: str) -> int:
        with self._open(key, uri) as handle:
            return handle.seek(0, io.SEEK_END)

    @staticmethod
    def _corrupt(uri: str, sha256: str, size: int) -> ArtifactCorrupt:
        return ArtifactCorrupt(
            f"artifact {uri} does not match the registry (expected {size} bytes with sha256 "
            f"{sha256}); upload it again and set the artifact anew"
        )


async def _settled(function: Callable[..., T], *args: Any) -> T:
    """Run ``function`` in a thread; if cancelled, let it finish before cancelling the caller.

    A cancelled upload then cleans up after the blocking call, never while it still runs.
    """
    future = asyncio.ensure_future(asyncio.to_thread(function, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


def _valid(model: str, version: str) -> bool:
    try:
        return check_model_name(model) == model and parse_version(version) == version
    except ValueError:
        return False


def _write_chunk(handle: BinaryIO, hasher: _Digest, data: bytearray) -> None:
    hasher.update(data)
    handle.write(data)


def _read_chunk(handle: BinaryIO, hasher: _Digest, size: int) -> bytes:
    data = handle.read(size)
    hasher.update(data)
    return data
