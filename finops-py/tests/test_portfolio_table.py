"""`finops.compute_metrics_table`: the portfolio's figures as one Arrow table, exact, in pandas and polars."""

import datetime
import json
import pathlib
from decimal import Decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import finops

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"
BISTRO = DATA / "bistro-saint-denis.json"


def varied(n: int) -> list:
    """n companies from the Bistro: amounts scaled differently per company and line, with odd cents, so quotients
    have many decimals; one company without inventory and one with negative equity (figures not computable)."""
    base = json.loads(BISTRO.read_text())
    out = []
    for i in range(n):
        periods = []
        for k, p in enumerate(base["periods"]):
            lines = {**p["income_statement"], **p["balance_sheet"], **p["cash_flow"]}
            for total in ("total_current_assets", "total_assets", "total_current_liabilities", "total_liabilities", "net_income"):
                lines.pop(total)
            factor = Decimal(100 + 7 * i + k) / 100
            for key in ("revenue", "cost_of_goods_sold", "cash", "accounts_payable"):
                lines[key] = str((Decimal(lines[key]) * factor).quantize(Decimal("0.01")) + Decimal("0.07"))
            if i == 1:
                lines.pop("inventory")
            if i == 2:
                lines["long_term_debt"] = "9000000.00"
            # Equity balances the sheet, so the builder's totals agree.
            assets = sum(Decimal(lines[k]) for k in ("cash", "marketable_securities", "accounts_receivable", "inventory",
                                                     "other_current_assets", "property_plant_equipment",
                                                     "other_non_current_assets") if k in lines)
            debts = sum(Decimal(lines[k]) for k in ("accounts_payable", "short_term_debt", "other_current_liabilities",
                                                    "long_term_debt", "other_non_current_liabilities"))
            lines["total_equity"] = str(assets - debts)
            periods.append({"label": p["label"], "start": p["start"], "end": p["end"], "lines": lines})
        company = {"name": f"Client {i}", "currency": "CAD", "naics": "722511" if i % 2 else "541211",
                   **({"sector": "restaurants"} if i % 3 == 0 else {})}
        out.append(finops.build_statements(company, periods))
    return out


def test_table_agrees_with_compute_metrics_for_every_figure() -> None:
    statements = varied(12)
    table = finops.compute_metrics_table(statements)
    assert isinstance(table, pa.Table)
    assert table.num_rows == 12 * 3 * 26
    assert table.schema.metadata[b"schema"] == b"finops.metrics_table/v1"
    assert table.schema.field("value").type == pa.decimal128(38, int(table.schema.metadata[b"finops.value_scale"]))
    rows = table.to_pylist()
    i = 0
    not_computable = 0
    for client, s in enumerate(statements):
        ends = {p["label"]: datetime.date.fromisoformat(p["end"]) for p in json.loads(BISTRO.read_text())["periods"]}
        for figure in finops.compute_metrics(s):
            row = rows[i]
            i += 1
            assert row["client"] == str(client)
            assert row["company"] == s.company["name"]
            assert row["naics"] == s.company.get("naics")
            assert row["sector"] == s.company.get("sector")
            assert (row["period"], row["metric"]) == (figure["period"], figure["metric"])
            assert row["period_end"] == ends[figure["period"]]
            assert (row["unit"], row["basis"]) == (figure["unit"], figure["basis"])
            if figure["value"] is None:
                not_computable += 1
                assert row["value"] is None and row["value_f64"] is None
                assert row["reason"] == figure["reason"]
            else:
                assert row["value"] == Decimal(figure["value"]), figure["id"]
                assert row["value_f64"] == float(Decimal(figure["value"]))
                assert row["reason"] is None
    assert i == len(rows)
    assert not_computable > 12 * 2  # growth in each first year, and the companies built to miss figures
    assert table.schema.metadata[b"finops.rounded_values"] == b"0"


def test_pandas_and_polars_take_the_table() -> None:
    table = finops.compute_metrics_table({"bistro": BISTRO, "copy": BISTRO.read_text()})
    df = table.to_pandas()
    assert list(df.columns) == ["client", "company", "sector", "naics", "period", "period_end", "metric", "value",
                                "value_f64", "unit", "basis", "reason"]
    assert isinstance(df["metric"].dtype, pd.CategoricalDtype)
    margin = df[(df.client == "bistro") & (df.metric == "gross_margin") & (df.period == "FY2023")]
    assert round(margin["value"].iloc[0], 4) == Decimal("0.6897")
    weak = df[(df.metric == "current_ratio") & (df.value < 2)]
    assert sorted(set(weak.client)) == ["bistro", "copy"]
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame) and frame.height == 2 * 3 * 26
    assert frame.schema["value"] == pl.Decimal(38, int(table.schema.metadata[b"finops.value_scale"]))


