"""The pure helpers of ``bench/bench.py``: statistics, formatting, table rendering.

Nothing here runs a container or times anything.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ociruntime_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


bench = _load()


# --- statistics ---------------------------------------------------------------------------

def test_median_odd_even_and_unsorted() -> None:
    assert bench.median([3, 1, 2]) == 2
    assert bench.median([4, 1, 3, 2]) == 2.5
    assert bench.median([7]) == 7


def test_p90_interpolates_between_ranks() -> None:
    assert bench.p90(list(range(1, 11))) == pytest.approx(9.1)
    assert bench.p90([5]) == 5
    assert bench.percentile([10, 20], 0) == 10
    assert bench.percentile([10, 20], 100) == 20


def test_percentile_rejects_empty_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        bench.median([])
    with pytest.raises(ValueError):
        bench.percentile([1], 101)


def test_ratio() -> None:
    assert bench.ratio(30, 40) == 0.75
    assert bench.ratio(None, 40) is None
    assert bench.ratio(30, None) is None
    assert bench.ratio(30, 0) is None


def test_ratios_for_only_present_baselines() -> None:
    values = {"ociruntime": 20.0, "runc": 40.0, "crun": 10.0}
    assert bench.ratios_for(values, ["ociruntime", "runc", "crun"]) == {
        "ociruntime/runc": 0.5, "ociruntime/crun": 2.0}
    assert bench.ratios_for(values, ["ociruntime", "crun"]) == {"ociruntime/crun": 2.0}
    assert bench.ratios_for(values, ["runc", "crun"]) == {}
    assert bench.ratios_for({"ociruntime": None, "runc": 4.0}, ["ociruntime", "runc"]) == {
        "ociruntime/runc": None}


def test_summarize_samples_ns_to_ms() -> None:
    s = bench.summarize_samples([2_000_000, 1_000_000, 3_000_000], ["boom"])
    assert s["median_ms"] == 2.0
    assert s["n"] == 3
    assert s["errors"] == 1 and s["error"] == "boom"
    assert s["samples_ms"] == [2.0, 1.0, 3.0]
    empty = bench.summarize_samples([], [])
    assert empty["median_ms"] is None and empty["p90_ms"] is None and empty["error"] is None


# --- formatting ---------------------------------------------------------------------------

def test_fmt_ms_and_ratio() -> None:
    assert bench.fmt_ms(7.456) == "7.46"
    assert bench.fmt_ms(38.04) == "38.0"
    assert bench.fmt_ms(None) == "-"
    assert bench.fmt_ratio(0.6951) == "0.70x"
    assert bench.fmt_ratio(None) == "-"


def test_first_line_and_error_message() -> None:
    assert bench.first_line("\n  \n  first \nsecond") == "first"
    assert bench.first_line("x" * 100, limit=10) == "xxxxxxx..."
    logfmt = 'time="2024-01-01T00:00:00Z" level=error msg="open \\"x\\": no such file"\n'
    assert bench.error_message(logfmt) == 'open "x": no such file'
    assert bench.error_message("plain failure\nmore") == "plain failure"
    assert bench.error_cell("") == "error: failed"
    assert bench.error_cell("bad thing\nmore") == "error: bad thing"


def test_cell_value_error_and_partial_errors() -> None:
    assert bench.cell({"median_ms": 12.34, "errors": 0}, "median_ms") == "12.3"
    assert bench.cell({"median_ms": 12.34, "errors": 2}, "median_ms") == "12.3 (2 err)"
    assert bench.cell({"median_ms": None, "error": "unsupported"}, "median_ms") == (
        "error: unsupported")
    assert bench.cell({"median_ms": None, "error": None}, "median_ms") == "-"


def test_parse_proc_cgroup_v1_and_v2() -> None:
    v1 = "12:pids:/a\n4:cpu,cpuacct:/b\n1:name=systemd:/c\n0::/d\n"
    assert bench.parse_proc_cgroup(v1) == {
        "pids": "/a", "cpu": "/b", "cpuacct": "/b", "systemd": "/c", "": "/d"}
    assert bench.parse_proc_cgroup("0::/user.slice\n") == {"": "/user.slice"}


# --- tables -------------------------------------------------------------------------------

def test_render_table_aligns_columns() -> None:
    text = bench.render_table(["op", "a", "bb"], [["run", "1.5", "22.0"], ["delete", "10", "3"]])
    lines = text.splitlines()
    assert lines[0] == "op        a    bb"
    assert lines[1] == "------  ---  ----"
    assert lines[2] == "run     1.5  22.0"
    assert lines[3] == "delete   10     3"


def _stat(median: float | None, error: str | None = None) -> dict[str, Any]:
    return {"median_ms": median, "p90_ms": None if median is None else median * 1.5,
            "n": 0 if median is None else 3, "errors": 0 if error is None else 3,
            "error": error, "samples_ms": []}


def test_render_report_rows_ratios_and_errors() -> None:
    names = ["ociruntime", "runc", "crun"]
    ops: dict[str, Any] = {}
    for op in bench.OPS:
        per = {"ociruntime": _stat(10.0), "runc": _stat(20.0), "crun": _stat(5.0)}
        per["ratios"] = bench.ratios_for({n: per[n]["median_ms"] for n in names}, names)
        ops[op] = per
    ops["create"]["ociruntime"] = _stat(None, "seccomp filters are not supported yet")
    ops["create"]["ratios"] = {"ociruntime/runc": None, "ociruntime/crun": None}
    summary = {
        "runtimes": {n: {} for n in names},
        "ops": ops,
        "rss_create": {
            "ociruntime": {"max_mib": 8.0, "errors": 0, "error": None},
            "runc": {"max_mib": 9.6, "errors": 0, "error": None},
            "crun": {"max_mib": 3.2, "errors": 0, "error": None},
            "ratios": {"ociruntime/runc": 0.8333, "ociruntime/crun": 2.5},
        },
        "batch": {
            "n": 100,
            "ociruntime": {"containers_per_s": 40.0, "errors": 0, "error": None},
            "runc": {"containers_per_s": 25.0, "errors": 0, "error": None},
            "crun": {"containers_per_s": 50.0, "errors": 0, "error": None},
            "ratios": {"ociruntime/runc": 1.6, "ociruntime/crun": 0.8},
        },
    }
    text = bench.render_report(summary)
    lines = text.splitlines()
    assert lines[0].split() == ["operation", "(ms)", "ociruntime", "median", "p90", "runc",
                                "median", "p90", "crun", "median", "p90", "ociruntime/runc",
                                "ociruntime/crun"]
    run = lines[2].split()
    assert run == ["run", "10.0", "15.0", "20.0", "30.0", "5.00", "7.50", "0.50x", "2.00x"]
    create = next(line for line in lines if line.startswith("create "))
    assert "error: seccomp filters are not supported yet" in create
    rss = next(line for line in lines if line.startswith("create peak RSS"))
    assert rss.split() == ["create", "peak", "RSS", "(MiB)", "8.0", "9.6", "3.2", "0.83x",
                           "2.50x"]
    batch = lines[-1]
    assert batch.startswith("batch run x100 (containers/s)")
    assert batch.split()[-2:] == ["1.60x", "0.80x"]


def test_render_report_without_batch_or_baselines() -> None:
    summary = {
        "runtimes": {"runc": {}},
        "ops": {op: {"runc": _stat(6.0), "ratios": {}} for op in bench.OPS},
        "rss_create": {"runc": {"max_mib": 9.6, "errors": 0, "error": None}, "ratios": {}},
        "batch": {"n": 0},
    }
    lines = bench.render_report(summary).splitlines()
    assert lines[0].split() == ["operation", "(ms)", "runc", "median", "p90"]
    assert len(lines) == 2 + len(bench.OPS) + 1  # header, rule, ops, RSS; no batch row
