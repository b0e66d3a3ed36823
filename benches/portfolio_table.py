"""A firm's portfolio as one table, side by side with FinanceToolkit (run after `pip install ./finops-py[arrow]
financetoolkit`):

    python benches/portfolio_table.py [--companies 10000] [--runs 5]

10,000 synthetic companies x 3 years (the same rows for both):

1. finops: `finops.compute_metrics_table(documents).to_pandas()` from the companies' finops.statements/v1 JSON
   texts (parsing, validation, all 26 catalogue metrics exactly, the Arrow table, pandas), and the same from
   already parsed `finops.Statements`.
2. FinanceToolkit: its ratio functions (`financetoolkit.ratios.*_model`) on a pandas DataFrame of the same rows,
   for the 23 metrics both compute, with the inputs they take (totals, averages) derived with pandas; and the same
   from the JSON documents finops reads (`json.loads`, one row per period, pandas), so both start from one input.

Both sides' values are compared metric by metric (finops's float column against FinanceToolkit's floats); the
medians of `--runs` runs are printed, with memory per company.
"""

import argparse
import json
import random
import resource
import statistics
import time

import pandas as pd
import pyarrow as pa

import finops
from financetoolkit.ratios import efficiency_model as eff
from financetoolkit.ratios import liquidity_model as liq
from financetoolkit.ratios import profitability_model as prof
from financetoolkit.ratios import solvency_model as solv

YEARS = (2021, 2022, 2023)
NAICS = ("722511", "722513", "541211", "238220", "445110")


