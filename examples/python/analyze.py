"""A short finops script: figures, then an analysis, then its events.

Run from the repository root after `pip install ./finops-py`:
    python examples/python/analyze.py
"""

import asyncio
import pathlib

import finops

STATEMENTS = pathlib.Path(__file__).resolve().parents[1] / "data" / "bistro-saint-denis.json"


def main() -> None:
    statements = finops.Statements(STATEMENTS)
    figures = finops.compute_metrics(statements)
    margin = next(f for f in figures if f["id"] == "gross_margin@FY2023")
    print(f"gross margin FY2023 = {margin['value']} ({margin['formula']})")

    # Providers come from the environment; with none, the offline analyst answers.
    fo = finops.Finops()
    print("routes:", "; ".join(fo.routes))
    analysis = fo.analyze_sync(statements, "Analyse la rentabilité du bistro sur trois ans")
    print(analysis.report)
    print(f"report by {analysis.report_source}, grounded={analysis.grounded}, cost={analysis.total_cost_usd}")

    async def watch() -> None:
        async for event in fo.stream(statements, "Is our working capital getting tighter?"):
            if event.type in ("phase_started", "degraded", "completed"):
                print("event:", event.type, event.phase or "")

    asyncio.run(watch())


if __name__ == "__main__":
    main()
