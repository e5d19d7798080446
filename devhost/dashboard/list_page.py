"""The instance list page: the filter form, one page of instances, links to the others."""

from __future__ import annotations

from collections.abc import Sequence

from devhost.dashboard.listing import PAGE_SIZE, InstanceFilter, InstancePage
from devhost.dashboard.markup import attr, instance_url, list_url, moment, page, text
from devhost.taskhub.base import RuntimeStatus

__all__ = ["render_list"]


def _options(values: Sequence[str], chosen: str, blank: str) -> str:
    """``<option>`` elements, the blank one first."""
    options = [f'<option value="">{text(blank)}</option>']
    for value in values:
        selected = " selected" if value == chosen else ""
        options.append(f'<option value="{attr(value)}"{selected}>{text(value)}</option>')
    return "".join(options)


def _moment_field(label: str, name: str, values: dict[str, str]) -> str:
    """A ``datetime-local`` input of the filter form."""
    return (f'<label>{text(label)} <input type="datetime-local" name="{name}" '
            f'value="{attr(values.get(name, ""))}"></label>')


def _filter_form(wanted: InstanceFilter, names: Sequence[str]) -> str:
    """The GET form of the filters (every field keeps what the page was asked)."""
    known = list(names) + ([wanted.name] if wanted.name and wanted.name not in names else [])
    statuses = [status.value for status in RuntimeStatus]
    values = wanted.query_values(0)
    fields = [
        f'<label>Name <select name="name">{_options(known, wanted.name, "any")}</select></label>',
        '<label>Runtime status <select name="status">'
        f'{_options(statuses, values.get("status", ""), "any")}</select></label>',
        _moment_field("Created from (UTC)", "from", values),
        _moment_field("to", "to", values),
        '<label>Id prefix <input type="search" name="prefix" '
        f'value="{attr(wanted.prefix)}"></label>',
        '<button type="submit">Filter</button> <a href="/_devhost/">clear</a>',
    ]
    return ('<form class="filters" method="get" action="/_devhost/" aria-label="filters">'
            + "".join(fields) + "</form>")


def _rows(result: InstancePage) -> str:
    """One ``<tr>`` per instance."""
    rows = []
    for record in result.instances:
        status = record.runtime_status.value
        rows.append(
            f'<tr data-instance-id="{attr(record.instance_id)}">'
            f'<td><a href="{attr(instance_url(record.instance_id))}">'
            f"{text(record.instance_id)}</a></td><td>{text(record.name)}</td>"
            f'<td><span class="status {attr(status.lower())}">{text(status)}</span></td>'
            f"<td>{text(moment(record.created_at))}</td>"
            f"<td>{text(moment(record.updated_at))}</td></tr>")
    return "".join(rows)


def _pager(wanted: InstanceFilter, result: InstancePage) -> str:
    """Where this page sits, and links to the newer and older pages."""
    if not result.total:
        return '<p class="pager">No instance matches.</p>'
    last = result.offset + len(result.instances)
    parts = [f'<span>{result.offset + 1:,} to {last:,} of {result.total:,}, newest first</span>']
    if result.previous_offset is not None:
        url = list_url(wanted.query_values(result.previous_offset))
        parts.append(f'<a rel="prev" href="{attr(url)}">← newer</a>')
    if result.next_offset is not None:
        url = list_url(wanted.query_values(result.next_offset))
        parts.append(f'<a rel="next" href="{attr(url)}">older →</a>')
    return f'<p class="pager">{" ".join(parts)}</p>'


def render_list(hub_name: str, names: Sequence[str], wanted: InstanceFilter,
                result: InstancePage | None, notice: str = "", error: str = "") -> str:
    """The list page; ``result`` None (a bad filter) shows the form and the error only."""
    body = f"<h1>Instances</h1>{_filter_form(wanted, names)}"
    if result is not None:
        body += (_pager(wanted, result)
                 + f'<table class="instances" data-page-size="{PAGE_SIZE}"><thead><tr>'
                 "<th>Instance id</th><th>Name</th><th>Runtime status</th><th>Created</th>"
                 f"<th>Last updated</th></tr></thead><tbody>{_rows(result)}</tbody></table>")
    return page("Instances", hub_name, body, notice, error)
