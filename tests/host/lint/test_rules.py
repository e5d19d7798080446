"""Each kind of replay breaker is reported in an orchestrator, with its rule and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from devhost.lint import lint_app
from devhost.lint.rules import RULES
from tests.host.lint.conftest import AppFiles
from tests.host.lint.samples import blueprint, expected, found, function_app

EVERY_KIND = blueprint('''
    import asyncio
    import concurrent.futures
    import datetime
    import json
    import multiprocessing
    import os
    import random
    import secrets
    import socket
    import subprocess
    import threading
    import time
    import urllib.parse
    import urllib.request
    import uuid
    from datetime import date, timedelta
    from pathlib import Path

    import aiohttp
    import httpx
    import requests


    @bp.orchestration_trigger(context_name="context")
    def clock(context):
        a = datetime.datetime.now()  # expect: wall-clock
        b = datetime.datetime.utcnow()  # expect: wall-clock
        c = datetime.datetime.today() - datetime.timedelta(days=1)  # expect: wall-clock
        d = date.today()  # expect: wall-clock
        e = time.time() + time.monotonic() + time.perf_counter()  # expect: wall-clock*3
        f = time.localtime()  # expect: wall-clock
        g = time.strftime("%H:%M")  # expect: wall-clock
        h = time.localtime(0), time.strftime("%H", time.gmtime(0)), timedelta(minutes=5)
        at = context.current_utc_datetime
        yield context.call_activity("Work", [str(x) for x in (a, b, c, d, e, f, g, h, at)])


    @bp.orchestration_trigger(context_name="context")
    def chance(context):
        a = random.random()  # expect: randomness
        b = random.choice([1, 2])  # expect: randomness
        c = uuid.uuid4()  # expect: randomness
        d = uuid.uuid1()  # expect: randomness
        e = secrets.token_hex(8)  # expect: randomness
        f = os.urandom(4)  # expect: randomness
        g = random.Random()  # expect: randomness
        h = random.SystemRandom().random()  # expect: randomness
        seeded = random.Random(context.instance_id)
        same = uuid.uuid5(uuid.NAMESPACE_URL, "fixed"), context.new_uuid(), seeded.random()
        yield context.call_activity("Work", [str(x) for x in (a, b, c, d, e, f, g, h, same)])


    @bp.orchestration_trigger(context_name="context")
    def surroundings(context):
        a = os.environ["SETTING"]  # expect: environment
        b = os.environ.get("SETTING")  # expect: environment
        c = os.getenv("SETTING")  # expect: environment
        with open("settings.json") as handle:  # expect: file-io
            d = json.load(handle)
        e = Path("settings.json").read_text()  # expect: file-io
        f = os.path.exists("settings.json")  # expect: file-io
        g = os.path.join("a", "b"), json.dumps({"a": 1})
        yield context.call_activity("Work", [a, b, c, d, e, f, g])


    @bp.orchestration_trigger(context_name="context")
    def wire(context):
        a = requests.get("http://example.invalid")  # expect: network
        b = httpx.post("http://example.invalid")  # expect: network
        c = urllib.request.urlopen("http://example.invalid")  # expect: network
        d = aiohttp.ClientSession()  # expect: network
        e = socket.create_connection(("example.invalid", 80))  # expect: network
        f = urllib.parse.quote("a b")
        try:
            yield context.call_activity("Work", [a, b, c, d, e, f])
        except requests.RequestException:
            pass


    @bp.orchestration_trigger(context_name="context")
    def waiting(context):
        time.sleep(1)  # expect: sleep
        asyncio.sleep(1)  # expect: sleep
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=1))


    @bp.orchestration_trigger(context_name="context")
    def side_work(context):
        threading.Thread(target=print).start()  # expect: threads
        with concurrent.futures.ThreadPoolExecutor() as pool:  # expect: threads
            pool.submit(print)
        multiprocessing.Process(target=print)  # expect: threads
        subprocess.run(["true"], check=False)  # expect: threads
        asyncio.run(asyncio.sleep(0))  # expect: threads, sleep
        yield context.task_all([context.call_activity("Work", n) for n in range(2)])


    @bp.orchestration_trigger(context_name="context")
    async def coroutine(context):  # expect: async
        await context.call_activity("Work", 1)  # expect: async
        async with context.lock:  # expect: async
            pass
        return [x async for x in context.stream]  # expect: async


    @bp.orchestration_trigger(context_name="context")
    def clean(context):
        first = yield context.call_activity("Work", context.get_input())
        rest = yield context.task_all([context.call_activity("Work", n) for n in first])
        return rest
''')


def test_every_kind_of_replay_breaker_is_reported_where_it_is(app_files: AppFiles) -> None:
    """Each marked line is reported with its rule, and nothing else is: time conversions,
    uuid5, a random generator given a seed (Azure/durabletask's
    docs/concepts/deterministic-constraints.md allows a fixed-seed Random), urllib.parse,
    os.path.join, except clauses and context's own clock pass."""
    folder = app_files({"function_app.py": function_app("flows"), "flows.py": EVERY_KIND})
    report = lint_app(folder)
    assert found(report) == expected(folder)
    assert len(report.orchestrators) == 8


