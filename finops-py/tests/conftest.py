import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BISTRO = ROOT / "examples" / "data" / "bistro-saint-denis.json"


@pytest.fixture
def bistro_path() -> pathlib.Path:
    return BISTRO


@pytest.fixture
def bistro_dict() -> dict:
    return json.loads(BISTRO.read_text())


PLAN = json.dumps({"intents": ["liquidity"], "metrics": ["current_ratio", "working_capital"], "periods": ["FY2023"]})
RESEARCH = json.dumps(
    {"findings": [{"text": "Current assets cover current liabilities.", "cites": ["current_ratio@FY2023"]}]}
)
VALIDATED = json.dumps(
    {"verdicts": [{"finding": 0, "status": "confirmed"}], "report": "Liquidity: the current ratio is 1.81 in FY2023 and working capital 409,070 CAD."}
)


def answer_for(request: dict) -> str:
    """What a well-behaved model answers in each phase."""
    return {"analyst": PLAN, "researcher": RESEARCH, "validator": VALIDATED}[request["phase"]]
