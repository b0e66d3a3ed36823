"""Reading ledgers from Python: every format gives the statements' figures, provenance reaches the accounts, the
builder computes totals, and bad input raises a typed error naming the place."""

import json
import pathlib
from decimal import Decimal

import pytest

import finops

DATA = pathlib.Path(__file__).resolve().parents[2] / "examples" / "data"
BISTRO = DATA / "bistro-saint-denis.json"
CASH_FLOW = {"operating_cash_flow", "capital_expenditures", "dividends_paid"}


def values(statements, with_cash_flow=True):
    out = {}
    for f in finops.compute_metrics(statements):
        uses_cf = any(i["line"] in CASH_FLOW for i in f["inputs"]) or "cash flow" in (f.get("reason") or "")
        if with_cash_flow or not uses_cf:
            out[f["id"]] = f["value"]
    return out


def test_every_format_gives_the_same_figures():
    expected = values(str(BISTRO))
    expected_no_cf = values(str(BISTRO), with_cash_flow=False)
    assert values(finops.read_statements(DATA / "bistro-saint-denis.gifi.json")) == expected
    qbo = finops.read_statements(str(DATA / "bistro-saint-denis.quickbooks.json"), company={"name": "Bistro"})
    assert values(qbo) == expected
    xero = finops.read_statements((DATA / "bistro-saint-denis.xero.json").read_bytes(), format="xero", company={"currency": "CAD"})
    assert values(xero, with_cash_flow=False) == expected_no_cf
    csv = finops.read_statements(DATA / "bistro-saint-denis.gifi.csv", chart="gifi", company={"name": "B", "currency": "CAD"})
    assert values(csv, with_cash_flow=False) == expected_no_cf
    fecs = sorted((DATA / "fec").iterdir())
    fec = finops.read_statements(fecs, company={"name": "Bistro Saint-Denis SAS"})
    assert fec.company["currency"] == "EUR"
    assert values(fec, with_cash_flow=False) == expected_no_cf


def test_provenance_reaches_the_accounts():
    s = finops.read_statements(DATA / "bistro-saint-denis.gifi.json")
    ppe = s.accounts("FY2023", "property_plant_equipment")
    assert [a["account"] for a in ppe] == ["1740", "1741"]
    assert Decimal(ppe[1]["amount"]) < 0
    assert finops.Statements(str(BISTRO)).accounts("FY2023", "cash") is None
    margin = next(f for f in finops.compute_metrics(s) if f["id"] == "gross_margin@FY2023")
    assert margin["inputs"][0]["accounts"][0]["account"] == "8000"
    with pytest.raises(finops.InvalidArgumentError):
        s.accounts("FY1999", "cash")
    with pytest.raises(finops.InvalidArgumentError):
        s.accounts("FY2023", "cashh")


def test_builder_computes_totals():
    lines = {
        "revenue": Decimal("1000"), "cost_of_goods_sold": "400", "operating_expenses": "300",
        "depreciation_amortization": "50", "interest_expense": "10", "income_tax_expense": "40",
        "cash": "500", "accounts_receivable": "200", "other_current_assets": "0",
        "property_plant_equipment": "300", "other_non_current_assets": "0", "accounts_payable": "100",
        "short_term_debt": "50", "other_current_liabilities": "50", "long_term_debt": "300",
        "other_non_current_liabilities": "0", "total_equity": "500",
    }
    s = finops.build_statements(
        {"name": "Atelier", "currency": "CAD"},
        [{"label": "FY2024", "start": "2024-01-01", "end": "2024-12-31", "lines": lines,
          "accounts": {"cash": [{"account": "1001", "name": "Caisse", "amount": "500"}]}}],
    )
    total_assets = next(f for f in finops.compute_metrics(s) if f["id"] == "current_ratio@FY2024")
    assert total_assets["value"] == "3.5"
    assert s.accounts("FY2024", "cash")[0]["account"] == "1001"
    with pytest.raises(finops.InvalidStatementsError) as e:
        finops.build_statements({"name": "A", "currency": "CAD"}, [{"label": "FY", "start": "2024-01-01", "end": "2024-12-31", "lines": {"cashh": "1"}}])
    assert e.value.field == "periods[0].lines.cashh"


def test_bad_ledgers_raise_naming_the_place(tmp_path):
    tb = json.loads((DATA / "bistro-saint-denis.gifi.json").read_text())
    tb["periods"][0]["accounts"][0]["debit"] = "1.00"
    with pytest.raises(finops.InvalidStatementsError) as e:
        finops.read_statements(json.dumps(tb))
    assert "FY2021" in e.value.field and "does not balance" in e.value.reason
    with pytest.raises(finops.InvalidStatementsError):
        finops.read_statements(b"hello")
    with pytest.raises(finops.InvalidArgumentError):
        finops.read_statements(DATA / "bistro-saint-denis.gifi.json", format="pdf")
    with pytest.raises(finops.InvalidArgumentError):
        finops.read_statements(DATA / "bistro-saint-denis.gifi.csv", chart=str(tmp_path / "missing.json"))
    with pytest.raises(finops.InvalidArgumentError):
        finops.read_statements(DATA / "bistro-saint-denis.gifi.json", overrides={"1001": "cashh"})
    with pytest.raises(finops.InvalidArgumentError):
        finops.read_statements(12)
    with pytest.raises(finops.InvalidStatementsError) as e:
        finops.read_statements(sorted((DATA / "fec").iterdir()))
    assert e.value.field == "company.name"


