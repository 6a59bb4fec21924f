from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from atlas_streams.artifacts import (
    ArtifactCorrupt,
    ArtifactNotFound,
    ArtifactStore,
    ArtifactTooLarge,
    StoreUnavailable,
    default_store_uri,
    open_store,
)
from atlas_streams.registry import Invalid

CHUNK = 64  # small, so every test crosses many chunk boundaries
HAS_FSSPEC = importlib.util.find_spec("fsspec") is not None
PAYLOAD = bytes(range(256)) * 5 + b"tail"  # 1284 bytes: not a multiple of CHUNK


async def pieces(data: bytes, size: int = 50) -> AsyncIterator[bytes]:
    """Yield ``data`` in pieces of ``size`` bytes, as an HTTP body would arrive."""
    for start in range(0, len(data), size):
        yield data[start:start + size]
        await asyncio.sleep(0)


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    """Return every chunk joined."""
    return b"".join([chunk async for chunk in chunks])


@pytest.fixture(params=["file", pytest.param("memory", marks=pytest.mark.skipif(
    not HAS_FSSPEC, reason="the memory:// store needs fsspec"))])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    """Return a store on local disk under tmp_path, or in fsspec's memory filesystem."""
    if request.param == "file":
        yield open_store((tmp_path / "artifacts").as_uri(), chunk_size=CHUNK)
        return
    root = f"memory://atlas-test-{uuid.uuid4().hex}"
    yield open_store(root, chunk_size=CHUNK)
    import fsspec

    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


def stored(store: ArtifactStore) -> list[str]:
    """Return the URIs of every file in the store, temporary ones included."""
    if store.uri.startswith("file:"):
        root = Path(unquote(urlsplit(store.uri).path))
        return sorted(p.as_uri() for p in root.rglob("*") if p.is_file())
    import fsspec

    fs = fsspec.filesystem("memory")
    prefix = store.uri.removeprefix("memory://")
    return sorted(f"memory://{p.lstrip('/')}" for p in fs.find(prefix))


def overwrite(uri: str, data: bytes) -> None:
    """Replace the bytes stored at ``uri``, behind the store's back."""
    if uri.startswith("file:"):
        Path(unquote(urlsplit(uri).path)).write_bytes(data)
        return
    import fsspec

    with fsspec.open(uri, "wb") as handle:
        handle.write(data)


async def test_round_trip(store: ArtifactStore) -> None:
    info = await store.put("churn", "1.2.0-rc.1+b7", pieces(PAYLOAD), max_bytes=10_000)
    assert info.sha256 == hashlib.sha256(PAYLOAD).hexdigest() and info.size == len(PAYLOAD)
    assert info.uri.startswith(store.uri + "/churn/") and info.uri.endswith(info.sha256)
    assert stored(store) == [info.uri]  # no temporary file left behind
    chunks = [c async for c in await store.open_verified(info.uri, info.sha256, info.size)]
    assert b"".join(chunks) == PAYLOAD and max(map(len, chunks)) <= CHUNK
    await store.verify(info.uri, info.sha256.upper(), info.size)


async def test_empty_and_exact_limit(store: ArtifactStore) -> None:
    empty = await store.put("m", "1.0.0", pieces(b""), max_bytes=0)
    assert empty.size == 0
    assert await collect(await store.open_verified(empty.uri, empty.sha256, 0)) == b""
    exact = await store.put("m", "1.0.1", pieces(PAYLOAD), max_bytes=len(PAYLOAD))
    assert exact.size == len(PAYLOAD)


async def test_same_bytes_twice_give_the_same_uri(store: ArtifactStore) -> None:
    first = await store.put("m", "1.0.0", pieces(PAYLOAD), max_bytes=10_000)
    again = await store.put("m", "1.0.0", pieces(PAYLOAD, 7), max_bytes=10_000)
    other = await store.put("m", "1.0.0", pieces(PAYLOAD + b"!"), max_bytes=10_000)
    assert first == again and other.uri != first.uri
    assert stored(store) == sorted([first.uri, other.uri])


async def test_over_the_limit_keeps_nothing(store: ArtifactStore) -> None:
    with pytest.raises(ArtifactTooLarge, match="over the limit of 1000 bytes"):
        await store.put("m", "1.0.0", pieces(PAYLOAD), max_bytes=1000)
    assert stored(store) == []


