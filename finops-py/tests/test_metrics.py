import decimal
import json
import pathlib

import pytest

import finops


def test_compute_metrics_from_every_kind_of_input(bistro_path: pathlib.Path, bistro_dict: dict) -> None:
    text = bistro_path.read_text()
    results = [
        finops.compute_metrics(str(bistro_path)),
        finops.compute_metrics(bistro_path),
        finops.compute_metrics(text),
        finops.compute_metrics(text.encode()),
        finops.compute_metrics(bistro_dict),
        finops.compute_metrics(finops.Statements(text)),
    ]
    for figures in results:
        assert figures == results[0]
    figures = results[0]
    assert len(figures) == 26 * 3
    gm = next(f for f in figures if f["id"] == "gross_margin@FY2023")
    assert decimal.Decimal(gm["value"]).quantize(decimal.Decimal("0.0001")) == decimal.Decimal("0.6897")
    assert gm["unit"] == "percent" and gm["formula"] and gm["inputs"]
    growth = next(f for f in figures if f["id"] == "revenue_growth@FY2021")
    assert growth["value"] is None and "previous" in growth["reason"]


def test_dict_input_keeps_decimals_exact(bistro_dict: dict) -> None:
    period = bistro_dict["periods"][0]
    period["income_statement"]["revenue"] = decimal.Decimal(period["income_statement"]["revenue"])
    figures = finops.compute_metrics(bistro_dict)
    assert len(figures) == 78


def test_statements_object(bistro_path: pathlib.Path) -> None:
    s = finops.Statements(bistro_path)
    assert s.periods == ["FY2021", "FY2022", "FY2023"]
    assert len(s.fingerprint) == 64
    assert s.warnings == []
    # The fingerprint ignores key order and number formatting.
    reordered = json.dumps(json.loads(bistro_path.read_text()), sort_keys=True)
    assert finops.Statements(reordered).fingerprint == s.fingerprint


def test_evaluate(bistro_path: pathlib.Path) -> None:
    c = finops.evaluate(bistro_path, "revenue / revenue[prev] - 1", "FY2023")
    assert decimal.Decimal(c["value"]).quantize(decimal.Decimal("0.0001")) == decimal.Decimal("0.0571")
    with pytest.raises(finops.InvalidExpressionError) as e:
        finops.evaluate(bistro_path, "revenue / ", "FY2023")
    assert e.value.expression == "revenue / " and e.value.code == "invalid_expression"
    with pytest.raises(finops.InvalidExpressionError):
        finops.evaluate(bistro_path, "revenue", "FY1999")


def test_bad_statements_name_the_field(bistro_dict: dict) -> None:
    bistro_dict["periods"][0]["balance_sheet"]["total_assets"] = "2251724.32"
    bistro_dict["periods"][1]["income_statement"]["revenue"] = "-5"
    with pytest.raises(finops.InvalidStatementsError) as e:
        finops.compute_metrics(bistro_dict)
    err = e.value
    assert isinstance(err, finops.FinopsError)
    assert err.code == "invalid_statements"
    fields = [i["field"] for i in err.issues]
    assert "periods[0].balance_sheet.total_assets" in fields
    assert "periods[1].income_statement.revenue" in fields
    assert err.field == fields[0] and err.reason


@pytest.mark.parametrize(
    "bad, field",
    [
        ("{not json", "$"),
        (b"[]", "$"),
        ("does/not/exist.json", "statements"),
        (42, "statements"),
        (None, "statements"),
    ],
)
def test_bad_input_types_and_paths(bad: object, field: str) -> None:
    with pytest.raises(finops.FinopsError) as e:
        finops.compute_metrics(bad)  # type: ignore[arg-type]
    assert isinstance(e.value, (finops.InvalidStatementsError, finops.InvalidArgumentError))
    assert e.value.field == field or e.value.field.startswith(field)
