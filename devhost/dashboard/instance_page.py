"""One instance's page: its status, input, output, custom status, actions, timeline, history."""

from __future__ import annotations

from devhost.dashboard.markup import (
    attr,
    instance_url,
    json_block,
    moment,
    page,
    text,
    token_input,
)
from devhost.dashboard.timeline import build_timeline, event_label, event_summary
from devhost.dashboard.timeline_view import render_timeline
from devhost.engine.protocol import EventType, HistoryEvent
from devhost.taskhub.base import InstanceRecord, RuntimeStatus

__all__ = ["render_instance"]

# Rows per table of the history: each such chunk is laid out only once it is in view.
CHUNK_ROWS = 200
_COLUMNS = ('<colgroup><col class="n"><col class="at"><col class="kind"><col class="id">'
            "<col></colgroup>")


def _summary(record: InstanceRecord) -> str:
    """The instance's facts as a definition list."""
    status = record.runtime_status.value
    facts = [("Name", text(record.name)),
             ("Runtime status", f'<span class="status {attr(status.lower())}" '
                                f'id="runtime-status">{text(status)}</span>'),
             ("Created", text(moment(record.created_at))),
             ("Last updated", text(moment(record.updated_at))),
             ("Execution id", text(record.execution_id))]
    if record.version:
        facts.append(("Version", text(record.version)))
    if record.parent is not None:
        parent = record.parent.instance_id
        facts.append(("Parent", f'<a href="{attr(instance_url(parent))}">{text(parent)}</a>'))
    items = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    return f'<dl class="facts">{items}</dl>'


def _form(instance_id: str, action: str, token: str, fields: str, button: str,
          confirm: str = "") -> str:
    """A POST form for one action."""
    confirm_attr = f' data-confirm="{attr(confirm)}"' if confirm else ""
    return (f'<form class="action" method="post" '
            f'action="{attr(instance_url(instance_id))}/{action}"{confirm_attr}>'
            f'{token_input(token)}{fields}<button type="submit" name="do" value="{action}">'
            f"{text(button)}</button></form>")


def _reason(label: str = "Reason") -> str:
    return f'<label>{label} <input name="reason" maxlength="1000"></label>'


def _actions(record: InstanceRecord, token: str) -> str:
    """The forms of the actions this instance takes now."""
    instance_id = record.instance_id
    status = record.runtime_status
    forms = []
    if not status.has_ended:
        forms.append(_form(instance_id, "raise-event", token,
                           '<label>Event name <input name="name" required maxlength="200">'
                           '</label><label>Data (JSON) <textarea name="data" rows="2">'
                           "</textarea></label>", "Raise event"))
        forms.append(_form(instance_id, "terminate", token, _reason(), "Terminate",
                           confirm=f"Terminate {instance_id}?"))
        if status == RuntimeStatus.SUSPENDED:
            forms.append(_form(instance_id, "resume", token, _reason(), "Resume"))
        else:
            forms.append(_form(instance_id, "suspend", token, _reason(), "Suspend"))
    forms.append(_form(instance_id, "restart", token,
                       '<label><input type="checkbox" name="new_id" value="1" checked> '
                       "under a new instance id</label>", "Restart"))
    forms.append(_form(instance_id, "purge", token, "", "Purge",
                       confirm=f"Purge {instance_id} and its history?"))
    return f'<section class="actions"><h2>Actions</h2>{"".join(forms)}</section>'


def _child_link(event: HistoryEvent) -> str:
    """A link to the sub-orchestration an event started, if it started one."""
    child = event.get("InstanceId")
    if event["EventType"] != EventType.SUB_ORCHESTRATION_CREATED or not child:
        return ""
    return f' <a class="child" href="{attr(instance_url(child))}">open {text(child)}</a>'


def _history(events: list[HistoryEvent]) -> str:
    """The history as tables of ``CHUNK_ROWS`` rows, oldest first.

    Each chunk is laid out only when it scrolls into view (``content-visibility``), so a
    history of thousands of events draws as fast as its first screen; every row is in the
    page all the same (find in page, copying, tests).
    """
    header = ('<table class="history-head">' + _COLUMNS + "<thead><tr><th>#</th>"
              "<th>Timestamp</th><th>Event</th><th>EventId</th><th>Details</th></tr>"
              "</thead></table>")
    chunks = []
    for first in range(0, len(events), CHUNK_ROWS):
        rows = "".join(
            f'<tr data-n="{number}"><td>{number}</td><td>{text(event["Timestamp"])}</td>'
            f"<td>{text(event_label(event))}</td><td>{event['EventId']}</td>"
            f"<td>{text(event_summary(event))}{_child_link(event)}</td></tr>"
            for number, event in enumerate(events[first:first + CHUNK_ROWS], first + 1))
        chunks.append(f'<div class="chunk"><table class="history">{_COLUMNS}<tbody>{rows}'
                      "</tbody></table></div>")
    return (f'<section class="history"><h2>History ({len(events):,} events)</h2>{header}'
            f'{"".join(chunks)}</section>')


def render_instance(hub_name: str, record: InstanceRecord, events: list[HistoryEvent],
                    token: str, notice: str = "", error: str = "") -> str:
    """The instance page."""
    body = (f'<h1 class="instance-id">{text(record.instance_id)}</h1>{_summary(record)}'
            f'<div class="values"><section><h2>Input</h2>{json_block(record.input, "input")}'
            f'</section><section><h2>Output</h2>{json_block(record.output, "output")}'
            "</section><section><h2>Custom status</h2>"
            f'{json_block(record.custom_status, "custom-status")}</section></div>'
            f"{_actions(record, token)}{render_timeline(build_timeline(events))}{_history(events)}")
    return page(record.instance_id, hub_name, body, notice, error)
