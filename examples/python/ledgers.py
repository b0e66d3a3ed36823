"""Read a client's books as accounting software exports them, and follow a figure down to the accounts.

    python examples/python/ledgers.py

The same company in five formats (a GIFI trial balance, three PCG FEC files, QuickBooks and Xero reports, and the
statements document) gives the same figures; each figure's inputs name the ledger accounts that made them.
"""

import pathlib
from typing import Any, Dict, List, Optional

import finops

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"


def figure(statements: finops.Statements, figure_id: str) -> Dict[str, Any]:
    """One figure of the statements, by id (`gross_margin@FY2023`)."""
    return next(f for f in finops.compute_metrics(statements) if f["id"] == figure_id)


def books() -> Dict[str, finops.Statements]:
    """The example company, read from every format finops knows."""
    return {
        "statements": finops.Statements(DATA / "bistro-saint-denis.json"),
        "GIFI trial balance": finops.read_statements(DATA / "bistro-saint-denis.gifi.json"),
        "PCG FEC": finops.read_statements(sorted((DATA / "fec").iterdir()), company={"name": "Bistro Saint-Denis SAS"}),
        "QuickBooks": finops.read_statements(DATA / "bistro-saint-denis.quickbooks.json", company={"name": "Bistro Saint-Denis inc."}),
        "Xero": finops.read_statements(DATA / "bistro-saint-denis.xero.json", company={"currency": "CAD"}),
    }


def trace(statements: finops.Statements, figure_id: str) -> List[str]:
    """A figure and, under each of its inputs, the accounts that made it."""
    f = figure(statements, figure_id)
    lines = [f"{f['id']} = {f['value']}  ({f['formula']})"]
    for i in f["inputs"]:
        lines.append(f"  {i['line']} {i['period']} = {i['value']}")
        accounts: Optional[List[Dict[str, str]]] = i.get("accounts")
        for a in accounts or []:
            lines.append(f"    {a['account']:>8}  {a['name']:<45} {a['amount']:>14}")
    return lines


if __name__ == "__main__":
    read = books()
    for name, statements in read.items():
        print(f"{name:<20} gross margin FY2023 = {figure(statements, 'gross_margin@FY2023')['value']}")
    print()
    print("\n".join(trace(read["GIFI trial balance"], "current_ratio@FY2023")))
