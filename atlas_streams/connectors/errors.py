"""Errors of the connectors; each says what to change."""

from __future__ import annotations

__all__ = ["ConnectorConfigError", "ConnectorError", "ConnectorUnreachable"]


class ConnectorError(RuntimeError):
    """A connector could not do what was asked."""


class ConnectorConfigError(ConnectorError, ValueError):
    """A configuration key is unknown, missing or invalid; ``key`` names it."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"invalid connector setting {key}: {problem}")
        self.key = key
        self.problem = problem


class ConnectorUnreachable(ConnectorError, ConnectionError):
    """No broker answered, or the TLS/SASL handshake with it failed."""
