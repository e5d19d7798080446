"""The timeline drawn: spans placed by time in their lanes, overlapping ones on rows of their
own, and, in a lane too crowded to draw span by span, neighbours of one kind merged."""

from __future__ import annotations

from dataclasses import dataclass

from devhost.dashboard.markup import attr, moment, text
from devhost.dashboard.timeline import Lane, Span, Timeline

__all__ = ["render_timeline"]

# The narrowest a span is drawn, in percent of the timeline, so an instant stays visible.
MIN_SPAN_PERCENT = 0.25
# Spans that overlap go on rows of their own within a lane, up to this many rows.
MAX_ROWS = 8
ROW_PIXELS = 14
# A lane with more spans than this merges touching spans of one kind and outcome (gaps
# under MERGE_GAP_PERCENT), so a long history stays a few hundred elements.
MERGE_ABOVE = 300
MERGE_GAP_PERCENT = 0.1
LANE_TITLES = {Lane.RAN: "ran (activities, sub-orchestrations)",
               Lane.WAITED: "waited (timers, events)", Lane.EPISODE: "orchestrator episodes"}
LEGEND = ("Blue ran, amber waited, grey is the orchestrator's own episodes; striped: still "
          "under way; pale: left unfinished when the execution ended (a cancelled timer). "
          "Hover a span for its name and duration.")


@dataclass
class _Drawn:
    """A span (or merged spans) as placed on the page."""

    span: Span
    row: int
    left: float
    width: float
    count: int = 1

    @property
    def state(self) -> str:
        return "open" if self.span.is_open else self.span.outcome


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


def _placed(timeline: Timeline, spans: list[Span], rows: list[float]) -> list[_Drawn]:
    """``spans`` (one lane's) with their place, merged when the lane is crowded."""
    assert timeline.start is not None
    total = timeline.seconds
    merge = len(spans) > MERGE_ABOVE
    drawn: list[_Drawn] = []
    last_in_row: dict[int, _Drawn] = {}
    for span in spans:
        left = (span.start - timeline.start).total_seconds() / total * 100 if total else 0.0
        width = (span.end - span.start).total_seconds() / total * 100 if total else 100.0
        width = max(width, MIN_SPAN_PERCENT)
        left = min(left, 100 - width)
        if merge:
            previous = next((d for d in last_in_row.values()
                             if d.span.kind == span.kind and d.state == (
                                 "open" if span.is_open else span.outcome)
                             and left <= d.left + d.width + MERGE_GAP_PERCENT), None)
            if previous is not None:
                previous.width = max(previous.width, left + width - previous.left)
                previous.count += 1
                rows[previous.row] = max(rows[previous.row], previous.left + previous.width)
                continue
        placed = _Drawn(span, _row_for(rows, left, width), left, width)
        last_in_row[placed.row] = placed
        drawn.append(placed)
    return drawn


def _element(item: _Drawn) -> str:
    """One span's element."""
    span = item.span
    seconds = (span.end - span.start).total_seconds()
    title = (f"{item.count} spans of {span.kind}, merged" if item.count > 1
             else f"{span.kind} {span.label}: {seconds:.3f} s, {item.state}")
    return (f'<div class="span {attr(span.lane.value)} {attr(span.kind.replace(" ", "-"))} '
            f'{attr(item.state)}" data-kind="{attr(span.kind)}" data-label="{attr(span.label)}" '
            f'data-count="{item.count}" style="left:{item.left:.3f}%;width:{item.width:.3f}%;'
            f'top:{item.row * ROW_PIXELS + 2}px" title="{attr(title)}"></div>')


def render_timeline(timeline: Timeline) -> str:
    """The timeline section ("" for an empty history)."""
    if timeline.start is None:
        return ""
    lanes = []
    for lane in Lane:
        rows: list[float] = []
        spans = [span for span in timeline.spans if span.lane == lane]
        elements = "".join(_element(item) for item in _placed(timeline, spans, rows))
        lanes.append(f'<div class="lane" data-lane="{lane.value}"><span class="lane-title">'
                     f'{text(LANE_TITLES[lane])}</span><div class="track" '
                     f'style="height:{max(1, len(rows)) * ROW_PIXELS + 4}px">{elements}'
                     "</div></div>")
    return (f'<section class="timeline"><h2>Timeline</h2><p class="axis">'
            f"{text(moment(timeline.start))} → {text(moment(timeline.end))} "
            f'({timeline.seconds:.3f} s)</p>{"".join(lanes)}'
            f'<p class="legend">{text(LEGEND)}</p></section>')
