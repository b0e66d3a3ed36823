"""finops.Queue against the real PostgreSQL and Redis that scripts/test starts: enqueue from Python, a worker
running in this process (as another process would), the job's events followed, its result read back, cancellation
and bad input."""

import asyncio
import os
import pathlib
import secrets
import uuid
from typing import Any, Dict, List

import pytest

import finops


def urls() -> List[Dict[str, Any]]:
    pg = os.environ["FINOPS_TEST_POSTGRES_URL"]
    redis = os.environ["FINOPS_TEST_REDIS_URL"]
    return [{"url": pg}, {"url": redis, "store": pg}]


@pytest.fixture(autouse=True)
def master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINOPS_MASTER_KEY", secrets.token_hex(32))


@pytest.mark.parametrize("backend", urls(), ids=["postgres", "redis"])
async def test_jobs_run_by_a_worker_are_followed_and_read_back(
    backend: Dict[str, Any], bistro_path: pathlib.Path
) -> None:
    name = uuid.uuid4().hex
    q = await finops.Queue.connect(f"{backend['url']}#{name}", store=backend.get("store"))
    tenant = f"firm-{name}"
    job = await q.enqueue(bistro_path, "Analyse la rentabilité", tenant=tenant, key="k1", events=True)
    assert await q.enqueue(bistro_path, "Analyse la rentabilité", tenant=tenant, key="k1") == job
    quiet = await q.enqueue(finops.Statements(bistro_path), "Is our debt too high?", tenant=tenant, key="k2")
    status = await q.status(tenant, job)
    assert status is not None and status["status"] == "queued"
    assert await q.result(tenant, job) is None

    stop = asyncio.Event()
    worker = asyncio.ensure_future(q.run_worker(finops.Finops(), concurrency=2, lease_seconds=5.0, until=stop.wait()))
    events = [e async for e in q.follow(tenant, job)]
    assert events[0] == {"type": "started", "attempt": 1}
    assert any(e["type"] == "analysis" and e["event"]["type"] == "phase_started" for e in events)
    assert events[-1] == {"type": "finished", "status": "succeeded", "result_id": job, "error": None}
    quiet_events = [e async for e in q.follow(tenant, quiet)]
    assert [e["type"] for e in quiet_events] == ["finished"]
    # A graceful stop: the worker finishes what it holds and says what it did.
    stop.set()
    stats = await asyncio.wait_for(worker, 30)
    assert stats == {"succeeded": 2, "retried": 0, "dead": 0, "lost_leases": 0, "stopped": 0}
    # Cancelling the task that runs a worker stops it at once.
    idle = asyncio.ensure_future(q.run_worker(finops.Finops()))
    await asyncio.sleep(0.1)
    idle.cancel()
    with pytest.raises(asyncio.CancelledError):
        await idle

    analysis = await q.result(tenant, job)
    assert analysis is not None and analysis.id == job
    assert "rentabilit" in analysis.report.lower() or analysis.report
    assert await q.cancel(tenant, job) == "succeeded"
    assert await q.cancel(tenant, "no-such-job") is None
    assert await q.status("another-firm", job) is None


async def test_a_queued_job_is_cancelled(bistro_path: pathlib.Path) -> None:
    name = uuid.uuid4().hex
    q = await finops.Queue.connect(f"{os.environ['FINOPS_TEST_POSTGRES_URL']}#{name}")
    tenant = f"firm-{name}"  # each run has its own master key: its own tenants
    job = await q.enqueue(bistro_path, "Marges ?", tenant=tenant, key="c1")
    assert await q.cancel(tenant, job) == "cancelled"
    events = [e async for e in q.follow(tenant, job)]
    assert events == [{"type": "finished", "status": "cancelled", "result_id": None, "error": "cancelled"}]


