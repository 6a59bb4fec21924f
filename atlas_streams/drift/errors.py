"""Errors raised by the drift package."""

from __future__ import annotations

__all__ = ["DriftError", "ThresholdsError"]


class DriftError(ValueError):
    """Base class of every drift error."""


class ThresholdsError(DriftError):
    """A thresholds body names an unknown metric or gives a value out of range."""

    def __init__(self, field: str, message: str) -> None:
        """Name the offending ``field`` and say what to send instead."""
        super().__init__(f"{field}: {message}")
        self.field = field
