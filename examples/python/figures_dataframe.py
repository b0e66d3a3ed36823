"""Figures into a pandas DataFrame: one row per metric, one column per period, exact decimals.

Run from the repository root after `pip install ./finops-py pandas`:
    python examples/python/figures_dataframe.py
"""

import decimal
import pathlib
from typing import Optional

import pandas as pd

import finops

STATEMENTS = pathlib.Path(__file__).resolve().parents[1] / "data" / "bistro-saint-denis.json"


def to_decimal(value: Optional[str]) -> Optional[decimal.Decimal]:
    return None if value is None else decimal.Decimal(value)


def figures_table(path: pathlib.Path) -> pd.DataFrame:
    frame = pd.DataFrame(finops.compute_metrics(path))
    frame["value"] = frame["value"].map(to_decimal)
    return frame.pivot(index="metric", columns="period", values="value")


if __name__ == "__main__":
    table = figures_table(STATEMENTS)
    print(table.loc[["current_ratio", "gross_margin", "net_margin", "debt_to_equity"]])
