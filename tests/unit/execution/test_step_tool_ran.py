"""What a step's end says it ran (`Step.tool_ran`, issue 16): the version the step recorded
when it resolved its tool, for that generation and attempt only; and an agent's tally of
the versions its calls ran (`agent.tally`), per attempt."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from agentsuite_contracts.execution import StepSucceeded
from agentsuite_execution.domain.states import StepState
from agentsuite_execution.engine.agent import tally
from agentsuite_execution.engine.moves import ran
from tests.unit.execution.test_moves import NOW, step

TOOL, V1, V2 = str(uuid4()), str(uuid4()), str(uuid4())


def record(version_id: str = V1, version: str = "1.0.0", **at: int) -> dict[str, Any]:
    where = {"generation": 1, "attempt": 2, **at}
    return {"tool": "t", "tool_id": TOOL, "tool_version_id": version_id, "version": version} | where


def test_a_tool_steps_end_names_the_version_it_recorded() -> None:
    running = step(StepState.RUNNING, ran=record())
    moved = running.succeed({"ok": True}, usage=None, now=NOW)
    [event] = moved.events
    payload = ran(running, event.payload)
    assert isinstance(payload, StepSucceeded)
    assert (str(payload.tool_id), str(payload.tool_version_id), payload.tool_version) == (
        TOOL,
        V1,
        "1.0.0",
    )


def test_a_record_of_another_attempt_or_generation_names_nothing() -> None:
    # this attempt failed before it resolved its tool: the earlier attempt's record is
    # not what it ran
    assert step(StepState.RUNNING, ran=record(attempt=1)).tool_ran() == {}
    assert step(StepState.RUNNING, ran=record(generation=2)).tool_ran() == {}
    assert step(StepState.RUNNING).tool_ran() == {}


def test_an_agent_step_names_the_versions_its_attempts_calls_ran() -> None:
    cp = {"generation": 1, "ran": tally(tally([], [record()], 1), [record(V2, "2.0.0")], 2)}
    agent = step(StepState.RUNNING, kind="agent", ran=record(), checkpoint=cp)
    [mine] = agent.tool_ran()["tool_calls"]  # attempt 2: its own call only
    assert (str(mine.tool_version_id), mine.tool_version, mine.calls) == (V2, "2.0.0", 1)
    assert "tool_id" not in agent.tool_ran()
    assert step(StepState.RUNNING, kind="agent", checkpoint=cp, generation=2).tool_ran() == {}


def test_an_agents_tally_counts_calls_per_version_and_attempt() -> None:
    one, two = record(), record(V2, "2.0.0")
    got = tally([], [one, two, one], 1)
    assert [(r["version"], r["calls"]) for r in got] == [("1.0.0", 2), ("2.0.0", 1)]
    assert tally(got, [two], 1)[1]["calls"] == 2
    assert got[1]["calls"] == 1  # the earlier tally is not changed
    assert [(r["version"], r["attempt"]) for r in tally(got, [one], 2)][2] == ("1.0.0", 2)
