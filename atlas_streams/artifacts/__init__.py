"""Model artifact storage: streamed, size-limited, sha256-checked, never through Kafka."""

from __future__ import annotations

from .errors import (
    ArtifactCorrupt,
    ArtifactError,
    ArtifactNotFound,
    ArtifactTooLarge,
    StoreUnavailable,
)
from .store import ArtifactInfo, ArtifactStore, Files, default_store_uri, open_store

__all__ = [
    "ArtifactCorrupt",
    "ArtifactError",
    "ArtifactInfo",
    "ArtifactNotFound",
    "ArtifactStore",
    "ArtifactTooLarge",
    "Files",
    "StoreUnavailable",
    "default_store_uri",
    "open_store",
]
