"""A small driver that runs commands through parse -> decide -> apply, as the agent does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from atlas_streams.registry import Event, ModelState, apply, decide, parse_command

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class Driver:
    """Hold one model's state and every event emitted for it."""

    def __init__(self, model: str = "churn") -> None:
        self.model = model
        self.state: ModelState | None = None
        self.events: list[Event] = []
        self.clock = 0

    def do(self, action: str, body: Any = None, version: str | None = None) -> list[Event]:
        """Run one command one second after the previous one; return its events."""
        self.clock += 1
        command = parse_command(action, body, model=self.model, version=version)
        events = decide(
            self.state, command, now=T0 + timedelta(seconds=self.clock), actor="ann"
        )
        for event in events:
            self.state = apply(self.state, event)
        self.events.extend(events)
        return events

    def add(self, version: str, framework: str = "sklearn", **fields: Any) -> list[Event]:
        """Add a version with the given body fields."""
        return self.do("add_version", {"version": version, "framework": framework, **fields})

    def to_production(self, version: str) -> None:
        """Move a development version to staging, then production."""
        self.do("promote_staging", version=version)
        self.do("promote_production", version=version)

    @property
    def live(self) -> ModelState:
        """Return the state, which must exist."""
        assert self.state is not None
        return self.state


@pytest.fixture(scope="session")
def new_driver() -> type[Driver]:
    """Return the driver class, to start a model from nothing."""
    return Driver


@pytest.fixture
def reg() -> Driver:
    """Return a driver with model ``churn`` registered."""
    driver = Driver()
    driver.do("register_model", {"name": "churn", "description": "Churn model", "tags": ["crm"]})
    return driver
