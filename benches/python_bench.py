"""Python-side benchmarks of the finops package (run after `pip install ./finops-py`):

    python benches/python_bench.py

1. Per-call overhead of `finops.compute_metrics` from Python compared with the same work in Rust (the criterion
   figures of `cargo bench -p finops-benches --bench core`: parse 82.4 us + compute_all 15.4 us).
2. Analyses per second from Python with the scripted provider (three model phases, four calls, zero latency),
   sequential (`analyze_sync`) and concurrent (`asyncio.gather` of `analyze`).
"""

import asyncio
import json
import pathlib
import statistics
import time

import finops

ROOT = pathlib.Path(__file__).resolve().parents[1]
TEXT = (ROOT / "examples" / "data" / "bistro-saint-denis.json").read_text()
PLAN = json.dumps({"intents": ["liquidity"], "metrics": ["current_ratio", "working_capital"], "periods": ["FY2023"]})
RESEARCH = json.dumps({"findings": [{"text": "Current assets cover current liabilities.", "cites": ["current_ratio@FY2023"]}]})
VALIDATED = json.dumps({"verdicts": [{"finding": 0, "status": "confirmed"}], "report": "Liquidity: the current ratio is 1.81 in FY2023 and working capital 409,070 CAD."})


def per_call(fn, n: int) -> float:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e6


def scripted(n: int) -> finops.ScriptedProvider:
    p = finops.ScriptedProvider()
    for _ in range(n):
        p.reply("analyst", PLAN)
        p.reply("researcher", RESEARCH)
        p.reply("validator", VALIDATED)
    return p


def main() -> None:
    statements = finops.Statements(TEXT)
    for _ in range(200):
        finops.compute_metrics(statements)
    print(f"compute_metrics(JSON text)        median {per_call(lambda: finops.compute_metrics(TEXT), 2000):8.1f} us")
    print(f"compute_metrics(parsed Statements) median {per_call(lambda: finops.compute_metrics(statements), 2000):8.1f} us")
    print(f"Statements(JSON text)              median {per_call(lambda: finops.Statements(TEXT), 2000):8.1f} us")

    n = 2000
    fo = finops.Finops(provider=scripted(n + 50))
    fo.analyze_sync(statements, "Is our working capital getting tighter?")
    t = time.perf_counter()
    for _ in range(n):
        a = fo.analyze_sync(statements, "Is our working capital getting tighter?")
    dt = time.perf_counter() - t
    assert a.report_source == "validator" and not a.degraded
    print(f"analyze_sync, scripted provider    {n / dt:8.0f} analyses/s ({dt / n * 1e6:.0f} us each)")

    async def concurrent() -> float:
        fo = finops.Finops(provider=scripted(n))
        t = time.perf_counter()
        results = await asyncio.gather(*[fo.analyze(statements, "Is our working capital getting tighter?") for _ in range(n)])
        dt = time.perf_counter() - t
        assert all(not r.degraded for r in results)
        return n / dt

    print(f"analyze (asyncio.gather of {n})     {asyncio.run(concurrent()):8.0f} analyses/s")


if __name__ == "__main__":
    main()
