"""The task catalog without a server: group cycles, task revisions and their events."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from agentsuite_catalog.domain.tasks import (
    TaskDraft,
    check_parents,
    deprecate_task,
    edit_group,
    edit_task,
    group_changed,
    new_group,
    new_task,
    publish_task,
)
from agentsuite_contracts.catalog import (
    CatalogStatus,
    TaskCreated,
    TaskDeprecated,
    TaskGroupChanged,
    TaskUpdated,
)
from agentsuite_kit.errors import Conflict, Invalid

NOW = datetime(2026, 12, 1, tzinfo=UTC)
DRAFT = TaskDraft(name="Research", description="find competitors", groups=("research",))


def test_a_group_that_would_be_its_own_ancestor_is_refused() -> None:
    group = new_group(uuid4(), "a", "A", "", ("b",), NOW)
    assert (group.parents, group.version) == (("b",), 1)
    check_parents("a", ["b"], {"c", "d"})
    with pytest.raises(Invalid) as refused:
        edit_group(group, "A", "", ["b"], {"c", "a"})  # b is below a already
    assert (refused.value.code, refused.value.field) == ("group_cycle", "parents")
    with pytest.raises(Invalid) as refused:
        new_group(uuid4(), "a", "A", "", ("a",), NOW)
    assert refused.value.code == "group_cycle"
    edited = edit_group(group, "A2", "now described", ["c", "c"], set())
    assert (edited.parents, edited.version, edited.name) == (("c",), 2, "A2")


def test_every_task_change_is_a_revision_with_its_history_entry_and_event() -> None:
    task, change, events = new_task(uuid4(), "research.competitors", DRAFT, NOW)
    assert (task.version, task.status, change.revision) == (1, CatalogStatus.DRAFT, 1)
    assert events == [TaskCreated(task_id=task.id, spec=task.spec)]
    task, change, events = edit_task(task, DRAFT, "wider", NOW)
    assert (task.version, change.note) == (2, "wider")
    assert events == [
        TaskUpdated(
            task_id=task.id, spec=task.spec, status=CatalogStatus.DRAFT, change_note="wider"
        )
    ]
    task, change, _ = publish_task(task, NOW)
    assert (task.version, task.status, change.status) == (3, "published", "published")
    with pytest.raises(Conflict):
        publish_task(task, NOW)
    task, change, events = deprecate_task(task, "obsolete", NOW)
    assert events == [
        TaskDeprecated(task_id=task.id, key=task.key, reason="obsolete", spec=change.spec)
    ]
    with pytest.raises(Conflict):
        edit_task(task, DRAFT, None, NOW)


@pytest.mark.parametrize(
    ("draft", "code", "field"),
    [
        (TaskDraft(name=" ", description="d"), "name_invalid", "name"),
        (TaskDraft(name="n", description="d", groups=("Bad Key",)), "key_invalid", "groups[0]"),
        (TaskDraft(name="n", description="d", tools=("Bad Name",)), "name_invalid", "tools[0]"),
        (
            TaskDraft(name="n", description="d", input_schema={"$ref": "#"}),
            "schema_ref_cycle",
            "input_schema",
        ),
    ],
)
def test_a_bad_task_is_refused_naming_the_field(draft: TaskDraft, code: str, field: str) -> None:
    with pytest.raises(Invalid) as refused:
        new_task(uuid4(), "k", draft, NOW)
    assert (refused.value.code, refused.value.field) == (code, field)


@pytest.mark.parametrize(
    ("metadata", "code", "field"),
    [
        ([1], "metadata_invalid", "metadata"),
        (
            {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}},
            "metadata_too_deep",
            "metadata",
        ),
        ({"x": "a" * 20_000}, "metadata_too_large", "metadata"),
        ({"x": ["ok", "nul\x00"]}, "metadata_invalid", "metadata.x[1]"),
        ({"x\ud800": 1}, "metadata_invalid", "metadata.x\\ud800"),  # the name spelled out
        ({"x": float("nan")}, "metadata_invalid", "metadata.x"),
    ],
)
def test_metadata_out_of_bounds_is_refused_naming_the_field(
    metadata: object, code: str, field: str
) -> None:
    for make in (
        lambda: new_task(
            uuid4(), "t", TaskDraft(name="n", description="d", metadata=metadata), NOW
        ),
        lambda: new_group(uuid4(), "g", "G", "", (), NOW, metadata),
    ):
        with pytest.raises(Invalid) as refused:
            make()
        assert (refused.value.code, refused.value.field) == (code, field)


def test_metadata_within_bounds_is_kept() -> None:
    meta = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {}}}}}}}, "n": [1, 2.5, None]}
    task, change, _ = new_task(
        uuid4(), "t", TaskDraft(name="n", description="d", metadata=meta), NOW
    )
    assert task.spec.metadata == change.spec.metadata == meta
    assert new_group(uuid4(), "g", "G", "", (), NOW, meta).metadata == meta


def test_a_group_change_is_a_history_entry_and_an_event_carrying_the_group_whole() -> None:
    group = new_group(uuid4(), "mid", "Mid", "", ("top",), NOW, {"owner": "ops"})
    change, events = group_changed(group, NOW)
    assert (change.revision, change.parents, change.metadata) == (1, ("top",), {"owner": "ops"})
    assert events == [
        TaskGroupChanged(
            group_id=group.id,
            key="mid",
            name="Mid",
            parents=["top"],
            metadata={"owner": "ops"},
            revision=1,
        )
    ]
