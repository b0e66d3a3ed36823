import json
import pathlib
import runpy
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "python"


def test_the_script_runs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for var in ["OPENROUTER_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "DEEPSEEK_API_KEY", "FINOPS_OPENAI_BASE_URL"]:
        monkeypatch.delenv(var, raising=False)
    runpy.run_path(str(EXAMPLES / "analyze.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "gross margin FY2023 = 0.6896" in out
    assert "## Analyse : rentabilité" in out
    assert "event: completed" in out


def test_the_dataframe_example() -> None:
    import pandas as pd

    module = runpy.run_path(str(EXAMPLES / "figures_dataframe.py"))
    table = module["figures_table"](ROOT / "examples" / "data" / "bistro-saint-denis.json")
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["FY2021", "FY2022", "FY2023"]
    assert str(table.loc["gross_margin", "FY2023"]).startswith("0.6896")
    # Not computable (no previous period): missing in the table, never a made-up number.
    assert pd.isna(table.loc["revenue_growth", "FY2021"])


def test_the_ledgers_example(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLES / "ledgers.py"), run_name="__main__")
    out = capsys.readouterr().out
    margins = {line.split("=")[1].strip() for line in out.splitlines() if "gross margin FY2023" in line}
    assert len(margins) == 1 and next(iter(margins)).startswith("0.6896"), out
    assert "current_ratio@FY2023" in out and "1001  Encaisse" in out, out


def test_the_portfolio_example(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLES / "portfolio.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "14 clients, 1092 figures" in out
    assert "resto-05   Casse-Croûte Beaubien        FY2024  0.84" in out, out
    assert "restaurants   8 clients" in out and "resto-01 gross_margin: quartile" in out, out


def test_the_example_portfolio_is_what_its_generator_writes(tmp_path: pathlib.Path) -> None:
    module = runpy.run_path(str(EXAMPLES / "make_portfolio.py"))
    for seed, (client, name, sector, naics, margin, current) in enumerate(module["CLIENTS"]):
        written = json.loads((ROOT / "examples" / "data" / "portfolio" / f"{client}.json").read_text(encoding="utf-8"))
        assert written == module["document"](seed, name, sector, naics, margin, current), client


def test_the_examples_pass_mypy_strict() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            str(EXAMPLES / "analyze.py"),
            str(EXAMPLES / "figures_dataframe.py"),
            str(EXAMPLES / "job_queue.py"),
            str(EXAMPLES / "review.py"),
            str(EXAMPLES / "ledgers.py"),
            str(EXAMPLES / "portfolio.py"),
            str(EXAMPLES / "make_portfolio.py"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_queue_example() -> None:
    import os
    import secrets
    import uuid

    env = dict(os.environ, FINOPS_MASTER_KEY=secrets.token_hex(32))
    for var in ["OPENROUTER_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "DEEPSEEK_API_KEY", "FINOPS_OPENAI_BASE_URL"]:
        env.pop(var, None)
    url = f"{os.environ['FINOPS_TEST_POSTGRES_URL']}#{uuid.uuid4().hex}"
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "job_queue.py"), url, f"example-{uuid.uuid4().hex}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum(line.endswith(" succeeded") for line in lines) == 2, result.stdout
    assert any(line.endswith(" analyst started") for line in lines), result.stdout


def test_the_review_example(tmp_path: pathlib.Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "FINOPS_MASTER_KEY"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "review.py"), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "client: this analysis awaits a CPA's sign-off" in out, out
    assert "review: signed_off by cpa (1 note)" in out, out
    assert "audit: analysis, access_denied, review, review (4 entries, chain verified)" in out, out
    assert (tmp_path / "data" / "master.key").exists()
