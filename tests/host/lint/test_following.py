"""The lint follows the app's own functions an orchestrator reaches, and nothing else."""

from __future__ import annotations

from pathlib import Path

from devhost.app.loader import load_app
from devhost.lint import lint_app
from tests.host.lint.conftest import AppFiles
from tests.host.lint.samples import blueprint, expected, found, function_app

REPO = Path(__file__).resolve().parents[3]

# An app whose orchestrators reach problems only through helpers: same module, other
# modules, a package with relative imports and a re-export, classes, aliases, callbacks.
HELPERS_APP = {
    "function_app.py": function_app("flows.main", "work"),
    "flows/__init__.py": "from .clock import stamp as stamp\n",
    "flows/clock.py": '''
        import time as t
        from datetime import datetime as dt

        from shared.ids import fresh_id

        now = dt.now


        def stamp():
            return {"at": t.time(), "id": fresh_id()}  # expect: wall-clock


        def aliased():
            return now()  # expect: wall-clock


        def unused_helper():
            return t.time()
    ''',
    "shared/__init__.py": "",
    "shared/ids.py": '''
        import uuid


        def fresh_id():
            return str(uuid.uuid4())  # expect: randomness
    ''',
    "shared/settings.py": '''
        import os
        import time
        import uuid
        from dataclasses import dataclass, field

        from pydantic import BaseModel, Field, field_validator


        class Payload(BaseModel):
            name: str
            trace: str = Field(default_factory=uuid.uuid4)  # expect: randomness

            @field_validator("name")
            @classmethod
            def stamped(cls, value):
                return f"{value}-{time.time()}"  # expect: wall-clock


        def region():
            return os.getenv("REGION")  # expect: environment


        @dataclass
        class Config:
            name: str
            tag: str = field(default_factory=region)

            def __post_init__(self):
                self.home = os.environ["HOME"]  # expect: environment

            def describe(self):
                import socket
                return socket.gethostname()  # expect: environment

            def never_called(self):
                return open("x").read()
    ''',
    "flows/main.py": blueprint('''
        import time

        import flows
        from flows import clock
        from shared import settings as conf
        from shared.settings import Config, Payload
        from work import work


        def local_helper(context):
            time.sleep(0.1)  # expect: sleep
            return context.current_utc_datetime


        def pick(values):
            return values[0]


        def slow(value):
            local = time
            return local.sleep(value)  # expect: sleep


        @bp.orchestration_trigger(context_name="context")
        def through_helpers(context):
            first = flows.stamp()
            second = clock.aliased()
            third = local_helper(context)
            config = Config("a")
            described = config.describe()
            region = conf.region
            list(map(slow, [1]))
            yield context.call_activity("Work", [first, second, third, described, region()])


        @bp.orchestration_trigger(context_name="context")
        def typed(context):
            config: "Config | None" = context.get_input()
            Payload.model_validate({"name": "a"})
            yield context.call_activity(work, config.describe() if config else pick([1]))
    '''),
    "work.py": blueprint('''
        import os
        import random
        import socket
        import threading
        import time
        import uuid
        from datetime import datetime

        import requests

        from flows.clock import unused_helper


        @bp.activity_trigger(input_name="payload")
        def work(payload):
            time.sleep(0.1)
            threading.Thread(target=print).start()
            return [time.time(), datetime.now(), random.random(), uuid.uuid4().hex,
                    os.environ.get("X"), open(__file__).read(), socket.gethostname(),
                    requests.get("http://example.invalid"), unused_helper()]


        @bp.activity_trigger(input_name="payload")
        async def async_work(payload):
            await __import__("asyncio").sleep(0)
            return payload


        @bp.schedule(schedule="0 0 * * * *", arg_name="timer")
        def hourly(timer):
            return time.time()


        @bp.route(route="start")
        @bp.durable_client_input(client_name="client")
        async def start(req, client):
            instance = await client.start_new("through_helpers", None, time.time())
            return client.create_check_status_response(req, instance)
    '''),
}


