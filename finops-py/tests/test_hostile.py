"""Out-of-range and ill-typed arguments from Python: every numeric argument gets `finops.InvalidArgumentError`
naming it (never `OverflowError`, `PanicException` or a crash), and a panic inside finops, should one remain,
arrives as `finops.InternalError`, which `except Exception` catches."""

import os
import pathlib
import secrets
import uuid
from typing import Any, Callable

import pytest

import finops

ABSURD = [-1, -1e300, 1e300, 10**40, -(10**40), float("nan"), float("inf"), float("-inf"), True, "3", None]


def refused(field: str, call: Callable[[], Any]) -> None:
    with pytest.raises(finops.InvalidArgumentError) as e:
        call()
    assert e.value.field == field, (field, e.value.field, e.value.message)


@pytest.mark.parametrize("value", [v for v in ABSURD if v is not None])
def test_scripted_latency(value: Any) -> None:
    refused("latency", lambda: finops.ScriptedProvider(latency=value))


@pytest.mark.parametrize("value", [-1, 10**40, float("nan"), float("inf"), 1e300, "soon", True])
async def test_max_cache_age(value: Any, bistro_path: pathlib.Path) -> None:
    fo = finops.Finops(offline=True)
    with pytest.raises(finops.InvalidArgumentError) as e:
        await fo.analyze(bistro_path, "Marges ?", max_cache_age=value)
    assert e.value.field == "max_cache_age"
    refused("max_cache_age", lambda: fo.analyze_sync(bistro_path, "Marges ?", max_cache_age=value))
    refused("max_cache_age", lambda: fo.stream(bistro_path, "Marges ?", max_cache_age=value))


@pytest.mark.parametrize("value", [(-1, 5), (10**40, 5), (5, -3), (1.5, 2), ("a", 1), (1,), 7])
def test_rate_limits(value: Any) -> None:
    with pytest.raises(finops.InvalidArgumentError) as e:
        finops.Finops(offline=True, rate_limits=value)
    assert e.value.field is not None and e.value.field.startswith("rate_limits")


class _Embedder:
    def __init__(self, dimensions: Any) -> None:
        self.dimensions = dimensions

    def embed(self, texts: list) -> list:
        return [[0.0] * 4 for _ in texts]


@pytest.mark.parametrize("dimensions", [0, -1, 10**40, 2**31, "8", 1.5])
def test_embedder_dimensions(dimensions: Any) -> None:
    refused("embedder", lambda: finops.Finops(offline=True, embedder=_Embedder(dimensions)))


@pytest.fixture
def queue_url() -> str:
    os.environ.setdefault("FINOPS_MASTER_KEY", secrets.token_hex(32))
    return f"{os.environ['FINOPS_TEST_POSTGRES_URL']}#{uuid.uuid4().hex}"


@pytest.mark.parametrize("value", [-1, 10**40, float("nan"), float("inf"), 1e300, "x"])
async def test_queue_arguments(value: Any, queue_url: str, bistro_path: pathlib.Path) -> None:
    with pytest.raises(finops.InvalidArgumentError) as e:
        await finops.Queue.connect(queue_url, retention_seconds=value)
    assert e.value.field == "retention_seconds"
    q = await finops.Queue.connect(queue_url)
    # A negative priority is a low one; every other value here is refused for both.
    for field in ["max_attempts"] if value == -1 else ["priority", "max_attempts"]:
        with pytest.raises(finops.InvalidArgumentError) as e:
            await q.enqueue(bistro_path, "Marges ?", tenant="firm-h", key="k", **{field: value})
        assert e.value.field == field
    with pytest.raises(finops.InvalidArgumentError) as e:
        await q.run_worker(finops.Finops(offline=True), concurrency=value)
    assert e.value.field == "concurrency"
    with pytest.raises(finops.InvalidArgumentError) as e:
        await q.run_worker(finops.Finops(offline=True), lease_seconds=value)
    assert e.value.field in ("lease_seconds", "lease")


def test_a_panic_inside_finops_is_an_internal_error() -> None:
    with pytest.raises(finops.InternalError) as e:
        finops._finops._panic_for_tests(False)  # type: ignore[attr-defined]
    assert "panicked" in e.value.message


async def test_a_panic_in_a_future_is_an_internal_error() -> None:
    with pytest.raises(finops.InternalError):
        await finops._finops._panic_for_tests(True)  # type: ignore[attr-defined]
