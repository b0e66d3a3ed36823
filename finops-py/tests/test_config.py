"""Configuring finops per instance from Python: built-in providers with their own keys, base URLs and headers (no
environment), models that apply to them, the core's configuration passed through as a dict, and every name of the
stub importable at run time."""

import ast
import os
import http.server
import pathlib
import threading
from decimal import Decimal
from typing import Iterator, List, Tuple

import pytest

import finops

STUB = pathlib.Path(finops.__file__).with_name("__init__.pyi")


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: List[Tuple[str, str]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("content-length", "0"))
        self.rfile.read(length)
        _Recorder.seen.append((self.headers.get("authorization", ""), self.headers.get("x-firm", "")))
        body = b'{"error": "wrong key"}'
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def model_server() -> Iterator[str]:
    """A real HTTP server on loopback that records each call's key and firm header, and refuses the key (401)."""
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _firm(url: str, key: str, firm: str) -> finops.Finops:
    return finops.Finops(
        providers={"openrouter": {"api_key": key, "base_url": url, "headers": {"X-Firm": firm}, "max_retries": 0}},
        models={"analyst": "anthropic/claude-sonnet-4.5"},
    )


def test_two_firms_with_their_own_keys_in_one_process(model_server: str, bistro_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The environment is not read when providers are configured in code.
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-from-the-environment")
    a = _firm(model_server, "sk-firm-a-0001", "a")
    b = _firm(model_server, "sk-firm-b-0002", "b")
    assert "sk-firm" not in repr(a) + repr(b)
    ra = a.analyze_sync(bistro_path, "Analyse la rentabilité sur trois ans", tenant="firm-a")
    rb = b.analyze_sync(bistro_path, "Is our working capital getting tighter?", tenant="firm-b")
    assert ra.degraded and rb.degraded  # the server refused both keys; the offline analyst answered
    seen = _Recorder.seen
    assert {firm for _, firm in seen} == {"a", "b"}
    for auth, firm in seen:
        assert auth == {"a": "Bearer sk-firm-a-0001", "b": "Bearer sk-firm-b-0002"}[firm]


def test_models_apply_to_built_in_providers() -> None:
    fo = finops.Finops(providers={"openrouter": {"api_key": "sk-or-x"}}, models={"researcher": "deepseek/deepseek-chat-v3.1"})
    assert fo.routes[1] == "researcher: openrouter deepseek/deepseek-chat-v3.1"
    fo = finops.Finops(providers={"local": {"base_url": "http://127.0.0.1:9/v1"}}, models={"analyst": "smollm2"})
    assert fo.routes[0] == "analyst: local smollm2"


def test_the_core_configuration_passes_through_as_a_dict(bistro_path: pathlib.Path) -> None:
    config: finops.FinopsConfig = {"offline": True, "cache": {"ttl_seconds": 60}, "budgets": {"firm-1": Decimal("12.50")}}
    fo = finops.Finops(config)
    q = "Is our working capital getting tighter?"
    assert fo.analyze_sync(bistro_path, q, tenant="firm-1").cache == "miss"
    assert fo.analyze_sync(bistro_path, q, tenant="firm-1").cache == "exact"


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"providers": {"openrouter": {}}}, "providers.openrouter.api_key"),
        ({"providers": {"openrouter": {"api_key": "k", "total_timeout_seconds": -1}}}, "providers.openrouter.total_timeout_seconds"),
        ({"providers": {"openrouter": {"api_key": "k", "headers": {"bad header": "x"}}}}, "providers.openrouter.headers.bad header"),
        ({"providers": {"mistral": {"api_key": "k"}}}, "providers.mistral"),
        ({"models": {"planner": "x"}}, "models.planner"),
        ({"config": {"ofline": True}}, "ofline"),
        ({"rate_limits": (0, 1)}, "rate_limits.per_tenant"),
        ({"offline": True, "providers": {"openai": {"api_key": "k"}}}, "offline"),
        ({"vault": 42}, "vault"),
    ],
)
def test_bad_configuration_names_the_path(kwargs: dict, field: str) -> None:
    with pytest.raises(finops.InvalidArgumentError) as e:
        if "config" in kwargs:
            finops.Finops(kwargs["config"])
        else:
            finops.Finops(**kwargs)
    assert e.value.field == field


def test_every_name_of_the_stub_exists_at_run_time() -> None:
    tree = ast.parse(STUB.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom) and node.module == "types":
            names.update(a.asname or a.name for a in node.names)
    missing = sorted(n for n in names if not hasattr(finops, n))
    assert not missing, f"declared in the stub but not importable: {missing}"
    assert len(names) > 40
    for n in names:
        exec(f"from finops import {n}", {})


