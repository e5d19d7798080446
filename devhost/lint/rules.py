"""The rules: which calls and names make an orchestrator replay differently, and the fix.

An orchestrator runs again from the start on every episode and must take the same decisions
each time, so it may only read what its history holds. Each rule names a kind of read or
side effect that does not come from history; the tables map dotted names (after aliases
are resolved) to the rule they break.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

__all__ = ["ALLOW_COMMENT", "ASYNC", "RULES", "RULE_NAMES", "Rule", "call_rule",
           "method_rule", "reference_rule"]


@dataclass(frozen=True)
class Rule:
    """One kind of problem: its name (as in ``allow-<name>``), what it does wrong, the fix."""

    name: str
    problem: str
    fix: str


WALL_CLOCK = Rule("wall-clock", "reads the wall clock, which moves on between replays",
                  "use context.current_utc_datetime")
RANDOMNESS = Rule("randomness", "draws a new random value on every replay",
                  "use context.new_uuid() for ids, or draw the value in an activity")
ENVIRONMENT = Rule("environment", "reads the process environment, which can change between "
                                  "replays",
                   "read it in an activity or the starter and pass it in the input")
FILE_IO = Rule("file-io", "touches the file system, whose contents can change between replays",
               "do the file I/O in an activity and pass the result to the orchestrator")
NETWORK = Rule("network", "does network I/O, which answers differently on each replay",
               "make the call from an activity")
SLEEP = Rule("sleep", "blocks the orchestrator instead of letting it wait durably",
             "yield context.create_timer(fire_at)")
THREADS = Rule("threads", "runs work outside the durable scheduler (threads, processes, "
                          "event loops)",
               "fan out with yield context.task_all([...]) over activities")
ASYNC = Rule("async", "waits on a coroutine, which the SDK never runs: orchestrators are "
                      "generator functions",
             "use def and yield durable tasks instead of awaiting")
ALLOW_COMMENT = Rule("allow-comment", "is not a valid allow comment",
                     "write `# devhost: allow-<rule> <reason>` on the line it silences")

RULES: tuple[Rule, ...] = (WALL_CLOCK, RANDOMNESS, ENVIRONMENT, FILE_IO, NETWORK, SLEEP,
                           THREADS, ASYNC)
RULE_NAMES = frozenset(rule.name for rule in RULES)


def _names(rule: Rule, *qualnames: str) -> dict[str, Rule]:
    return dict.fromkeys(qualnames, rule)


# Functions that break a rule when called or passed on (``default_factory=uuid.uuid4``).
FUNCTIONS: dict[str, Rule] = {
    **_names(WALL_CLOCK, "datetime.datetime.now", "datetime.datetime.utcnow",
             "datetime.datetime.today", "datetime.date.today", "time.time", "time.time_ns",
             "time.monotonic", "time.monotonic_ns", "time.perf_counter", "time.perf_counter_ns",
             "time.process_time", "time.process_time_ns", "time.thread_time",
             "time.thread_time_ns", "time.clock_gettime", "time.clock_gettime_ns"),
    **_names(RANDOMNESS, "uuid.uuid1", "uuid.uuid4", "os.urandom", "os.getrandom"),
    **_names(ENVIRONMENT, "os.getenv", "os.getenvb", "os.putenv", "os.unsetenv", "os.getcwd",
             "os.getpid", "os.getlogin", "getpass.getuser", "platform.node", "socket.gethostname",
             "builtins.input"),
    **_names(FILE_IO, "builtins.open", "io.open", "os.open", "os.listdir", "os.scandir",
             "os.walk", "os.stat", "os.remove", "os.unlink", "os.rename", "os.mkdir",
             "os.makedirs", "os.path.exists", "os.path.isfile", "os.path.isdir",
             "os.path.getmtime", "os.path.getsize", "pathlib.Path.cwd", "pathlib.Path.home",
             *(f"pathlib.Path.{method}" for method in (
                 "open", "exists", "is_file", "is_dir", "iterdir", "glob", "rglob", "stat",
                 "unlink", "mkdir", "touch", "read_text", "read_bytes", "write_text",
                 "write_bytes"))),
    **_names(NETWORK, "asyncio.open_connection", "asyncio.start_server"),
    **_names(SLEEP, "time.sleep", "asyncio.sleep", "anyio.sleep", "trio.sleep",
             "gevent.sleep"),
    **_names(THREADS, "os.fork", "os.system", "os.popen", "os.posix_spawn",
             *(f"asyncio.{name}" for name in (
                 "run", "create_task", "ensure_future", "gather", "wait", "wait_for",
                 "to_thread", "get_event_loop", "get_running_loop", "new_event_loop",
                 "run_coroutine_threadsafe", "as_completed", "shield", "timeout"))),
}

# Clock functions that read the clock only when called without the time to convert.
CLOCK_WITHOUT_ARGUMENT: dict[str, int] = {
    "time.localtime": 0, "time.gmtime": 0, "time.ctime": 0, "time.asctime": 0,
    "time.strftime": 1,
}

# Random generators that replay the same draws when given a seed: the constructor needs one
# (without it they seed from the OS), and their methods are then deterministic.
SEEDED_GENERATORS = frozenset({"random.Random", "numpy.random.default_rng",
                               "numpy.random.RandomState"})

# Whole modules: calling anything in them breaks the rule.
MODULES: dict[str, Rule] = {
    **_names(RANDOMNESS, "random", "secrets", "numpy.random"),
    **_names(FILE_IO, "shutil", "glob", "tempfile"),
    **_names(NETWORK, "requests", "httpx", "aiohttp", "urllib.request", "urllib3",
             "http.client", "socket", "ssl", "ftplib", "smtplib", "poplib", "imaplib",
             "xmlrpc.client", "websockets", "grpc", "boto3", "azure.storage",
             "azure.data.tables", "azure.cosmos", "azure.servicebus", "azure.eventhub",
             "azure.keyvault", "azure.identity"),
    **_names(THREADS, "threading", "_thread", "concurrent.futures", "multiprocessing",
             "subprocess"),
}

# Names that break a rule when merely read (``os.environ["X"]``).
REFERENCES: dict[str, Rule] = _names(ENVIRONMENT, "os.environ", "os.environb")

# Methods that do file I/O whatever object they are called on (``Path(p).read_text()``).
FILE_METHODS = frozenset({"read_text", "read_bytes", "write_text", "write_bytes"})


def _prefixes(qualname: str) -> list[str]:
    """``a.b.c`` -> ``a.b.c``, ``a.b``, ``a``."""
    parts = qualname.split(".")
    return [".".join(parts[:cut]) for cut in range(len(parts), 0, -1)]


def reference_rule(qualname: str) -> Rule | None:
    """The rule that reading (or passing on) the name ``qualname`` breaks, if any."""
    found = FUNCTIONS.get(qualname)
    if found is not None:
        return found
    return next((REFERENCES[p] for p in _prefixes(qualname) if p in REFERENCES), None)


def call_rule(qualname: str, call: ast.Call) -> Rule | None:
    """The rule that calling ``qualname`` as ``call`` does breaks, if any."""
    found = reference_rule(qualname)
    if found is not None:
        return found
    if qualname in SEEDED_GENERATORS:
        return None if call.args or call.keywords else RANDOMNESS
    if any(qualname.startswith(f"{generator}.") for generator in SEEDED_GENERATORS):
        return None
    if qualname in CLOCK_WITHOUT_ARGUMENT:
        given = len(call.args) + len(call.keywords)
        return WALL_CLOCK if given <= CLOCK_WITHOUT_ARGUMENT[qualname] else None
    return next((MODULES[p] for p in _prefixes(qualname)[1:] if p in MODULES), None)


def method_rule(method: str) -> Rule | None:
    """The rule a call of ``.method()`` on an object of unknown type breaks, if any."""
    return FILE_IO if method in FILE_METHODS else None
