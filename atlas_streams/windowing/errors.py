"""Errors raised by the windowing package."""

from __future__ import annotations

__all__ = ["WindowStateError", "WindowingConfigError", "WindowingError"]


class WindowingError(ValueError):
    """Base class of every windowing error."""


class WindowingConfigError(WindowingError):
    """A windowing body names an unknown field or gives a value out of range."""

    def __init__(self, field: str, message: str) -> None:
        """Name the offending ``field`` and say what to send instead."""
        super().__init__(f"{field}: {message}")
        self.field = field


class WindowStateError(WindowingError):
    """Stored window state is unreadable, or a step was asked to break exactly-once counting."""
