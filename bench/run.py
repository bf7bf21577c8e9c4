"""Run the benchmarks and write bench/RESULTS.md: ``python -m bench.run [--quick] [--only NAME ...]``.

Each module in ``BENCHMARK_MODULES`` exposes ``run(quick: bool) -> list[BenchResult]``; every figure and
its comparison come from the same run of that module. The figures are kept per module in
``bench/results.json``, from which RESULTS.md is written: ``--only`` re-measures some modules and keeps
the others' last figures (each module's section says when and on what it was measured). ``--quick``
runs on small data (a smoke test; its figures are not the ones the targets are about) and writes to
``--output`` only, never to the kept figures.
"""

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from bench.results import ModuleRun, collect_machine_info, shown, write_results_md

BENCHMARK_MODULES = [
    "bench.bench_clv",
    "bench.bench_profile",
    "bench.bench_scoring",
    "bench.bench_engagement",
    "bench.bench_journeys",
    "bench.bench_feedback",
]

DEFAULT_OUTPUT = Path(__file__).with_name("RESULTS.md")
KEPT_FIGURES = Path(__file__).with_name("results.json")


def short_name(module_name: str) -> str:
    return module_name.removeprefix("bench.bench_")


def run_module(module_name: str, quick: bool) -> ModuleRun:
    started = time.perf_counter()
    print(f"[bench] {module_name} ...", flush=True)
    results = importlib.import_module(module_name).run(quick=quick)
    for result in results:
        verdict = "PASS" if result.passed else "FAIL"
        print(f"[bench]   {verdict} {result.name}: {shown(result.figure)} {result.unit} ({result.comparison})", flush=True)
    seconds = time.perf_counter() - started
    print(f"[bench] {module_name} done in {seconds:.0f} s", flush=True)
    machine = collect_machine_info()
    return ModuleRun(machine["date"], round(seconds), results, machine["cpu"])


def kept_runs() -> dict[str, ModuleRun]:
    if not KEPT_FIGURES.exists():
        return {}
    return {name: ModuleRun.from_json(run) for name, run in json.loads(KEPT_FIGURES.read_text()).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data sets: a smoke test of the benchmarks")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the markdown report")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=[short_name(m) for m in BENCHMARK_MODULES],
                        help="run only these modules; the others keep their last figures")
    args = parser.parse_args(argv)
    measured = {short_name(m): run_module(m, args.quick) for m in BENCHMARK_MODULES
                if not args.only or short_name(m) in args.only}
    runs = measured if args.quick else {**kept_runs(), **measured}
    if not args.quick:
        KEPT_FIGURES.write_text(json.dumps({name: run.to_json() for name, run in runs.items()}, indent=1,
                                           default=str) + "\n")
    ordered = {name: runs[name] for name in map(short_name, BENCHMARK_MODULES) if name in runs}
    machine = {"mode": "quick (small data)" if args.quick else "full", **collect_machine_info()}
    write_results_md(ordered, args.output, machine)
    print(f"[bench] wrote {args.output}", flush=True)
    return 0 if all(r.passed for run in measured.values() for r in run.results) else 1


if __name__ == "__main__":
    sys.exit(main())