def test_problems_are_reported_in_the_helpers_orchestrators_reach(app_files: AppFiles) -> None:
    """Same-module, imported, re-exported and aliased helpers, classes constructed, typed
    or validated (their validators and field defaults) and callbacks passed on are all
    checked; activities (even one an orchestrator names as the function to call), HTTP and
    timer functions and helpers only they call are not, whatever they do."""
    folder = app_files(HELPERS_APP)
    report = lint_app(folder)
    assert found(report) == expected(folder)
    assert "flows.clock.unused_helper" not in report.functions
    assert "work.work" not in report.functions
    assert "shared.settings.Config.never_called" not in report.functions


def test_a_helper_says_which_orchestrator_reaches_it(app_files: AppFiles) -> None:
    """A finding in a helper names the helper and the orchestrator it was reached from."""
    report = lint_app(app_files(HELPERS_APP))
    in_ids = [f for f in report.findings if f.path.name == "ids.py"]
    assert len(in_ids) == 1
    assert in_ids[0].message.endswith("in fresh_id, reached from orchestrator through_helpers")


def test_a_helper_many_orchestrators_reach_is_reported_once(app_files: AppFiles) -> None:
    """Two orchestrators calling the same helper give one finding, not two."""
    source = blueprint('''
        import time


        def helper():
            return time.time()  # expect: wall-clock


        @bp.orchestration_trigger(context_name="context")
        def one(context):
            yield context.call_activity("Work", helper())


        @bp.orchestration_trigger(context_name="context")
        def two(context):
            yield context.call_activity("Work", helper())
    ''')
    folder = app_files({"function_app.py": function_app("flows"), "flows.py": source})
    assert found(lint_app(folder)) == expected(folder)


def test_code_outside_the_app_folder_is_not_entered(app_files: AppFiles,
                                                    tmp_path: Path) -> None:
    """A library beside the app (importable, but not the app's) is third-party code: calls
    into it are judged by name at the call site, never by reading it."""
    (tmp_path / "outside_lib.py").write_text("import time\n\ndef helper():\n"
                                             "    return time.time()\n")
    source = blueprint('''
        import outside_lib


        @bp.orchestration_trigger(context_name="context")
        def flow(context):
            yield context.call_activity("Work", outside_lib.helper())
    ''')
    folder = app_files({"function_app.py": function_app("flows"), "flows.py": source})
    report = lint_app(folder)
    assert report.findings == ()
    assert report.functions == ("flows.flow",)


def test_orchestrators_are_found_as_the_worker_indexes_them(app_files: AppFiles) -> None:
    """The lint finds the orchestrators the host's loader indexes from the same app: on the
    DFApp in function_app.py and on blueprints in packages it imports, not in modules
    nobody imports."""
    folder = app_files({
        "function_app.py": '''
            import azure.durable_functions as df

            from flows.main import bp

            app = df.DFApp()
            app.register_functions(bp)


            @app.orchestration_trigger(context_name="context")
            def on_app(context):
                yield context.call_activity("Work", 1)


            @app.activity_trigger(input_name="payload")
            def work(payload):
                return payload
        ''',
        "flows/__init__.py": "",
        "flows/main.py": blueprint('''
            @bp.function_name("Renamed")
            @bp.orchestration_trigger(context_name="context")
            def on_blueprint(context):
                yield context.call_activity("Work", 2)
        '''),
        "unimported.py": blueprint('''
            @bp.orchestration_trigger(context_name="context")
            def stray(context):
                yield context.call_activity("Work", 3)
        '''),
    })
    report = lint_app(folder)
    assert set(report.orchestrators) == {"function_app.on_app", "flows.main.on_blueprint"}
    index = load_app(folder)
    assert set(index.orchestrators) == {"on_app", "Renamed"}
    assert len(index.orchestrators) == len(report.orchestrators)


def test_the_order_app_lints_clean() -> None:
    """This repository's own app has no finding, and the lint really read its flow: the
    orchestrator, its helpers and the journey's methods it calls through a typed
    parameter."""
    report = lint_app(REPO)
    assert report.findings == (), report.format()
    assert len(report.orchestrators) == 1
    reached = {name.rpartition(".")[2] for name in report.functions}
    assert {"announce", "push_stage", "wait_for_decision", "read_decision", "reach",
            "decide", "custom_status"} <= reached
