import asyncio
import decimal
import pathlib

import pytest

import finops

from conftest import PLAN, RESEARCH, VALIDATED, answer_for


def scripted(n: int = 1) -> finops.ScriptedProvider:
    p = finops.ScriptedProvider()
    for _ in range(n):
        p.reply("analyst", PLAN, input_tokens=120, output_tokens=30)
        p.reply("researcher", RESEARCH)
        p.reply("validator", VALIDATED)
    return p


def test_no_argument_finops_uses_the_offline_analyst(bistro_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ["OPENROUTER_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "DEEPSEEK_API_KEY", "FINOPS_OPENAI_BASE_URL"]:
        monkeypatch.delenv(var, raising=False)
    fo = finops.Finops()
    assert fo.routes == ["analyst: offline analyst", "researcher: offline analyst", "validator: offline analyst"]
    a = fo.analyze_sync(bistro_path, "Analyse la rentabilité du bistro sur trois ans")
    assert a.language == "fr" and a.report_source == "offline" and a.degraded
    assert a.grounded and a.validation["grounded"]
    assert "Marge brute" in a.report
    assert a.total_cost_usd == decimal.Decimal(0)
    assert len(a.figures) == 21
    d = a.to_dict()
    assert d["id"] == a.id and d["plan"]["intents"] == ["profitability"]
    assert finops.Finops.from_env().routes == fo.routes


def test_environment_configures_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-secret-value")
    fo = finops.Finops.from_env()
    assert fo.routes[0] == "analyst: openrouter anthropic/claude-sonnet-4.5"
    assert "secret" not in repr(fo)
    monkeypatch.setenv("OPENROUTER_API_KEY", "bad key")
    with pytest.raises(finops.InvalidArgumentError) as e:
        finops.Finops()
    assert e.value.field == "OPENROUTER_API_KEY" and "bad key" not in str(e.value)


async def test_async_analyze_with_the_scripted_provider(bistro_path: pathlib.Path) -> None:
    fo = finops.Finops(provider=scripted(), models={"analyst": "a-model"})
    a = await fo.analyze(bistro_path, "Is our working capital getting tighter?", tenant="firm-1", client="bistro")
    assert (a.tenant, a.client, a.language) == ("firm-1", "bistro", "en")
    assert a.report_source == "validator" and not a.degraded
    assert a.report == "Liquidity: the current ratio is 1.81 in FY2023 and working capital 409,070 CAD."
    usage = a.usage
    assert [u["phase"] for u in usage] == ["analyst", "researcher", "validator"]
    assert usage[0]["input_tokens"] == 120 and usage[0]["model"] == "a-model"
    assert usage[1]["model"] == "deepseek/deepseek-chat"
    assert a.to_json().startswith("{")


def test_language_and_principal(bistro_path: pathlib.Path) -> None:
    fo = finops.Finops(offline=True)
    a = fo.analyze_sync(bistro_path, "Analyse la liquidité", language="en")
    assert a.language == "en"
    p = finops.Principal("firm-1", "client", "bistro")
    a = fo.analyze_sync(bistro_path, "marges", principal=p)
    assert (a.tenant, a.client) == ("firm-1", "bistro")
    with pytest.raises(finops.AccessDeniedError):
        fo.analyze_sync(bistro_path, "marges", principal=p, client="another-company")
    with pytest.raises(finops.InvalidArgumentError) as e:
        finops.Principal("firm-1", "client")
    assert e.value.field == "client"
    with pytest.raises(finops.InvalidArgumentError):
        finops.Principal("firm-1", "auditor")


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"question": "  "}, "question"),
        ({"question": "x" * 4001}, "question"),
        ({"question": "ok", "language": "de"}, "language"),
        ({"question": "ok", "tenant": ""}, "tenant"),
        ({"question": "ok", "client": "a/b"}, "client"),
    ],
)
def test_bad_requests_raise_before_any_work(bistro_path: pathlib.Path, kwargs: dict, field: str) -> None:
    fo = finops.Finops(offline=True)
    with pytest.raises(finops.InvalidArgumentError) as e:
        fo.analyze_sync(bistro_path, **kwargs)
    assert e.value.field == field


def test_bad_configuration() -> None:
    with pytest.raises(finops.InvalidArgumentError):
        finops.Finops(provider=object())
    with pytest.raises(finops.InvalidArgumentError):
        finops.Finops(provider=finops.ScriptedProvider(), offline=True)
    with pytest.raises(finops.InvalidArgumentError):
        finops.Finops(provider=finops.ScriptedProvider(), models={"planner": "x"})
    with pytest.raises(finops.InvalidArgumentError):
        finops.ScriptedProvider(latency=-1)
    with pytest.raises(finops.InvalidArgumentError):
        finops.ScriptedProvider().reply("planner", "x")


async def test_many_analyses_at_once(bistro_path: pathlib.Path) -> None:
    statements = finops.Statements(bistro_path)
    fo = finops.Finops(provider=scripted(50))
    results = await asyncio.gather(
        *[fo.analyze(statements, "Is our working capital getting tighter?", client=f"c{i}") for i in range(50)]
    )
    assert sorted(a.client for a in results) == sorted(f"c{i}" for i in range(50))
    assert all(a.report_source == "validator" for a in results)
    assert len({a.id for a in results}) == 50
    offline = finops.Finops(offline=True)
    more = await asyncio.gather(*[offline.analyze(statements, "Bilan de santé") for _ in range(100)])
    assert all(a.grounded for a in more)


def test_answer_helper_is_consistent() -> None:
    assert answer_for({"phase": "analyst"}) == PLAN


def test_budgets_and_rate_limits(bistro_path: pathlib.Path) -> None:
    p = finops.ScriptedProvider()
    for _ in range(3):
        p.reply("analyst", PLAN)
        p.reply("researcher", RESEARCH)
        p.reply("validator", VALIDATED)
    # The scripted models have no price: each phase reserves the $0.10 fallback, so $0.25 fits no analysis.
    fo = finops.Finops(provider=p, budgets={"firm-1": decimal.Decimal("0.25")})
    with pytest.raises(finops.BudgetExceededError) as e:
        fo.analyze_sync(bistro_path, "liquidity", tenant="firm-1")
    assert e.value.tenant == "firm-1" and e.value.limit_usd == decimal.Decimal("0.25")
    assert e.value.code == "budget_exceeded"
    # Other tenants are not limited.
    assert fo.analyze_sync(bistro_path, "liquidity", tenant="firm-2").report_source == "validator"
    with pytest.raises(finops.InvalidArgumentError):
        finops.Finops(budgets={"firm-1": "lots"})

    limited = finops.Finops(offline=True, rate_limits=(100, 1))
    limited.analyze_sync(bistro_path, "marges", tenant="firm-1", client="bistro")
    with pytest.raises(finops.RateLimitedError) as r:
        limited.analyze_sync(bistro_path, "marges", tenant="firm-1", client="bistro")
    assert r.value.scope == "principal" and r.value.retry_after > 0
    with pytest.raises(finops.InvalidArgumentError):
        finops.Finops(rate_limits=(0, 1))
