"""Benchmark results and the markdown report they are written to."""

import datetime
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BenchResult:
    """One measured figure, the target it is held to, and whether it met it."""

    name: str
    figure: float
    unit: str
    target: str
    passed: bool
    comparison: str
    details: dict = field(default_factory=dict)


def collect_machine_info() -> dict[str, str]:
    """CPU model, cores, memory, Python/numpy/scipy versions and today's date."""
    import numpy
    import scipy

    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": _memory_total(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


@dataclass(frozen=True)
class ModuleRun:
    """What one benchmark module measured, and when: its figures all come from this one run."""

    measured: str
    seconds: int
    results: list[BenchResult]
    cpu: str = "not recorded"  # the processor it ran on: a module kept from an earlier run may have had another

    def to_json(self) -> dict:
        return {"measured": self.measured, "seconds": self.seconds, "cpu": self.cpu,
                "results": [asdict(r) for r in self.results]}

    @classmethod
    def from_json(cls, data: dict) -> "ModuleRun":
        return cls(data["measured"], data["seconds"], [BenchResult(**r) for r in data["results"]],
                   data.get("cpu", "not recorded"))


def shown(figure: float) -> str:
    """A figure as a reader wants it: whole numbers from 1,000 up with separators, others to 4 digits."""
    return f"{figure:,.0f}" if abs(figure) >= 1000 else f"{figure:.4g}"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_results_md(runs: dict[str, ModuleRun], path, machine_info: dict[str, str]) -> None:
    """Write the results as a markdown table, then their details, then the machine they ran on."""
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m bench.run` (`make bench`); do not edit by hand.",
        "",
        "| benchmark | figure | target | passed | comparison |",
        "| --- | --- | --- | --- | --- |",
    ]
    results = [result for run in runs.values() for result in run.results]
    for result in results:
        figure = f"{shown(result.figure)} {result.unit}"
        verdict = "yes" if result.passed else "**no**"
        lines.append(
            f"| {_cell(result.name)} | {_cell(figure)} | {_cell(result.target)} | {verdict} | {_cell(result.comparison)} |"
        )
    lines += ["", "Each module's figures come from one run of it:", ""]
    lines += [f"- `bench_{name}`: measured {run.measured} on {run.cpu}, {run.seconds} s" for name, run in runs.items()]
    detailed = [result for result in results if result.details]
    if detailed:
        lines += ["", "## Details", ""]
        for result in detailed:
            lines.append(f"### {result.name}")
            lines.append("")
            lines += [f"- {key}: {_cell(value)}" for key, value in result.details.items()]
            lines.append("")
    lines += ["", "## Machine", "", "The machine that wrote this report (each module's processor is listed above):", ""]
    lines += [f"- {key}: {value}" for key, value in machine_info.items()]
    Path(path).write_text("\n".join(lines).rstrip() + "\n")
