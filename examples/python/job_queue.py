"""Submit analyses to a finops queue and follow them while a worker runs them.

Run from the repository root after `pip install ./finops-py`, with PostgreSQL (or Redis plus a store):
    export FINOPS_MASTER_KEY=$(openssl rand -hex 32)   # the deployment's key: the same in every process, kept
    python examples/python/job_queue.py postgres://finops:finops@127.0.0.1/finops_test [tenant]

This script also runs a worker in its own process so that it works alone; in a deployment the workers run
elsewhere (`cargo run -p finops-examples --bin worker -- --queue URL`, or `Queue.run_worker` in a service).
"""

import asyncio
import pathlib
import sys
import uuid

import finops

STATEMENTS = pathlib.Path(__file__).resolve().parents[1] / "data" / "bistro-saint-denis.json"
QUESTIONS = ["Analyse la rentabilité du bistro sur trois ans", "Is our working capital getting tighter?"]


async def main(url: str, tenant: str) -> None:
    q = await finops.Queue.connect(url)
    run = uuid.uuid4().hex[:8]
    jobs = [
        await q.enqueue(STATEMENTS, question, tenant=tenant, key=f"{run}-{i}", events=True)
        for i, question in enumerate(QUESTIONS)
    ]
    stop = asyncio.Event()
    worker = asyncio.ensure_future(q.run_worker(finops.Finops(), concurrency=2, until=stop.wait()))
    for job in jobs:
        async for event in q.follow(tenant, job):
            if event["type"] == "analysis" and event["event"]["type"] == "phase_started":
                print(f"{job[:8]} {event['event']['phase']} started")
            elif event["type"] == "finished":
                print(f"{job[:8]} {event['status']}")
        analysis = await q.result(tenant, job)
        if analysis is not None:
            print(f"{job[:8]} {analysis.report.splitlines()[0]}")
    stop.set()  # a graceful stop: the worker finishes the jobs in hand
    stats = await worker
    print(f"worker: {stats['succeeded']} succeeded, {stats['dead']} dead")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "cpa-firm-1"))
