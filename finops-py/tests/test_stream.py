import asyncio
import pathlib
from typing import List

import finops

from conftest import PLAN, RESEARCH, VALIDATED


async def test_events_arrive_in_order(bistro_path: pathlib.Path) -> None:
    p = finops.ScriptedProvider()
    p.reply("analyst", PLAN)
    p.reply("researcher", RESEARCH)
    p.reply("validator", VALIDATED)
    fo = finops.Finops(provider=p)
    events: List[finops.Event] = []
    async for event in fo.stream(bistro_path, "Is our working capital getting tighter?"):
        events.append(event)
    kinds = [e.type for e in events if e.type != "text_delta"]
    assert kinds == [
        "queued",
        "phase_started",
        "phase_finished",
        "phase_started",
        "phase_finished",
        "phase_started",
        "phase_finished",
        "completed",
    ]
    deltas = [e for e in events if e.type == "text_delta"]
    assert deltas and all(e.phase is not None and e.text for e in deltas)
    assert "".join(e.text or "" for e in deltas if e.phase == "analyst") == PLAN
    last = events[-1]
    assert last.analysis is not None and last.analysis.report_source == "validator"
    assert events[1].phase == "analyst" and events[1].to_dict()["type"] == "phase_started"


async def test_a_bad_request_fails_at_once(bistro_path: pathlib.Path) -> None:
    fo = finops.Finops(offline=True)
    try:
        fo.stream(bistro_path, "")
    except finops.InvalidArgumentError as e:
        assert e.field == "question"
    else:
        raise AssertionError("an empty question was accepted")


async def test_breaking_out_of_the_stream_stops_the_work(bistro_path: pathlib.Path) -> None:
    p = finops.ScriptedProvider(latency=0.05)
    p.reply("analyst", PLAN)
    p.reply("researcher", RESEARCH)
    p.reply("validator", VALIDATED)
    stream = finops.Finops(provider=p).stream(bistro_path, "liquidity")
    async for event in stream:
        if event.type == "phase_finished":
            break
    del stream
    await asyncio.sleep(0.3)
    # The work runs while the stream is polled: the Researcher's call had started (its reply was taken) and was
    # dropped with the stream; the Validator was never asked.
    assert p.remaining("researcher") == 0
    assert p.remaining("validator") == 1
