import asyncio
import json
import pathlib
import threading
from typing import Any, Dict, List

import pytest

import finops

from conftest import PLAN, RESEARCH, VALIDATED, answer_for


class SyncProvider:
    name = "my-sync"

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.threads: set = set()

    def chat(self, request: Dict[str, Any]) -> Dict[str, Any]:
        self.requests.append(request)
        self.threads.add(threading.get_ident())
        return {"text": answer_for(request), "input_tokens": 11, "output_tokens": 7, "cost_usd": "0.0005"}


class AsyncProvider:
    name = "my-async"

    def __init__(self) -> None:
        self.calls = 0

    async def chat(self, request: Dict[str, Any]) -> str:
        self.calls += 1
        await asyncio.sleep(0.001)
        return answer_for(request)


def test_a_sync_python_provider(bistro_path: pathlib.Path) -> None:
    p = SyncProvider()
    a = finops.Finops(provider=p).analyze_sync(bistro_path, "Is our working capital getting tighter?")
    assert a.report_source == "validator" and not a.degraded
    assert [r["phase"] for r in p.requests] == ["analyst", "researcher", "validator"]
    first = p.requests[0]
    assert first["json_mode"] is True and first["messages"][0]["role"] == "system"
    # Each request carries its phase's JSON Schema, for a provider that can enforce it.
    assert first["schema"]["name"] == "finops_plan"
    assert "current_ratio" in first["schema"]["schema"]["properties"]["metrics"]["items"]["enum"]
    report = p.requests[2]["schema"]["schema"]["properties"]["report"]["properties"]
    assert "working_capital" in report["metrics"]["properties"] and "trends" in report
    assert "Bistro" not in json.dumps(first), "the Analyst sees no client identity"
    assert a.usage[0]["provider"] == "my-sync" and a.usage[0]["input_tokens"] == 11
    assert a.usage[0].cached_input_tokens == 0 and a.usage[0].cache_write_tokens == 0
    assert a.usage[0].cache_write_1h_tokens == 0
    assert str(a.total_cost_usd) == "0.0015"


async def test_an_async_python_provider_on_the_callers_event_loop(bistro_path: pathlib.Path) -> None:
    p = AsyncProvider()
    a = await finops.Finops(provider=p).analyze(bistro_path, "Is our working capital getting tighter?")
    assert p.calls == 3 and a.report_source == "validator"


def test_an_async_python_provider_from_sync_code(bistro_path: pathlib.Path) -> None:
    p = AsyncProvider()
    a = finops.Finops(provider=p).analyze_sync(bistro_path, "Is our working capital getting tighter?")
    assert p.calls == 3 and not a.degraded


class Flaky:
    def __init__(self) -> None:
        self.calls = 0

    def chat(self, request: Dict[str, Any]) -> Any:
        self.calls += 1
        if request["phase"] == "researcher":
            raise RuntimeError("upstream exploded")
        if request["phase"] == "validator":
            return 42
        return answer_for(request)


def test_provider_failures_degrade_with_the_reason(bistro_path: pathlib.Path) -> None:
    a = finops.Finops(provider=Flaky()).analyze_sync(bistro_path, "Is our working capital getting tighter?")
    assert a.degraded and a.report_source == "offline" and a.grounded
    reason = a.degraded_reason or ""
    assert "RuntimeError: upstream exploded" in reason
    assert "neither a text nor an object with `text`" in reason


def test_scripted_failures_and_remaining(bistro_path: pathlib.Path) -> None:
    p = finops.ScriptedProvider()
    p.fail("analyst", "HTTP 400", retryable=False)
    assert p.remaining("analyst") == 1
    a = finops.Finops(provider=p).analyze_sync(bistro_path, "liquidity")
    assert a.degraded and "HTTP 400" in (a.degraded_reason or "")
    assert p.remaining("analyst") == 0


def test_a_host_provider_gets_the_retry_layer(bistro_path: pathlib.Path) -> None:
    # A provider given by the host has the built-in providers' layers: a retryable failure is tried again.
    p = finops.ScriptedProvider()
    p.fail("analyst", "HTTP 503", retryable=True)
    p.reply("analyst", PLAN)
    p.reply("researcher", RESEARCH)
    p.reply("validator", VALIDATED)
    a = finops.Finops(provider=p).analyze_sync(bistro_path, "liquidity")
    assert not a.degraded, a.degraded_reason
    assert a.usage[0].retries == 1


class Hanging:
    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = False
        self.calls = 0

    async def chat(self, request: Dict[str, Any]) -> str:
        self.calls += 1
        self.started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return ""


async def test_cancelling_the_task_stops_the_rust_work(bistro_path: pathlib.Path) -> None:
    p = Hanging()
    fo = finops.Finops(provider=p)
    task = asyncio.ensure_future(fo.analyze(bistro_path, "liquidity"))
    await asyncio.wait_for(p.started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if p.cancelled:
            break
        await asyncio.sleep(0.01)
    assert p.cancelled, "the provider's pending call was cancelled"
    await asyncio.sleep(0.1)
    assert p.calls == 1, "no further phase ran"


class MyEmbedder:
    dimensions = 3

    def embed(self, texts: List[str]) -> List[List[float]]:
        return [[float(len(t)), 1.0, 0.0] for t in texts]


class BrokenEmbedder:
    dimensions = 4

    async def embed(self, texts: List[str]) -> List[List[float]]:
        return [[1.0, 2.0]]


async def test_python_and_default_embedders() -> None:
    v = await finops.Finops(offline=True, embedder=MyEmbedder()).embed(["abc", "de"])
    assert v == [[3.0, 1.0, 0.0], [2.0, 1.0, 0.0]]
    default = await finops.Finops(offline=True).embed(["Analyse la rentabilité", "analyse la rentabilite"])
    assert len(default[0]) == 256
    dot = sum(x * y for x, y in zip(default[0], default[1]))
    assert dot > 0.99
    with pytest.raises(finops.ProviderError) as e:
        await finops.Finops(offline=True, embedder=BrokenEmbedder()).embed(["a", "b"])
    assert "1 vectors for 2 texts" in str(e.value)
    with pytest.raises(finops.InvalidArgumentError):
        finops.Finops(embedder=object())
