"""The errors the artifact store raises; each message says what to do.

The web layer maps :class:`ArtifactTooLarge` to 413, :class:`ArtifactNotFound` to 404,
:class:`ArtifactCorrupt` to 500 (the stored bytes no longer match the registry) and
:class:`StoreUnavailable` to 503. Bad model or version names raise the registry's
:class:`~atlas_streams.registry.errors.Invalid` (422).
"""

from __future__ import annotations

__all__ = [
    "ArtifactCorrupt",
    "ArtifactError",
    "ArtifactNotFound",
    "ArtifactTooLarge",
    "StoreUnavailable",
]


class ArtifactError(Exception):
    """Base of every error the artifact store raises."""


class ArtifactTooLarge(ArtifactError):
    """An upload went over the size limit; nothing was stored."""


class ArtifactCorrupt(ArtifactError):
    """Stored bytes do not match the size or sha256 the registry recorded."""


class ArtifactNotFound(ArtifactError):
    """No artifact is stored at the URI, or the URI is outside this store."""


class StoreUnavailable(ArtifactError):
    """The store's URI is malformed or its driver is not installed."""
