"""A CPA firm's portfolio in pandas: every figure of every client in one table, exact, then the questions a firm
asks of it (which clients' current ratio is below 1 this year? how do the restaurants' margins compare?).

    pip install ./finops-py pandas pyarrow
    python examples/python/portfolio.py
"""

import pathlib
from decimal import Decimal

import pandas as pd

import finops

PORTFOLIO = pathlib.Path(__file__).resolve().parents[1] / "data" / "portfolio"


def portfolio_frame(folder: pathlib.Path) -> pd.DataFrame:
    """One row per client, period and metric; `value` holds exact decimals, `value_f64` the same as floats."""
    sources = {path.stem: path for path in sorted(folder.glob("*.json"))}
    return finops.compute_metrics_table(sources).to_pandas()


def latest_year(df: pd.DataFrame) -> pd.DataFrame:
    """Each client's rows for its most recent period."""
    last = df.groupby("client", observed=True)["period_end"].transform("max")
    return df[df["period_end"] == last]


def main() -> None:
    df = portfolio_frame(PORTFOLIO)
    print(f"{df['client'].nunique()} clients, {len(df)} figures")

    latest = latest_year(df)
    current = latest[latest["metric"] == "current_ratio"]
    weak = current[current["value"] < Decimal(1)]
    print("\nCurrent ratio below 1 in the latest year:")
    for row in weak.itertuples():
        print(f"  {row.client:<10} {row.company:<28} {row.period}  {row.value:.2f}")

    margins = latest[latest["metric"] == "gross_margin"]
    by_sector = margins.groupby("sector", observed=True)["value_f64"].agg(["count", "median", "min", "max"])
    print("\nGross margin by sector (latest year):")
    for sector, stats in by_sector.iterrows():
        print(f"  {sector:<12} {int(stats['count']):>2} clients  median {stats['median']:.1%}  "
              f"range {stats['min']:.1%} to {stats['max']:.1%}")

    # The same questions with finops's own typed filter and its peer benchmarks (cohorts of five or more only).
    sources = {path.stem: path for path in sorted(PORTFOLIO.glob("*.json"))}
    screened = finops.screen(sources, "current_ratio", "<", 1)
    assert sorted(m["client"] for m in screened) == sorted(weak["client"].astype(str))
    peers = finops.peer_benchmarks("resto-01", sources, metrics=["gross_margin", "current_ratio"])
    for b in peers["benchmarks"]:
        print(f"\nresto-01 {b['metric']}: quartile {b['quartile']} of {b['cohort_size']} peers ({b['cohort']}), "
              f"percentile {b['percentile']}")


if __name__ == "__main__":
    main()
