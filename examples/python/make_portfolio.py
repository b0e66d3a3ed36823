"""Writes the example portfolio of `examples/data/portfolio/`: fourteen fictitious clients of a CPA firm (eight
restaurants, three accounting practices, three plumbers), three years each, as finops.statements/v1 documents.
Deterministic; every document is checked by finops before it is written.

    python examples/python/make_portfolio.py
"""

import json
import pathlib
import random
from typing import Any, Dict, Tuple

import finops

OUT = pathlib.Path(__file__).resolve().parents[1] / "data" / "portfolio"

# (client id, name, sector, NAICS, gross margin range, current ratio range)
CLIENTS = [
    ("resto-01", "Chez Margot", "restaurants", "722511", (0.64, 0.71), (0.7, 1.6)),
    ("resto-02", "La Brasserie du Port", "restaurants", "722511", (0.60, 0.68), (0.6, 1.3)),
    ("resto-03", "Pho Saigon", "restaurants", "722513", (0.58, 0.66), (0.9, 1.8)),
    ("resto-04", "Le Petit Zinc", "restaurants", "722511", (0.66, 0.73), (1.1, 2.2)),
    ("resto-05", "Casse-Croûte Beaubien", "restaurants", "722513", (0.55, 0.62), (0.5, 1.1)),
    ("resto-06", "Trattoria Nonna", "restaurants", "722511", (0.63, 0.70), (0.8, 1.5)),
    ("resto-07", "Sushi Kaizen", "restaurants", "722511", (0.57, 0.64), (1.2, 2.5)),
    ("resto-08", "Boulangerie Saint-Roch", "restaurants", "722515", (0.52, 0.60), (0.9, 1.7)),
    ("cpa-01", "Tremblay & Associés CPA", "accounting", "541211", (0.85, 0.95), (1.4, 3.0)),
    ("cpa-02", "Gagnon Fiscalité", "accounting", "541213", (0.82, 0.93), (1.1, 2.4)),
    ("cpa-03", "Comptabilité Lavoie", "accounting", "541219", (0.80, 0.92), (0.9, 2.0)),
    ("plumb-01", "Plomberie Côté", "plumbing", "238220", (0.30, 0.42), (1.0, 2.1)),
    ("plumb-02", "Chauffage Bergeron", "plumbing", "238220", (0.28, 0.40), (0.7, 1.4)),
    ("plumb-03", "Thermo-Pro Laval", "plumbing", "238220", (0.33, 0.45), (1.3, 2.6)),
]


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def document(
    seed: int, name: str, sector: str, naics: str, margin: Tuple[float, float], current: Tuple[float, float]
) -> Dict[str, Any]:
    rng = random.Random(seed)
    revenue = rng.randrange(80_000_000, 600_000_000)  # cents
    periods = []
    for year in (2022, 2023, 2024):
        revenue = revenue * rng.randrange(90, 118) // 100
        cogs = int(revenue * (1 - rng.uniform(*margin)))
        opex = int((revenue - cogs) * rng.uniform(0.70, 0.92))
        da = revenue * rng.randrange(2, 5) // 100
        interest = revenue * rng.randrange(3, 15) // 1000
        other = revenue * rng.randrange(0, 5) // 1000
        ibt = revenue - cogs - opex - da - interest + other
        tax = max(ibt, 0) * 26 // 100
        tcl = revenue * rng.randrange(8, 20) // 100
        payables, std = tcl * 55 // 100, tcl * 15 // 100
        ocl = tcl - payables - std
        tca = int(tcl * rng.uniform(*current))
        cash = tca * rng.randrange(25, 50) // 100
        securities = tca * rng.randrange(0, 10) // 100
        receivables = tca * rng.randrange(15, 35) // 100
        inventory = tca * rng.randrange(5, 20) // 100
        oca = tca - cash - securities - receivables - inventory
        ppe = revenue * rng.randrange(20, 60) // 100
        onca = revenue * rng.randrange(1, 5) // 100
        ltd = ppe * rng.randrange(20, 60) // 100
        oncl = revenue * rng.randrange(0, 3) // 100
        total_assets = tca + ppe + onca
        total_liabilities = tcl + ltd + oncl
        periods.append({
            "label": f"FY{year}", "start": f"{year}-01-01", "end": f"{year}-12-31",
            "income_statement": {k: money(v) for k, v in {
                "revenue": revenue, "cost_of_goods_sold": cogs, "operating_expenses": opex,
                "depreciation_amortization": da, "interest_expense": interest, "other_income": other,
                "income_tax_expense": tax, "net_income": ibt - tax}.items()},
            "balance_sheet": {k: money(v) for k, v in {
                "cash": cash, "marketable_securities": securities, "accounts_receivable": receivables,
                "inventory": inventory, "other_current_assets": oca, "total_current_assets": tca,
                "property_plant_equipment": ppe, "other_non_current_assets": onca, "total_assets": total_assets,
                "accounts_payable": payables, "short_term_debt": std, "other_current_liabilities": ocl,
                "total_current_liabilities": tcl, "long_term_debt": ltd, "other_non_current_liabilities": oncl,
                "total_liabilities": total_liabilities, "total_equity": total_assets - total_liabilities}.items()},
            "cash_flow": {k: money(v) for k, v in {
                "operating_cash_flow": (ibt - tax + da) * rng.randrange(80, 115) // 100,
                "capital_expenditures": da * rng.randrange(60, 160) // 100, "dividends_paid": 0}.items()},
        })
    return {
        "schema": "finops.statements/v1",
        "company": {"name": name, "sector": sector, "naics": naics, "jurisdiction": "CA-QC", "currency": "CAD"},
        "periods": periods,
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for seed, (client, name, sector, naics, margin, current) in enumerate(CLIENTS):
        doc = document(seed, name, sector, naics, margin, current)
        finops.Statements(doc)  # refused documents are never written
        (OUT / f"{client}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(CLIENTS)} clients written to {OUT}")


if __name__ == "__main__":
    main()