def test_cash_flow_is_derived_only_when_asked():
    tb = json.loads((DATA / "bistro-saint-denis.gifi.json").read_text())
    for p in tb["periods"]:
        del p["cash_flow"]
    plain = finops.read_statements(json.dumps(tb))
    fcf = next(f for f in finops.compute_metrics(plain) if f["id"] == "free_cash_flow@FY2023")
    assert fcf["value"] is None and "cash flow" in fcf["reason"]
    derived = finops.read_statements(json.dumps(tb), derive_cash_flow=True)
    fcf = next(f for f in finops.compute_metrics(derived) if f["id"] == "free_cash_flow@FY2023")
    assert fcf["value"] is not None
    assert all(a["account"].startswith("indirect:") for i in fcf["inputs"] for a in i.get("accounts", []))
    assert any(w["code"] == "cash_flow_derived" for w in derived.warnings)


def test_a_chart_is_a_name_a_dict_or_a_path(tmp_path):
    chart = {"name": "GIFI as a custom chart", "map": [{"accounts": "1000-1007", "line": "cash"}]}
    path = tmp_path / "chart.json"
    path.write_text(json.dumps(chart))
    tb = {"schema": "finops.trial_balance/v1", "company": {"name": "M", "currency": "CAD"},
          "periods": [{"label": "FY2024", "start": "2024-01-01", "end": "2024-12-31",
                       "accounts": [{"account": "1001", "balance": "0"}]}]}
    for c in (chart, path, str(path)):
        s = finops.read_statements(json.dumps(tb), chart=c)
        assert s.periods == ["FY2024"]
    with pytest.raises(finops.InvalidArgumentError):
        finops.read_statements(json.dumps(tb), chart=12)


def portfolio(n):
    """n restaurants and accountants built from the Bistro with one line varied (totals computed by the builder)."""
    base = json.loads(BISTRO.read_text())
    clients = {}
    for i in range(n):
        periods = []
        for p in base["periods"]:
            lines = {**p["income_statement"], **p["balance_sheet"]}
            for total in ("total_current_assets", "total_assets", "total_current_liabilities", "total_liabilities", "net_income"):
                lines.pop(total)
            ap = Decimal(lines["accounts_payable"]) * (1 + Decimal(i) / 4)
            lines["total_equity"] = str(Decimal(lines["total_equity"]) - (ap - Decimal(lines["accounts_payable"])))
            lines["accounts_payable"] = str(ap)
            periods.append({"label": p["label"], "start": p["start"], "end": p["end"], "lines": lines})
        company = {"name": f"Client {i}", "currency": "CAD", "naics": "722511" if i % 2 == 0 else "541211"}
        clients[f"c{i}"] = finops.build_statements(company, periods)
    return clients


def test_screening_and_peer_benchmarks():
    clients = portfolio(14)
    found = finops.screen(clients, "current_ratio", "<", 1)
    expected = [cid for cid, s in clients.items()
                if Decimal(next(f["value"] for f in finops.compute_metrics(s) if f["id"] == "current_ratio@FY2023")) < 1]
    assert [m["client"] for m in found] == expected and expected
    assert all(m["figures"][0]["period"] == "FY2023" for m in found)
    each = finops.screen(list(clients.items()), "current_ratio", ">=", "1.5", period="each", naics_prefix="7225")
    assert all(int(m["client"][1:]) % 2 == 0 for m in each)
    result = finops.peer_benchmarks("c0", clients, metrics=["current_ratio"])
    b = result["benchmarks"][0]
    assert (b["cohort"], b["cohort_size"], b["quartile"]) == ("NAICS 722511", 6, 4)
    assert Decimal(b["percentile"]) == 100
    small = finops.peer_benchmarks("c0", dict(list(clients.items())[:9]), metrics=["current_ratio"])
    assert small["benchmarks"] == [] and "fewer than 5" in small["missing"][0]["reason"]
    with pytest.raises(finops.InvalidArgumentError):
        finops.screen(clients, "current_ratio", "≈", 1)
    with pytest.raises(finops.InvalidArgumentError):
        finops.screen(clients, "current_ratios", "<", 1)
    with pytest.raises(finops.InvalidArgumentError):
        finops.screen(clients, "current_ratio", "<", "one")
    with pytest.raises(finops.InvalidArgumentError):
        finops.peer_benchmarks("nobody", clients)
    with pytest.raises(finops.InvalidStatementsError) as e:
        finops.screen({"bad": "{}"}, "current_ratio", "<", 1)
    assert e.value.field.startswith("clients[bad]")