def test_any_source_finops_reads() -> None:
    gifi = (DATA / "bistro-saint-denis.gifi.json").read_bytes()
    table = finops.compute_metrics_table([gifi], format="auto", chart="gifi")
    direct = finops.compute_metrics(finops.read_statements(gifi, chart="gifi"))
    assert table.num_rows == len(direct)
    values = table.column("value").to_pylist()
    assert values == [Decimal(f["value"]) if f["value"] is not None else None for f in direct]
    assert table.column("client").to_pylist() == ["0"] * len(direct)


def test_empty_portfolio_is_an_empty_table() -> None:
    table = finops.compute_metrics_table([])
    assert table.num_rows == 0 and table.num_columns == 12


def test_a_refused_source_is_named_by_index_and_field() -> None:
    bad = json.loads(BISTRO.read_text())
    bad["periods"][1]["balance_sheet"]["cash"] = "lots"
    with pytest.raises(finops.InvalidStatementsError) as e:
        finops.compute_metrics_table([BISTRO, json.dumps(bad)])
    assert e.value.field == "sources[1].periods[1].balance_sheet.cash"
    with pytest.raises(finops.InvalidStatementsError) as e:
        finops.compute_metrics_table({"ok": BISTRO, "bistro-2": bad})
    assert e.value.field.startswith("clients[bistro-2].periods[1]")
    with pytest.raises(finops.InvalidArgumentError) as e:
        finops.compute_metrics_table([BISTRO, 42])
    assert "sources[1]" in str(e.value)
    with pytest.raises(finops.InvalidArgumentError) as e:
        finops.compute_metrics_table({1: BISTRO})
    assert e.value.field == "clients[0]"
    for one_document in (BISTRO.read_text(), BISTRO.read_bytes()):
        with pytest.raises(finops.InvalidArgumentError) as e:
            finops.compute_metrics_table(one_document)
        assert e.value.field == "sources"
    with pytest.raises(finops.InvalidArgumentError):
        finops.compute_metrics_table(12)
    with pytest.raises(finops.InvalidArgumentError):
        finops.compute_metrics_table([BISTRO], format="spreadsheet")
    with pytest.raises(finops.InvalidStatementsError) as e:
        finops.compute_metrics_table([BISTRO, b"account;debit\n1000;5\n"], format="auto", chart="gifi")
    assert e.value.field == "sources[1]: line 1"
    assert "missing columns" in e.value.reason


PORTFOLIO = DATA / "portfolio"
PEERS_FR = "Comment se situe notre marge brute par rapport aux autres restaurants du cabinet ?"


def test_an_analysis_places_the_client_among_the_firms_other_clients() -> None:
    sources = {p.stem: p for p in sorted(PORTFOLIO.glob("*.json"))}
    fo = finops.Finops(offline=True)
    a = fo.analyze_sync(sources["resto-01"], PEERS_FR, client="resto-01", peers=sources)
    assert a.plan.benchmark and a.language == "fr"
    margin = next(b for b in a.benchmarks if b["metric"] == "gross_margin")
    assert (margin["cohort"], margin["cohort_size"]) == ("NAICS 72251", 7)
    direct = finops.peer_benchmarks("resto-01", sources, metrics=["gross_margin"])["benchmarks"][0]
    assert margin["percentile"] == direct["percentile"] and margin["quartile"] == direct["quartile"]
    finding = next(f for f in a.findings if margin["id"] in f.cites)
    assert "autres clients du cabinet" in finding.text and finding.text in a.report
    assert a.grounded
    # Without peers words, no benchmark; with a bad portfolio, the client is named.
    plain = fo.analyze_sync(sources["resto-01"], "La marge brute progresse-t-elle ?", peers=sources)
    assert not plain.plan.benchmark and plain.benchmarks == []
    with pytest.raises(finops.InvalidStatementsError) as e:
        fo.analyze_sync(sources["resto-01"], PEERS_FR, peers={"x": "{}"})
    assert e.value.field.startswith("clients[x]")
