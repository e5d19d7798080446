"""The benchmark command line: run scenarios, print the table, write the results file."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import traceback
import warnings
from datetime import date
from pathlib import Path

from bench.backends import BACKENDS, Backends
from bench.context import FULL, QUICK, Run, Sizes
from bench.figures import Figure, machine, results_document, table, write_results
from bench.scenarios import SCENARIOS
from bench.targets import apply_targets

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), metavar="NAME",
                        help=f"run only this scenario (repeatable): {', '.join(SCENARIOS)}")
    parser.add_argument("--backend", action="append", choices=BACKENDS,
                        help="run only on this task hub (repeatable; default: both)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR,
                        help="folder for <date>.json (default: bench/results)")
    parser.add_argument("--no-write", action="store_true", help="do not write the JSON file")
    return parser


async def run_scenarios(names: list[str], backends: Backends, sizes: Sizes
                        ) -> tuple[Run, list[str]]:
    """Run the named scenarios in order; a scenario that raises is reported and skipped."""
    run = Run(backends, sizes)
    errors: list[str] = []
    for number, name in enumerate(names):
        run.progress(f"{name}:")
        if number:
            await asyncio.to_thread(backends.renew)
        started = time.perf_counter()
        try:
            await SCENARIOS[name](run)
        except Exception as error:  # noqa: BLE001 - reported, and the other scenarios go on
            run.progress(traceback.format_exc())
            errors.append(f"{name}: {type(error).__name__}: {error}")
        run.progress(f"  ({time.perf_counter() - started:.1f} s)")
    apply_targets(run)
    return run, errors


class _DropKnownNoise(logging.Filter):
    """Drop the functions library's warning that auth levels do not apply to non-HTTP
    functions (logged on loading any DFApp)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Auth level is not applied" not in record.getMessage()


def quiet_logging() -> None:
    """Warnings only, without the noise every run would repeat.

    The order app's push client keeps 10 pooled connections while up to 32 activities
    push at once; urllib3 warns each time it drops a surplus connection.
    """
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_DropKnownNoise())
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    # The SDK warns for every external event that arrives before its wait (it buffers
    # it); the events scenario raises many at once on purpose, under distinct names.
    warnings.filterwarnings("ignore", message="Potential duplicate Task completion",
                            category=UserWarning)


def summary(figures: list[Figure]) -> str:
    """How many figures met their targets, and which did not."""
    judged = [f for f in figures if f.meets_target is not None]
    missed = [f"{f.name} [{f.backend}]" for f in judged if not f.meets_target]
    text = f"{len(judged) - len(missed)} of {len(judged)} targets met"
    return text + (": missed " + "; ".join(missed) if missed else "")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; exit 0 unless a scenario crashed (slow figures are no failure)."""
    args = _parser().parse_args(argv)
    quiet_logging()
    names = [name for name in SCENARIOS if not args.only or name in args.only]
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    with Backends(tuple(args.backend or BACKENDS)) as backends:
        run, errors = asyncio.run(run_scenarios(names, backends, sizes))
    seconds = time.perf_counter() - started
    info = machine()
    print(f"\nbenchmarks on {info['cores']} cores, Python {info['python']}, "
          f"{info['platform']} ({seconds:.0f} s{', quick' if args.quick else ''})\n")
    print(table(run.figures))
    print(f"\n{summary(run.figures)}")
    if not args.no_write:
        document = results_document(run.figures, day=date.today(), quick=args.quick,
                                    errors=errors, seconds=seconds)
        print(f"results: {write_results(document, args.results)}")
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0
