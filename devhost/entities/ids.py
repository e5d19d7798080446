"""Entity ids as the Durable extension spells them (``EntityId.cs``), and its refusals.

The scheduler id of an entity is ``@{name}@{key}`` with the name lower-cased (the SDK's
``EntityId.get_scheduler_id`` and the extension's ``EntityId`` constructor both lower it);
the key keeps its case and may be empty.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

__all__ = ["EntityId", "InvalidEntityId", "find_entity", "is_entity_instance", "missing_entity",
           "refuse_key"]

# The characters DurableClient.IsInvalidCharacter refuses (besides control characters).
_REFUSED_KEY_CHARACTERS = frozenset("/\\#?")


class InvalidEntityId(ValueError):
    """An entity id Azure refuses; ``str()`` is Azure's message."""


def is_entity_instance(instance_id: str) -> bool:
    """Whether a task hub instance id names an entity (only entities' ids start with @)."""
    return instance_id.startswith("@")


@dataclass(frozen=True)
class EntityId:
    """An entity's name (lower-cased) and key."""

    name: str
    key: str

    @classmethod
    def of(cls, name: str, key: str) -> EntityId:
        """The id of entity ``name`` (any case) with ``key``; an empty name is refused."""
        if not name:
            raise InvalidEntityId(
                "Invalid entity id: entity name must not be a null or empty string. "
                "(Parameter 'entityName')")
        return cls(name.lower(), key)

    @classmethod
    def parse(cls, instance_id: str) -> EntityId:
        """Read a scheduler id ``@name@key`` (``GetEntityIdFromSchedulerId``): the name ends
        at the second ``@``; the key is the rest, ``@`` included."""
        if not is_entity_instance(instance_id) or "@" not in instance_id[1:]:
            raise InvalidEntityId(f"{instance_id!r} is not an entity id (@name@key)")
        name, _, key = instance_id[1:].partition("@")
        return cls.of(name, key)

    @property
    def instance_id(self) -> str:
        """The scheduler id: the entity's instance id on the task hub."""
        return f"@{self.name}@{self.key}"

    def as_json(self) -> dict[str, str]:
        """``{"name", "key"}``, as ``EntityId`` serializes."""
        return {"name": self.name, "key": self.key}


def refuse_key(key: str) -> None:
    """Refuse a key as ``SignalEntityAsync`` does: none of ``/ \\ # ?`` or control
    characters. .NET's ``ArgumentException(nameof(entityKey), text)`` puts the text in the
    parameter slot, so Azure's message reads this way."""
    if any(ch in _REFUSED_KEY_CHARACTERS or unicodedata.category(ch) == "Cc" for ch in key):
        raise InvalidEntityId("entityKey (Parameter 'Entity keys must not contain /, \\, #, ?, "
                              "or control characters.')")


def find_entity(name: str, known: Collection[str]) -> str | None:
    """The indexed entity function for ``name``: function names compare ignoring case."""
    wanted = name.lower()
    return next((candidate for candidate in known if candidate.lower() == wanted), None)


def missing_entity(name: str, known_entities: Collection[str], has_orchestrators: bool) -> str:
    """Azure's message for an entity the app does not have
    (``DurableTaskExtension.GetInvalidEntityFunctionMessage``). It lists the entities when
    the app has orchestrators, and otherwise says none are registered, as Azure's does."""
    text = (f"The function '{name}' doesn't exist, is disabled, or is not an entity function. "
            "Additional info: ")
    if has_orchestrators:
        listed = "', '".join(known_entities)
        return text + f"The following are the known entity functions: '{listed}'."
    return text + "No entity functions are currently registered!"