def company(seed: int) -> tuple[str, list[dict]]:
    """One company's statements document and its rows (amounts in cents, as ints)."""
    rng = random.Random(seed)
    periods, rows = [], []
    for year in YEARS:
        c = lambda hi: rng.randrange(1, hi)  # noqa: E731
        bs = {
            "cash": c(20_000_000),
            "marketable_securities": c(5_000_000),
            "accounts_receivable": c(30_000_000),
            "inventory": c(20_000_000),
            "other_current_assets": c(5_000_000),
        }
        bs["total_current_assets"] = sum(bs.values())
        bs["property_plant_equipment"] = c(150_000_000)
        bs["other_non_current_assets"] = c(10_000_000)
        bs["total_assets"] = bs["total_current_assets"] + bs["property_plant_equipment"] + bs["other_non_current_assets"]
        liab = {
            "accounts_payable": c(30_000_000),
            "short_term_debt": c(10_000_000),
            "other_current_liabilities": c(8_000_000),
        }
        liab["total_current_liabilities"] = sum(liab.values())
        liab["long_term_debt"] = c(60_000_000)
        liab["other_non_current_liabilities"] = c(2_000_000)
        liab["total_liabilities"] = liab["total_current_liabilities"] + liab["long_term_debt"] + liab["other_non_current_liabilities"]
        bs.update(liab)
        bs["total_equity"] = bs["total_assets"] - bs["total_liabilities"]
        revenue = c(400_000_000) + 50_000_000
        inc = {
            "revenue": revenue,
            "cost_of_goods_sold": rng.randrange(revenue // 5, revenue // 2),
            "operating_expenses": rng.randrange(revenue // 5, revenue // 2),
            "depreciation_amortization": c(revenue // 20),
            "interest_expense": c(revenue // 50),
            "other_income": c(revenue // 100),
        }
        ibt = (
            inc["revenue"] - inc["cost_of_goods_sold"] - inc["operating_expenses"] - inc["depreciation_amortization"]
            - inc["interest_expense"] + inc["other_income"]
        )
        inc["income_tax_expense"] = max(ibt, 0) * 26 // 100
        inc["net_income"] = ibt - inc["income_tax_expense"]
        cf = {"operating_cash_flow": c(60_000_000), "capital_expenditures": c(30_000_000), "dividends_paid": 0}
        cents = lambda d: {k: f"{v // 100}.{v % 100:02d}" if v >= 0 else f"-{(-v) // 100}.{(-v) % 100:02d}" for k, v in d.items()}  # noqa: E731
        periods.append({
            "label": f"FY{year}", "start": f"{year}-01-01", "end": f"{year}-12-31",
            "income_statement": cents(inc), "balance_sheet": cents(bs), "cash_flow": cents(cf),
        })
        rows.append({"client": str(seed), "year": year, **{k: v / 100 for k, v in {**inc, **bs, **cf}.items()}})
    doc = {
        "schema": "finops.statements/v1",
        "company": {"name": f"Company {seed}", "naics": NAICS[seed % len(NAICS)], "currency": "CAD"},
        "periods": periods,
    }
    return json.dumps(doc), rows


def financetoolkit_ratios(df: pd.DataFrame) -> pd.DataFrame:
    """The 23 shared metrics with FinanceToolkit's functions; averages with the previous year where there is one,
    as finops computes them."""
    g = df.groupby("client", sort=False)

    def avg(col: str) -> pd.Series:
        prev = g[col].shift(1)
        return ((prev + df[col]) / 2).fillna(df[col])

    total_debt = df["short_term_debt"] + df["long_term_debt"]
    operating_income = df["revenue"] - df["cost_of_goods_sold"] - df["operating_expenses"] - df["depreciation_amortization"]
    ibt = operating_income - df["interest_expense"] + df["other_income"]
    net_debt = total_debt - df["cash"] - df["marketable_securities"]
    fcf = df["operating_cash_flow"] - df["capital_expenditures"]
    dio = eff.get_days_of_inventory_outstanding(avg("inventory"), df["cost_of_goods_sold"], 365)
    dso = eff.get_days_of_sales_outstanding(avg("accounts_receivable"), df["revenue"], 365)
    dpo = eff.get_days_of_accounts_payable_outstanding(df["cost_of_goods_sold"], avg("accounts_payable"), 365)
    out = {
        "current_ratio": liq.get_current_ratio(df["total_current_assets"], df["total_current_liabilities"]),
        "quick_ratio": liq.get_quick_ratio(df["cash"], df["marketable_securities"], df["accounts_receivable"], df["total_current_liabilities"]),
        "cash_ratio": liq.get_cash_ratio(df["cash"], df["marketable_securities"], df["total_current_liabilities"]),
        "working_capital": liq.get_working_capital(df["total_current_assets"], df["total_current_liabilities"]),
        "operating_cash_flow_ratio": liq.get_operating_cash_flow_ratio(df["operating_cash_flow"], df["total_current_liabilities"]),
        "debt_to_equity": solv.get_debt_to_equity_ratio(total_debt, df["total_equity"]),
        "debt_to_assets": solv.get_debt_to_assets_ratio(total_debt, df["total_assets"]),
        "interest_coverage": solv.get_interest_coverage_ratio(operating_income, df["interest_expense"]),
        "net_debt_to_ebitda": solv.get_net_debt_to_ebitda_ratio(operating_income, df["depreciation_amortization"], net_debt),
        "gross_margin": prof.get_gross_margin(df["revenue"], df["cost_of_goods_sold"]),
        "operating_margin": prof.get_operating_margin(operating_income, df["revenue"]),
        "ebitda_margin": prof.get_ebitda_margin(operating_income, df["depreciation_amortization"], df["revenue"]),
        "net_margin": prof.get_net_profit_margin(df["net_income"], df["revenue"]),
        "effective_tax_rate": prof.get_effective_tax_rate(df["income_tax_expense"], ibt),
        "return_on_assets": prof.get_return_on_assets(df["net_income"], avg("total_assets")),
        "return_on_equity": prof.get_return_on_equity(df["net_income"], avg("total_equity")),
        "asset_turnover": eff.get_asset_turnover_ratio(df["revenue"], avg("total_assets")),
        "inventory_turnover": eff.get_inventory_turnover_ratio(df["cost_of_goods_sold"], avg("inventory")),
        "days_inventory_outstanding": dio,
        "days_sales_outstanding": dso,
        "days_payables_outstanding": dpo,
        "cash_conversion_cycle": eff.get_cash_conversion_cycle(dio, dso, dpo),
        "free_cash_flow_margin": prof.get_free_cash_flow_margin(fcf, df["revenue"]),
    }
    return pd.DataFrame({"client": df["client"], "year": df["year"], **out})


def frame_from_documents(documents: list[str]) -> pd.DataFrame:
    """The rows FinanceToolkit takes, read from the same JSON documents finops reads (floats, as pandas holds them)."""
    rows = []
    for i, text in enumerate(documents):
        doc = json.loads(text)
        for p in doc["periods"]:
            row: dict = {"client": str(i), "year": int(p["end"][:4])}
            for section in ("income_statement", "balance_sheet", "cash_flow"):
                row.update({k: float(v) for k, v in p[section].items()})
            rows.append(row)
    return pd.DataFrame(rows)


def median_time(fn, runs: int):
    samples, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples), result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--companies", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    n = args.companies

    documents, rows = [], []
    for seed in range(n):
        doc, r = company(seed)
        documents.append(doc)
        rows.extend(r)
    frame = pd.DataFrame(rows)
    parsed = [finops.Statements(d) for d in documents]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    t_json, df = median_time(lambda: finops.compute_metrics_table(documents).to_pandas(), args.runs)
    t_parsed, _ = median_time(lambda: finops.compute_metrics_table(parsed).to_pandas(), args.runs)
    t_arrow, table = median_time(lambda: finops.compute_metrics_table(parsed), args.runs)
    # The exact values kept in Arrow memory (pandas ArrowDtype) instead of one Python Decimal per value.
    t_arrow_dtype, _ = median_time(
        lambda: finops.compute_metrics_table(documents).to_pandas(types_mapper=pd.ArrowDtype), args.runs
    )
    t_ft, ft = median_time(lambda: financetoolkit_ratios(frame), args.runs)
    # The same input for both: FinanceToolkit's rows read from the JSON documents finops reads.
    t_ft_json, _ = median_time(lambda: financetoolkit_ratios(frame_from_documents(documents)), args.runs)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    # Agreement, metric by metric: finops's float column against FinanceToolkit's.
    mine = df.assign(year=df["period"].astype(str).str[2:].astype(int), client=df["client"].astype(str))
    wide = mine.pivot_table(index=["client", "year"], columns="metric", values="value_f64", observed=True)
    theirs = ft.set_index(["client", "year"]).reindex(wide.index)
    agree = disagree = finops_refuses = 0
    for metric in theirs.columns:
        a, b = wide[metric], theirs[metric]
        both = a.notna() & b.notna() & (b.abs() != float("inf"))
        close = ((a[both] - b[both]).abs() <= 1e-9 * b[both].abs().clip(lower=1)).sum()
        agree += int(close)
        disagree += int(both.sum() - close)
        finops_refuses += int((a.isna() & b.notna()).sum())

    assert isinstance(table, pa.Table) and table.num_rows == n * 3 * 26
    print(f"{n} companies x {len(YEARS)} years, median of {args.runs} runs")
    print(f"finops  compute_metrics_table(JSON texts).to_pandas()  26 metrics  {t_json * 1e3:8.1f} ms")
    print(f"finops  compute_metrics_table(Statements).to_pandas()  26 metrics  {t_parsed * 1e3:8.1f} ms")
    print(f"finops  compute_metrics_table(Statements) (Arrow only) 26 metrics  {t_arrow * 1e3:8.1f} ms")
    print(f"finops  compute_metrics_table(JSON texts).to_pandas(ArrowDtype) 26  {t_arrow_dtype * 1e3:8.1f} ms")
    print(f"FinanceToolkit ratio functions on a DataFrame          23 metrics  {t_ft * 1e3:8.1f} ms")
    print(f"FinanceToolkit from the same JSON texts (json + pandas) 23 metrics  {t_ft_json * 1e3:8.1f} ms")
    print(f"agreement on the 23 shared metrics: {agree} equal (1e-9 relative), {disagree} different, "
          f"{finops_refuses} where finops says not meaningful and FinanceToolkit gives a number")
    print(f"memory: Arrow table {table.nbytes / n:.0f} B per company, pandas frame "
          f"{df.memory_usage(deep=True).sum() / n:.0f} B per company; peak RSS grew {(rss_after - rss_before) / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
