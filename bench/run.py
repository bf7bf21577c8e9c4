"""Run the benchmarks and write bench/RESULTS.md: ``python -m bench.run [--quick]``.

Each module in ``BENCHMARK_MODULES`` exposes ``run(quick: bool) -> list[BenchResult]``;
add new benchmark modules to the end of the list. ``--quick`` runs them on small
data (a smoke test; its figures are not the ones the targets are about).
"""

import argparse
import importlib
import sys
import time
from pathlib import Path

from bench.results import BenchResult, collect_machine_info, write_results_md

BENCHMARK_MODULES = [
    "bench.bench_clv",
    "bench.bench_profile",
    "bench.bench_scoring",
    "bench.bench_engagement",
    "bench.bench_journeys",
    "bench.bench_feedback",
]

DEFAULT_OUTPUT = Path(__file__).with_name("RESULTS.md")


def run_all(quick: bool, only: list[str] | None = None) -> list[BenchResult]:
    results: list[BenchResult] = []
    for module_name in BENCHMARK_MODULES:
        if only and module_name.removeprefix("bench.bench_") not in only:
            continue
        started = time.perf_counter()
        print(f"[bench] {module_name} ...", flush=True)
        module_results = importlib.import_module(module_name).run(quick=quick)
        for result in module_results:
            verdict = "PASS" if result.passed else "FAIL"
            print(f"[bench]   {verdict} {result.name}: {result.figure:.4g} {result.unit} ({result.comparison})", flush=True)
        print(f"[bench] {module_name} done in {time.perf_counter() - started:.0f} s", flush=True)
        results.extend(module_results)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data sets: a smoke test of the benchmarks")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the markdown report")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these modules (clv, profile, scoring, ...)")
    args = parser.parse_args(argv)
    results = run_all(quick=args.quick, only=args.only)
    machine = {"mode": "quick (small data)" if args.quick else "full", **collect_machine_info()}
    write_results_md(results, args.output, machine)
    print(f"[bench] wrote {args.output}", flush=True)
    return 0 if all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