def test_errors_carry_the_one_serialized_form(bistro_path: pathlib.Path) -> None:
    with pytest.raises(finops.InvalidArgumentError) as e:
        finops.Finops(offline=True).analyze_sync(bistro_path, "x", max_cache_age=-1.0)
    err = e.value
    assert err.code == "invalid_argument" and err.field == "max_cache_age" and err.reason
    assert err.retryable is False and err.details == {} and err.message == str(err)
    limited = finops.Finops(offline=True, rate_limits=(100, 1))
    limited.analyze_sync(bistro_path, "marges", tenant="f", client="c")
    with pytest.raises(finops.RateLimitedError) as r:
        limited.analyze_sync(bistro_path, "marges", tenant="f", client="c")
    assert r.value.retryable and r.value.scope == "principal"
    assert r.value.details["retry_after_ms"] / 1000 == pytest.approx(r.value.retry_after)
    assert r.value.status is None  # declared on the class: None when the error has none


def test_analysis_parts_are_typed_with_exact_decimals(bistro_path: pathlib.Path) -> None:
    a = finops.Finops(offline=True).analyze_sync(bistro_path, "Analyse la rentabilité sur trois ans")
    figure = next(f for f in a.figures if f.id == "gross_margin@FY2023")
    assert isinstance(figure, finops.Figure) and isinstance(figure.value, Decimal)
    assert str(figure.value.quantize(Decimal("0.0001"))) == "0.6897"
    assert figure.metric == "gross_margin" and figure.period == "FY2023" and figure.unit == "percent"
    assert figure.inputs and all(isinstance(i.value, Decimal) for i in figure.inputs)
    assert {i.line for i in figure.inputs} >= {"revenue"}
    assert figure.to_dict()["value"] == str(figure.value)
    assert isinstance(a.plan, finops.AnalysisPlan) and "gross_margin" in a.plan.metrics
    assert all(isinstance(u, finops.PhaseUsage) and u.phase in ("analyst", "researcher", "validator") for u in a.usage)
    assert a.usage[0].cost_usd == Decimal("0") and a.usage[0]["provider"] == "offline"
    assert all(isinstance(f, finops.Finding) for f in a.findings)
    assert all(isinstance(c, finops.Computation) for c in a.computations)
    with pytest.raises(KeyError):
        a.usage[0]["no_such_field"]


def test_an_analysis_round_trips_through_json(bistro_path: pathlib.Path) -> None:
    a = finops.Finops(offline=True).analyze_sync(bistro_path, "Is our debt too high?")
    back = finops.Analysis.from_json(a.to_json())
    assert back == a and back.figures == a.figures and back.report == a.report
    with pytest.raises(finops.InvalidArgumentError) as e:
        finops.Analysis.from_json('{"id": 1}')
    assert e.value.field == "analysis"


async def test_vaults_and_queues_close_and_work_as_context_managers(
    tmp_path: pathlib.Path, bistro_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINOPS_MASTER_KEY", "ab" * 32)
    cpa = finops.Principal("firm-close", "cpa")
    async with await finops.Vault.open(str(tmp_path / "v")) as vault:
        a = finops.Finops(offline=True).analyze_sync(bistro_path, "Marges ?", tenant="firm-close", client="bistro")
        await vault.save(cpa, a)
        assert [x.id for x in await vault.list(cpa)] == [a.id]
    with pytest.raises(finops.BackendError) as e:
        await vault.list(cpa)
    assert e.value.backend == "sqlite" and e.value.retryable is False
    await vault.close()  # idempotent
    url = os.environ.get("FINOPS_TEST_POSTGRES_URL")
    if url:
        async with await finops.Queue.connect(f"{url}#close-{os.getpid()}") as q:
            job = await q.enqueue(bistro_path, "Marges ?", tenant="firm-close", key="k")
            assert (await q.status("firm-close", job))["status"] == "queued"
        with pytest.raises(finops.BackendError):
            await q.status("firm-close", job)


def test_logs_reach_python_logging(bistro_path: pathlib.Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.INFO, logger="finops_core"):
        finops.refresh_logging()  # the levels are cached: re-read them after changing one
        finops.Finops(offline=True).analyze_sync(bistro_path, "Marges ?", tenant="firm-logs")
    records = [r for r in caplog.records if r.name.startswith("finops_core")]
    assert any("analysis completed" in r.getMessage() for r in records), [r.getMessage() for r in records]
    assert all("Marges" not in r.getMessage() for r in records), "no client data in the logs"