def test_every_finding_names_its_fix_and_where_it_was(app_files: AppFiles) -> None:
    """The message says what was called and in which orchestrator; the fix is the rule's."""
    folder = app_files({"function_app.py": function_app("flows"), "flows.py": EVERY_KIND})
    report = lint_app(folder)
    fixes = {rule.name: rule.fix for rule in RULES}
    for finding in report.findings:
        assert finding.fix == fixes[finding.rule]
        assert "in orchestrator " in finding.message
    first = report.findings[0]
    assert first.message.startswith("`datetime.datetime.now()` reads the wall clock")
    assert first.message.endswith("in orchestrator clock")
    assert "context.current_utc_datetime" in first.fix
    line = (Path(folder) / "flows.py").read_text().splitlines()[first.line - 1]
    assert line[first.col - 1:].startswith("datetime.datetime.now()")


@pytest.mark.parametrize(("imports", "call"), [
    ("from datetime import datetime as dt", "dt.now()"),
    ("import datetime as d", "d.datetime.utcnow()"),
    ("import time as t", "t.time()"),
    ("from time import time as clock", "clock()"),
    ("from time import sleep", "sleep(1)"),
    ("import random as r", "r.randint(1, 6)"),
    ("from uuid import uuid4 as new_id", "new_id()"),
    ("from os import environ as env", "env['X']"),
    ("from os import getenv", "getenv('X')"),
    ("import requests as web", "web.get('http://example.invalid')"),
    ("from concurrent import futures", "futures.ThreadPoolExecutor()"),
    ("import pathlib as pl", "pl.Path('f').exists()"),
])
def test_aliased_imports_resolve_to_what_they_name(app_files: AppFiles, imports: str,
                                                   call: str) -> None:
    """An import under another name is still the function it names."""
    source = blueprint(f'''
        {imports}


        @bp.orchestration_trigger(context_name="context")
        def flow(context):
            value = {call}
            yield context.call_activity("Work", str(value))
    ''')
    folder = app_files({"function_app.py": function_app("flows"), "flows.py": source})
    report = lint_app(folder)
    assert [(f.line, f.col) for f in report.findings] == [(10, 13)], report.format()


def test_a_name_the_app_rebinds_is_not_the_standard_one(app_files: AppFiles) -> None:
    """A local called ``open``, ``time`` or ``random`` (assigned, or bound by a ``match``
    pattern) shadows the builtin or module of that name."""
    source = blueprint('''
        import random
        import time


        @bp.orchestration_trigger(context_name="context")
        def flow(context):
            open = context.get_input()
            time = context.current_utc_datetime
            match context.get_input():
                case {"clock": random}:
                    pass
                case _:
                    return
            yield context.call_activity("Work", [open(), time.time(), random.random()])
    ''')
    folder = app_files({"function_app.py": function_app("flows"), "flows.py": source})
    assert lint_app(folder).findings == ()
