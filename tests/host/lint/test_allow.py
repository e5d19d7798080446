"""``# devhost: allow-<rule> <reason>`` silences one finding; a bad allow is a finding."""

from __future__ import annotations

from devhost.lint import lint_app
from tests.host.lint.conftest import AppFiles
from tests.host.lint.samples import blueprint, expected, found, function_app

ALLOWS = blueprint('''
    import os
    import random
    import time


    @bp.orchestration_trigger(context_name="context")
    def flow(context):
        started = time.time()  # devhost: allow-wall-clock only logged, never decided on
        rnd = random.random()  # devhost: allow-wall-clock oops  # expect: randomness, allow-comment
        both = (time.time(), random.random())  # devhost: allow-wall-clock, allow-randomness: logged
        one = (time.time(), os.getenv("X"))  # devhost: allow-wall-clock log  # expect: environment
        bare = time.time()  # devhost: allow-wall-clock  # expect: wall-clock, allow-comment
        typo = time.time()  # devhost: allow-wallclock logged  # expect: wall-clock, allow-comment
        empty = time.time()  # devhost: logged  # expect: wall-clock, allow-comment
        spread = context.call_activity(
            "Work",
            time.time(),  # devhost: allow-wall-clock a trace id, never decided on
        )
        nothing = 1  # devhost: allow-sleep stale  # expect: allow-comment
        yield spread
        return [started, rnd, both, one, bare, typo, empty, nothing]


    @bp.activity_trigger(input_name="payload")
    def work(payload):
        return time.time()  # devhost: allow-wall-clock
''')


def test_allow_comments_silence_their_rule_on_their_line(app_files: AppFiles) -> None:
    """A well-formed allow silences its rules on its line (or any line of the expression)
    and nothing else; a reasonless, misspelt, empty or unused allow silences nothing and
    is reported itself; allows outside orchestrator code are not read."""
    folder = app_files({"function_app.py": function_app("flows"), "flows.py": ALLOWS})
    report = lint_app(folder)
    assert found(report) == expected(folder)
    assert report.silenced == 5


def test_a_bad_allow_says_what_is_wrong(app_files: AppFiles) -> None:
    """The allow comment's own finding says why it silences nothing."""
    folder = app_files({"function_app.py": function_app("flows"), "flows.py": ALLOWS})
    messages = {f.line: f.message for f in lint_app(folder).findings
                if f.rule == "allow-comment"}
    lines = (folder / "flows.py").read_text().splitlines()
    by_variable = {lines[line - 1].split("=")[0].strip(): text
                   for line, text in messages.items()}
    assert "gives no reason" in by_variable["bare"]
    assert "unknown rule allow-wallclock" in by_variable["typo"]
    assert "wall-clock" in by_variable["typo"]
    assert "names no allow-<rule>" in by_variable["empty"]
    assert "silences nothing: no allow-wall-clock finding" in by_variable["rnd"]
    assert "silences nothing: no allow-sleep finding" in by_variable["nothing"]


def test_the_summary_counts_what_was_silenced(app_files: AppFiles) -> None:
    """A clean report still says how many findings allow comments silenced."""
    source = blueprint('''
        import time


        @bp.orchestration_trigger(context_name="context")
        def flow(context):
            yield context.call_activity("Work", time.time())  # devhost: allow-wall-clock a log tag
    ''')
    folder = app_files({"function_app.py": function_app("flows"), "flows.py": source})
    report = lint_app(folder)
    assert report.ok
    assert report.silenced == 1
    assert report.summary().endswith("1 silenced by allow comments")