async def test_limit_is_enforced_while_streaming(store: ArtifactStore) -> None:
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 1
            yield b"x" * 100

    with pytest.raises(ArtifactTooLarge):
        await store.put("m", "1.0.0", endless(), max_bytes=1000)
    assert pulled == 11 and stored(store) == []


async def test_failed_or_cancelled_upload_keeps_nothing(store: ArtifactStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * 500
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.put("m", "1.0.0", broken(), max_bytes=10_000)

    started = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b"x" * 500
        started.set()
        await asyncio.Event().wait()
        yield b""

    task = asyncio.create_task(store.put("m", "1.0.0", stalled(), max_bytes=10_000))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stored(store) == []


async def test_corruption_is_detected_before_the_last_chunk(store: ArtifactStore) -> None:
    info = await store.put("m", "1.0.0", pieces(PAYLOAD), max_bytes=10_000)
    overwrite(info.uri, PAYLOAD[:-1] + b"X")  # same size, different bytes
    received = b""
    reader = await store.open_verified(info.uri, info.sha256, info.size)
    with pytest.raises(ArtifactCorrupt, match="upload it again"):
        async for chunk in reader:
            received += chunk
    assert 0 < len(received) < info.size  # the reader never got the whole (bad) artifact
    with pytest.raises(ArtifactCorrupt):
        await store.verify(info.uri, "0" * 64, info.size)


async def test_wrong_size_fails_before_streaming(store: ArtifactStore) -> None:
    info = await store.put("m", "1.0.0", pieces(PAYLOAD), max_bytes=10_000)
    with pytest.raises(ArtifactCorrupt):
        await store.open_verified(info.uri, info.sha256, info.size + 1)
    overwrite(info.uri, PAYLOAD + b"more")
    with pytest.raises(ArtifactCorrupt):
        await store.open_verified(info.uri, info.sha256, info.size)


async def test_missing_and_foreign_uris_are_not_found(store: ArtifactStore) -> None:
    info = await store.put("m", "1.0.0", pieces(PAYLOAD), max_bytes=10_000)
    await store.delete(info.uri)
    await store.delete(info.uri)  # deleting twice is fine
    with pytest.raises(ArtifactNotFound, match="no artifact is stored"):
        await store.open_verified(info.uri, info.sha256, info.size)
    key_dir = info.uri.rsplit("/", 1)[0]
    for uri in ["file:///etc/passwd", f"{store.uri}/m/1.0.0/../../../../etc/passwd",
                f"{store.uri}/../m/1.0.0/{info.sha256}", f"{key_dir}/not-a-digest",
                f"{store.uri}/.tmp/{info.sha256}", f"{store.uri}/m/latest/{info.sha256}",
                "s3://elsewhere/m/1.0.0/" + info.sha256]:
        with pytest.raises(ArtifactNotFound, match="not an artifact of the store"):
            await store.open_verified(uri, info.sha256, info.size)
        with pytest.raises(ArtifactNotFound):
            await store.delete(uri)


@pytest.mark.parametrize(
    ("model", "version"),
    [("..", "1.0.0"), ("../x", "1.0.0"), ("a/b", "1.0.0"), (".tmp", "1.0.0"), ("", "1.0.0"),
     ("m", "../../etc"), ("m", "1.0.0/../x"), ("m", "latest"), ("m", "")],
)
async def test_traversal_names_are_refused(store: ArtifactStore, model: str,
                                           version: str) -> None:
    with pytest.raises(Invalid):
        await store.put(model, version, pieces(PAYLOAD), max_bytes=10_000)
    assert stored(store) == []


def test_s3_without_s3fs_names_the_extra() -> None:
    if importlib.util.find_spec("s3fs") is not None:
        pytest.skip("s3fs is installed")
    with pytest.raises(StoreUnavailable, match=r"pip install 'atlas-streams\[s3\]'"):
        open_store("s3://bucket/models")


@pytest.mark.parametrize("uri", ["ftp://host/x", "models", "file://relative/dir", "gs://b/x"])
def test_unsupported_uris_are_refused(uri: str) -> None:
    with pytest.raises(StoreUnavailable, match="file:///absolute/dir"):
        open_store(uri)


def test_default_store_is_under_the_data_dir(tmp_path: Path) -> None:
    uri = default_store_uri(tmp_path / "data")
    assert uri == (tmp_path / "data" / "artifacts").as_uri()
    assert open_store(uri).uri == uri


def test_opening_a_store_touches_no_disk(tmp_path: Path) -> None:
    open_store((tmp_path / "nowhere").as_uri())
    assert not (tmp_path / "nowhere").exists()