async def test_bad_input_is_refused_with_the_field(bistro_path: pathlib.Path, bistro_dict: dict) -> None:
    with pytest.raises(finops.InvalidArgumentError) as e:
        await finops.Queue.connect("mysql://localhost/x")
    assert e.value.field == "queue"
    with pytest.raises(finops.InvalidArgumentError) as e:
        await finops.Queue.connect(os.environ["FINOPS_TEST_REDIS_URL"])
    assert e.value.field == "store"
    name = uuid.uuid4().hex
    q = await finops.Queue.connect(f"{os.environ['FINOPS_TEST_POSTGRES_URL']}#{name}")
    firm = f"firm-{name}"
    with pytest.raises(finops.InvalidArgumentError) as e:
        await q.enqueue(bistro_path, "Marges ?", tenant=firm, key="k", max_attempts=0)
    assert e.value.field == "max_attempts"
    with pytest.raises(finops.InvalidArgumentError) as e:
        await q.enqueue(bistro_path, "Marges ?", tenant="", key="k")
    assert e.value.field == "tenant"
    broken = dict(bistro_dict, periods=[])
    with pytest.raises(finops.InvalidStatementsError):
        await q.enqueue(broken, "Marges ?", tenant=firm, key="k")
    with pytest.raises(finops.InvalidArgumentError) as e:
        await q.enqueue(bistro_path, "Marges ?", tenant=firm, key="k", language="de")
    assert e.value.field == "language"
    with pytest.raises(finops.InvalidArgumentError) as e:
        await q.run_worker(finops.Finops(), concurrency=0)
    assert e.value.field == "concurrency"
    with pytest.raises(finops.InvalidArgumentError) as e:
        await q.run_worker(finops.Finops(), lease_seconds=float("nan"))
    with pytest.raises(finops.InvalidArgumentError) as not_awaitable:
        await q.run_worker(finops.Finops(), until=42)  # type: ignore[arg-type]
    assert not_awaitable.value.field == "until"
    assert e.value.field == "lease_seconds"
    with pytest.raises(finops.InvalidArgumentError) as e:
        async for _ in q.follow(firm, "no-such-job"):
            pass
    assert e.value.field == "id"


async def test_ended_jobs_are_forgotten_after_the_retention(bistro_path: pathlib.Path) -> None:
    name = uuid.uuid4().hex
    q = await finops.Queue.connect(f"{os.environ['FINOPS_TEST_POSTGRES_URL']}#{name}", retention_seconds=1)
    tenant = f"firm-{name}"
    job = await q.enqueue(bistro_path, "Marges ?", tenant=tenant, key="r1")
    assert await q.cancel(tenant, job) == "cancelled"
    await asyncio.sleep(1.2)
    # PostgreSQL deletes ended jobs when a worker of the process next looks for work.
    stop = asyncio.Event()
    worker = asyncio.ensure_future(q.run_worker(finops.Finops(offline=True), until=stop.wait()))
    await asyncio.sleep(0.5)
    stop.set()
    await worker
    assert await q.status(tenant, job) is None
    for bad, field in [(0.5, "retention"), (-1.0, "retention_seconds"), (float("nan"), "retention_seconds")]:
        with pytest.raises(finops.InvalidArgumentError) as e:
            await finops.Queue.connect(os.environ["FINOPS_TEST_POSTGRES_URL"], retention_seconds=bad)
        assert e.value.field == field


async def test_a_principal_sees_only_what_its_role_allows(bistro_path: pathlib.Path) -> None:
    name = uuid.uuid4().hex
    q = await finops.Queue.connect(f"{os.environ['FINOPS_TEST_POSTGRES_URL']}#{name}")
    firm = f"firm-{name}"
    job = await q.enqueue(bistro_path, "Marges ?", tenant=firm, key="k1", client="bistro")
    cpa, admin = finops.Principal(firm, "cpa"), finops.Principal(firm, "admin")
    client = finops.Principal(firm, "client", "bistro")
    other_firm = finops.Principal(f"other-{name}", "cpa")
    status = await q.status(cpa, job)
    assert status is not None and status["status"] == "queued"
    assert await q.status(admin, job) is not None
    # Another firm's CPA does not even learn that the job exists.
    assert await q.status(other_firm, job) is None
    assert await q.cancel(other_firm, job) is None
    assert await q.result(other_firm, job) is None
    # A Client neither sees, follows nor cancels jobs.
    for call in [q.status(client, job), q.cancel(client, job)]:
        with pytest.raises(finops.AccessDeniedError):
            await call
    with pytest.raises(finops.AccessDeniedError):
        q.follow(client, job)
    assert await q.result(client, job) is None, "no result yet"
    assert await q.cancel(cpa, job) == "cancelled"
    with pytest.raises(finops.InvalidArgumentError):
        await q.status(42, job)  # type: ignore[arg-type]
