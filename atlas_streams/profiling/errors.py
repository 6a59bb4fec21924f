"""Errors raised by the profiling package."""

from __future__ import annotations

__all__ = ["IncompatibleProfilesError", "ProfileError", "ProfileFormatError"]


class ProfileError(ValueError):
    """Base class of every profiling error."""


class ProfileFormatError(ProfileError):
    """Profile bytes could not be decoded: corrupt, truncated or of an unknown format version."""


class IncompatibleProfilesError(ProfileError):
    """Two profiles built with different ProfileOptions cannot be merged."""
