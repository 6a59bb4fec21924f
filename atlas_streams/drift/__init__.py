"""Drift between two dataset profiles, read from their sketches (pure: no faust, no I/O)."""

from atlas_streams.drift.divergence import Estimate

__all__ = ["Estimate"]
