"""The benchmark report: figures written for readers, and each module's processor kept with its figures."""
from pathlib import Path

from bench.results import BenchResult, ModuleRun, shown, write_results_md


def test_figures_from_a_thousand_up_are_whole_numbers_with_separators() -> None:
    assert shown(20_338.4) == "20,338"
    assert shown(176_891) == "176,891"
    assert shown(7.034) == "7.034"
    assert shown(0.066) == "0.066"


def test_a_module_run_keeps_the_processor_it_ran_on_through_its_json() -> None:
    run = ModuleRun("2026-11-25 01:05 UTC", 141, [BenchResult("x", 20_338, "events/s", ">= 20,000", True, "c")],
                    "Intel(R) Xeon(R) Processor")
    assert ModuleRun.from_json(run.to_json()) == run


def test_a_run_kept_from_before_processors_were_recorded_says_so() -> None:
    run = ModuleRun.from_json({"measured": "2026-11-24 05:56 UTC", "seconds": 1159, "results": []})
    assert run.cpu == "not recorded"


def test_the_report_names_each_modules_processor_and_writes_figures_with_separators(tmp_path: Path) -> None:
    runs = {"profile": ModuleRun("2026-11-25 01:05 UTC", 141, [
                BenchResult("profile: ingestion", 20_338, "events/s", ">= 20,000 events/s", True, "two replicas")],
                "Intel(R) Xeon(R) Processor"),
            "scoring": ModuleRun("2026-11-24 23:39 UTC", 108, [
                BenchResult("scoring: ingest", 6_573, "events/s", ">= 50,000 events/s", False, "one consumer")],
                "AMD EPYC")}
    write_results_md(runs, tmp_path / "RESULTS.md", {"cpu": "Intel(R) Xeon(R) Processor"})
    report = (tmp_path / "RESULTS.md").read_text()
    assert "| profile: ingestion | 20,338 events/s | >= 20,000 events/s | yes | two replicas |" in report
    assert "| scoring: ingest | 6,573 events/s | >= 50,000 events/s | **no** | one consumer |" in report
    assert "- `bench_profile`: measured 2026-11-25 01:05 UTC on Intel(R) Xeon(R) Processor, 141 s" in report
    assert "- `bench_scoring`: measured 2026-11-24 23:39 UTC on AMD EPYC, 108 s" in report
