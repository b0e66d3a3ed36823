"""The Python guide's samples (docs/guide/python.md, the mdBook) run as one script, in order, from the repository's
root: a sample that no longer works fails here."""

import os
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide" / "python.md"


def samples() -> list[str]:
    blocks = re.findall(r"^```python\n(.*?)^```$", GUIDE.read_text(encoding="utf-8"), flags=re.S | re.M)
    assert len(blocks) >= 5, "the guide lost its samples"
    return blocks


def test_every_sample_of_the_python_guide_runs(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    for name in ("OPENROUTER_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "DEEPSEEK_API_KEY", "FINOPS_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    namespace: dict[str, object] = {"__name__": "guide"}
    for number, code in enumerate(samples(), start=1):
        try:
            exec(compile(code, f"{GUIDE.name} sample {number}", "exec"), namespace)
        except Exception as e:  # the sample's number and text make the failure readable
            raise AssertionError(f"sample {number} failed: {e!r}\n{code}") from e
    assert os.getcwd() == str(ROOT)
