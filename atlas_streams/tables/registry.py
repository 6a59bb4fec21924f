"""The model registry's table: each model's state, and the commands already carried out on it.

``registry_models`` is an :class:`~atlas_streams.tables.owned.OwnedTable`: the registry agent,
which consumes a single-partition command topic, decides on its own one-partition table (one
writer, so commands on a model are applied one at a time and in order, always on the latest
value), and every worker answers queries from its global copy.

A value is a :class:`StoredModel`: the model's state plus the ids of the last commands carried
out on that name, refused ones included. At-least-once delivery replays commands after a crash
or rebalance; a command whose id is listed is not carried out again. The ids live in the same
value as the state they guard, so both reach the changelog in one record. A deleted model keeps
its key with ``state`` None (a tombstone), so a replayed command that ran before the deletion
(its registration, say) cannot bring it back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import faust
import orjson

from atlas_streams.registry import ModelState
from atlas_streams.tables.owned import OwnedTable, define_owned_table

__all__ = ["FORMAT_VERSION", "RECENT_COMMANDS", "RegistryTables", "StoredModel",
           "define_registry_tables"]

FORMAT_VERSION = 1
# Ids kept per model. A replay covers at most the commands since the last offset commit (a few
# seconds), so this bounds how many commands on one model may arrive in that time.
RECENT_COMMANDS = 128


@dataclass(frozen=True)
class StoredModel:
    """A model's state (None once deleted) and the ids of its latest commands, oldest first.

    ``refused`` maps the ids of refused commands among them to the refusal (error kind and
    message), so a replayed command gets the answer it got the first time.
    """

    state: ModelState | None
    commands: tuple[str, ...] = ()
    refused: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def has_run(self, command_id: str) -> bool:
        """Return True when the command ``command_id`` was already carried out on this model."""
        return command_id in self.commands

    def refusal(self, command_id: str) -> tuple[str, str] | None:
        """Return (error kind, message) if the command ``command_id`` was refused, else None."""
        return self.refused.get(command_id)

    def after(
        self, state: ModelState | None, command_id: str, refusal: tuple[str, str] | None = None
    ) -> StoredModel:
        """Return the value after the command ``command_id`` left ``state`` (or was refused)."""
        commands = (*self.commands, command_id)[-RECENT_COMMANDS:]
        refused = {c: self.refused[c] for c in commands if c in self.refused}
        if refusal is not None:
            refused[command_id] = refusal
        return StoredModel(state, commands, refused)

    def to_bytes(self) -> bytes:
        """Return the value as stored: a format byte, then JSON."""
        doc = {"commands": list(self.commands),
               "refused": {c: list(r) for c, r in self.refused.items()},
               "state": None if self.state is None else self.state.to_dict()}
        return bytes([FORMAT_VERSION]) + orjson.dumps(doc)

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredModel:
        """Return the value ``to_bytes`` wrote.

        Raises:
            ValueError: the bytes are empty or of another format.
        """
        if not data or data[0] != FORMAT_VERSION:
            raise ValueError(
                f"registry table value has format {data[0] if data else 'nothing'}, this "
                f"release reads {FORMAT_VERSION}; upgrade atlas-streams"
            )
        doc = orjson.loads(data[1:])
        state = None if doc["state"] is None else ModelState.from_dict(doc["state"])
        refused = {c: (str(r[0]), str(r[1])) for c, r in doc.get("refused", {}).items()}
        return cls(state, tuple(doc["commands"]), refused)


@dataclass(frozen=True)
class RegistryTables:
    """The registry's tables, as registered on the app."""

    models: OwnedTable  # model name -> StoredModel bytes

    def stored(self, name: str) -> StoredModel | None:
        """Return what is stored under ``name`` in this worker's copy, if anything."""
        value = self.models.get(name)
        return StoredModel.from_bytes(value) if value else None

    def owned(self, name: str) -> StoredModel | None:
        """Return the registry agent's value for ``name`` (call only from that agent)."""
        value = self.models.owned(name)
        return StoredModel.from_bytes(value) if value else None

    def model(self, name: str) -> ModelState | None:
        """Return the live model ``name`` from this worker's copy, or None."""
        stored = self.stored(name)
        return stored.state if stored else None

    def models_now(self) -> Iterator[ModelState]:
        """Yield every live model in this worker's copy."""
        for value in list(self.models.values()):
            state = StoredModel.from_bytes(value).state
            if state is not None:
                yield state


def define_registry_tables(app: faust.App) -> RegistryTables:
    """Register the registry's tables on ``app``."""
    return RegistryTables(
        define_owned_table(app, "registry_models", "model states and their recent command ids")
    )
