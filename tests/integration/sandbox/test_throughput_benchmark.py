"""benchmarks/sandbox_throughput.py reports, per point, CPU per job for both sides and the 2-core ceiling it
implies (no timing is asserted: only that the figures are there and consistent with each other)."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "sandbox_throughput.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("sandbox_throughput", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_each_point_has_cpu_per_job_and_the_ceiling_it_implies(bench):
    report = bench.measure(jobs=4, skip_fairness=True)
    assert report["cpu_source"] in ("cpuacct cgroup", "getrusage (self + reaped children)")
    for row in report["results"]:
        for side in ("sandbox", "subprocess"):
            cpu = row[f"{side}_cpu_ms_per_job"]
            assert cpu > 0
            assert row[f"{side}_ceiling_jobs_per_s_2_cores"] == pytest.approx(2e3 / cpu, rel=0.01)
        assert row["cpu_ratio"] == pytest.approx(row["subprocess_cpu_ms_per_job"] / row["sandbox_cpu_ms_per_job"],
                                                 rel=0.02)


def test_without_cpuacct_the_meter_falls_back_to_getrusage(bench, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(bench.os, "mkdir", lambda *a, **k: (_ for _ in ()).throw(PermissionError("no cgroup")))
        meter = bench.CpuMeter()
    try:
        assert meter.path is None and meter.source.startswith("getrusage")
        rate, cpu, layers = bench._sandboxed(1, 3, meter)
        assert rate > 0 and cpu > 0 and layers
    finally:
        meter.close()
