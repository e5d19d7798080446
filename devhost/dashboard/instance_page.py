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
from devhost.dashboard.timeline import Lane, Timeline, build_timeline, event_label, event_summary
from devhost.engine.protocol import HistoryEvent
from devhost.taskhub.base import InstanceRecord, RuntimeStatus

__all__ = ["render_instance"]

# The narrowest a span is drawn, in percent of the timeline, so an instant stays visible.
MIN_SPAN_PERCENT = 0.25
# Spans that overlap go on rows of their own within a lane, up to this many rows.
MAX_ROWS = 8
ROW_PIXELS = 14
LANE_TITLES = {Lane.RAN: "ran (activities, sub-orchestrations)",
               Lane.WAITED: "waited (timers, events)", Lane.EPISODE: "orchestrator episodes"}


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


def _row_for(rows: list[float], left: float, width: float) -> int:
    """The first row free from ``left`` on (rows hold where their last span ends)."""
    for number, end in enumerate(rows):
        if end <= left:
            rows[number] = left + width
            return number
    if len(rows) < MAX_ROWS:
        rows.append(left + width)
        return len(rows) - 1
    rows[-1] = max(rows[-1], left + width)
    return len(rows) - 1


def _timeline(timeline: Timeline) -> str:
    """The spans in three lanes, placed by time; overlapping spans on rows of their own."""
    if timeline.start is None:
        return ""
    total = timeline.seconds
    lanes: dict[Lane, list[str]] = {lane: [] for lane in Lane}
    rows: dict[Lane, list[float]] = {lane: [] for lane in Lane}
    for span in timeline.spans:
        left = (span.start - timeline.start).total_seconds() / total * 100 if total else 0.0
        width = (span.end - span.start).total_seconds() / total * 100 if total else 100.0
        width = max(width, MIN_SPAN_PERCENT)
        left = min(left, 100 - width)
        top = _row_for(rows[span.lane], left, width) * ROW_PIXELS + 2
        seconds = (span.end - span.start).total_seconds()
        state = "open" if span.is_open else span.outcome
        title = f"{span.kind} {span.label}: {seconds:.3f} s, {state}"
        lanes[span.lane].append(
            f'<div class="span {attr(span.lane.value)} {attr(span.kind.replace(" ", "-"))} '
            f'{attr(state)}" data-kind="{attr(span.kind)}" data-label="{attr(span.label)}" '
            f'style="left:{left:.3f}%;width:{width:.3f}%;top:{top}px" '
            f'title="{attr(title)}"></div>')
    drawn = "".join(
        f'<div class="lane" data-lane="{lane.value}"><span class="lane-title">'
        f'{text(LANE_TITLES[lane])}</span><div class="track" '
        f'style="height:{max(1, len(rows[lane])) * ROW_PIXELS + 4}px">{"".join(spans)}</div></div>'
        for lane, spans in lanes.items())
    return (f'<section class="timeline"><h2>Timeline</h2><p class="axis">'
            f"{text(moment(timeline.start))} → {text(moment(timeline.end))} "
            f"({total:.3f} s)</p>{drawn}<p class=\"legend\">Blue ran, amber waited, grey "
            "is the orchestrator's own episodes; striped: still under way; pale: left "
            "unfinished when the execution ended (a cancelled timer). Hover a span for its "
            "name and duration.</p></section>")


def _history(events: list[HistoryEvent]) -> str:
    """The history as a table, oldest first."""
    rows = "".join(
        f'<tr><td>{number}</td><td>{text(event["Timestamp"])}</td>'
        f"<td>{text(event_label(event))}</td><td>{event['EventId']}</td>"
        f"<td>{text(event_summary(event))}</td></tr>"
        for number, event in enumerate(events, 1))
    return (f'<section><h2>History ({len(events):,} events)</h2><table class="history">'
            "<thead><tr><th>#</th><th>Timestamp</th><th>Event</th><th>EventId</th>"
            f"<th>Details</th></tr></thead><tbody>{rows}</tbody></table></section>")


def render_instance(hub_name: str, record: InstanceRecord, events: list[HistoryEvent],
                    token: str, notice: str = "", error: str = "") -> str:
    """The instance page."""
    body = (f'<h1 class="instance-id">{text(record.instance_id)}</h1>{_summary(record)}'
            f'<div class="values"><section><h2>Input</h2>{json_block(record.input, "input")}'
            f'</section><section><h2>Output</h2>{json_block(record.output, "output")}'
            "</section><section><h2>Custom status</h2>"
            f'{json_block(record.custom_status, "custom-status")}</section></div>'
            f"{_actions(record, token)}{_timeline(build_timeline(events))}{_history(events)}")
    return page(record.instance_id, hub_name, body, notice, error)
