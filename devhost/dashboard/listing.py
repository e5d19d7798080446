"""The instance list: filters read from the page's query, and one page of the result.

The durable client's query (the task hub's, as the management API uses it) selects by
runtime status and creation time; the name and the id prefix are applied here, as the
management API applies ``instanceIdPrefix``. Newest first; a page is ``PAGE_SIZE``
instances, the next one found by the offset the page links to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from devhost.engine.client import DurableClient
from devhost.taskhub.base import InstanceQuery, InstanceRecord, RuntimeStatus

__all__ = ["PAGE_SIZE", "BadFilter", "InstanceFilter", "InstancePage", "list_instances"]

PAGE_SIZE = 50
# The query fields of the list page.
FIELDS = ("name", "status", "from", "to", "prefix", "offset")


class BadFilter(ValueError):
    """A filter the page cannot read; its message names the field."""


def _moment(query: Mapping[str, str], field: str) -> datetime | None:
    """A ``datetime-local`` value (``YYYY-MM-DDTHH:MM[:SS]``), read as UTC."""
    text = query.get(field, "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise BadFilter(f"{field}: {text!r} is no date and time (YYYY-MM-DDTHH:MM, UTC)") from err
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class InstanceFilter:
    """What the list shows: every filter given must match."""

    name: str = ""
    status: RuntimeStatus | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    prefix: str = ""
    offset: int = 0

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> InstanceFilter:
        """The filter a list page's query asks for; ``BadFilter`` names a bad field."""
        status_text = query.get("status", "").strip()
        status = None
        if status_text:
            try:
                status = RuntimeStatus(status_text)
            except ValueError as err:
                raise BadFilter(f"status: {status_text!r} is no runtime status") from err
        offset_text = query.get("offset", "0").strip() or "0"
        if not offset_text.isascii() or not offset_text.isdigit() or len(offset_text) > 9:
            raise BadFilter(f"offset: {offset_text!r} is no page offset")
        created_from, created_to = _moment(query, "from"), _moment(query, "to")
        if created_from and created_to and created_from > created_to:
            raise BadFilter("from: later than to")
        return cls(query.get("name", "").strip(), status, created_from, created_to,
                   query.get("prefix", ""), int(offset_text))

    def query_values(self, offset: int | None = None) -> dict[str, str]:
        """The filter as a list page's query (for links), at ``offset`` when given."""
        values = {"name": self.name, "status": self.status.value if self.status else "",
                  "from": self.created_from.strftime("%Y-%m-%dT%H:%M") if self.created_from
                  else "",
                  "to": self.created_to.strftime("%Y-%m-%dT%H:%M") if self.created_to else "",
                  "prefix": self.prefix}
        chosen = self.offset if offset is None else offset
        if chosen:
            values["offset"] = str(chosen)
        return {name: value for name, value in values.items() if value}


@dataclass(frozen=True)
class InstancePage:
    """One page of the list: its instances, where it starts, how many matched in all."""

    instances: list[InstanceRecord]
    offset: int
    total: int

    @property
    def next_offset(self) -> int | None:
        """Where the next (older) page starts, if there is one."""
        following = self.offset + PAGE_SIZE
        return following if following < self.total else None

    @property
    def previous_offset(self) -> int | None:
        """Where the previous (newer) page starts, if this is not the first."""
        return max(0, self.offset - PAGE_SIZE) if self.offset > 0 else None


async def list_instances(client: DurableClient, wanted: InstanceFilter) -> InstancePage:
    """The page of instances ``wanted`` selects, newest first."""
    records = await client.query(InstanceQuery(
        statuses=frozenset({wanted.status}) if wanted.status else None,
        created_from=wanted.created_from, created_to=wanted.created_to))
    chosen = [record for record in records
              if (not wanted.name or record.name == wanted.name)
              and record.instance_id.startswith(wanted.prefix)]
    chosen.reverse()  # the query answers oldest first
    page = chosen[wanted.offset:wanted.offset + PAGE_SIZE]
    return InstancePage(page, wanted.offset, len(chosen))
