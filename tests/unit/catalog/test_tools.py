"""Tools without a server: versions, schemas, bindings and the lifecycle's events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentsuite_catalog.domain.bindings import (
    Auth,
    BuiltinSpec,
    HttpSpec,
    LlmSpec,
    McpSpec,
    binding_of,
)
from agentsuite_catalog.domain.semver import SemVer, parse
from agentsuite_catalog.domain.tenants import retirement_order
from agentsuite_catalog.domain.tools import (
    Deprecation,
    Draft,
    ToolVersion,
    deprecate,
    new_tool,
    new_version,
    publish,
)
from agentsuite_contracts.catalog import (
    AuthScheme,
    BindingKind,
    CatalogStatus,
    SideEffect,
    ToolDeprecated,
    ToolPublished,
    ToolRegistered,
    ToolUpdated,
    ToolVersionDeprecated,
    ToolVersionPublished,
)
from agentsuite_contracts.identity import TenantStatus
from agentsuite_kit.errors import Conflict, Invalid
from agentsuite_kit.schemas import MAX_NODES, check_schema, violations
from agentsuite_kit.tenants import readable

NOW = datetime(2026, 12, 1, tzinfo=UTC)
QUERY: dict[str, Any] = {
    "type": "object",
    "properties": {"q": {"type": "string"}},
    "required": ["q"],
}


def draft(version: str, schema: dict[str, Any] | None = None, **more: Any) -> Draft:
    return Draft(
        version=version,
        description="search the web",
        binding=more.pop("binding", BuiltinSpec("echo")),
        input_schema=QUERY if schema is None else schema,
        **more,
    )


def refused(code: str, field: str | None) -> Any:
    class Check:
        def __enter__(self) -> None:
            return None

        def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
            assert isinstance(exc, Invalid), f"not refused: {exc!r}"
            assert (exc.code, exc.field) == (code, field), str(exc)
            return True

    return Check()


# --- semantic versions -----------------------------------------------------------------------


def test_semver_precedence_follows_the_spec() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.2.0",
        "2.0.0",
    ]
    parsed = [parse(v) for v in ordered]
    assert sorted(reversed(parsed)) == parsed
    assert parse("1.0.0+build.5") == parse("1.0.0")
    assert str(parse("1.2.3-rc.1+b")) == "1.2.3-rc.1+b"


@pytest.mark.parametrize("text", ["1", "1.0", "01.0.0", "1.0.0-", "v1.0.0", "1.0.0 ", "9" * 70])
def test_a_bad_version_is_refused_naming_the_field(text: str) -> None:
    with refused("version_invalid", "version"):
        parse(text)


@given(st.tuples(*[st.integers(0, 50)] * 3), st.tuples(*[st.integers(0, 50)] * 3))
def test_only_a_major_bump_may_break_past_zero(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    old, new = SemVer(a[0], a[1], a[2]), SemVer(b[0], b[1], b[2])
    if old.major >= 1:
        assert new.may_break(old) == (new.major > old.major)


# --- schemas -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "code"),
    [
        ({"type": "strin"}, "schema_invalid"),
        ({"minLength": -1}, "schema_invalid"),
        ({"$ref": "#"}, "schema_ref_cycle"),
        (
            {"$defs": {"a": {"anyOf": [{"$ref": "#/$defs/b"}]}, "b": {"$ref": "#/$defs/a"}}},
            "schema_ref_cycle",
        ),
        ({"$ref": "https://example.com/s.json"}, "schema_ref_unsupported"),
        ({"$ref": "#/$defs/missing"}, "schema_ref_unresolved"),
        ({"$defs": {"a": {"$id": "urn:x"}}}, "schema_ref_unsupported"),
        ({"enum": list(range(MAX_NODES))}, "schema_too_large"),
    ],
)
def test_a_bad_schema_is_refused_naming_the_field(schema: dict[str, Any], code: str) -> None:
    with refused(code, "input_schema"):
        check_schema(schema, "input_schema")


def test_a_recursive_schema_that_descends_is_fine_and_validates() -> None:
    tree = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "kids": {"type": "array", "items": {"$ref": "#"}},
        },
        "required": ["name"],
        "$defs": {"unused": {"enum": [{"$ref": "#/nowhere"}]}},  # data, not a reference
    }
    assert check_schema(tree, "input_schema") is tree
    found = violations(tree, {"name": "a", "kids": [{"name": 1}, {}]})
    assert [(v.path, v.message) for v in found] == [
        ("$.kids[0].name", "1 is not of type 'string'"),
        ("$.kids[1]", "'name' is a required property"),
    ]
    assert violations(tree, {"name": "a", "kids": [{"name": "b"}]}) == []


# --- bindings --------------------------------------------------------------------------------


def test_each_binding_kind_has_its_contract_form() -> None:
    auth = Auth(AuthScheme.BEARER, "petstore-token")
    http = binding_of(HttpSpec("https://api.example.com/pets/{pet_id}", "get", {"X-A": "1"}, auth))
    assert (http.contract.kind, http.contract.target) == (
        BindingKind.HTTP,
        "https://api.example.com/pets/{pet_id}",
    )
    assert http.contract.config == {"method": "GET", "headers": {"X-A": "1"}}
    assert http.contract.auth is not None
    assert http.contract.auth.secret_name == "petstore-token"
    assert http.url == "https://api.example.com/pets/x"
    mcp = binding_of(McpSpec("https://mcp.example.com/mcp", "search"))
    assert (mcp.contract.kind, mcp.contract.config, mcp.url) == (
        BindingKind.MCP,
        {"tool": "search"},
        "https://mcp.example.com/mcp",
    )
    llm = binding_of(LlmSpec("summarize", "fast", "prod"))
    assert (llm.contract.kind, llm.contract.config, llm.url) == (
        BindingKind.LLM,
        {"prompt": "summarize", "model": "fast", "label": "prod"},
        None,
    )
    assert binding_of(BuiltinSpec("echo")).contract.target == "echo"


@pytest.mark.parametrize(
    ("spec", "code", "field"),
    [
        (HttpSpec("ftp://x.example/a"), "url_invalid", "binding.url"),
        (HttpSpec("https://{host}.example/a"), "url_template_host", "binding.url"),
        (HttpSpec("https://x.example/{a b}"), "url_template_invalid", "binding.url"),
        (HttpSpec("https://x.example/", "TRACE"), "method_invalid", "binding.method"),
        (
            HttpSpec("https://x.example/", headers={"Authorization": "Bearer s3cret"}),
            "header_credential",
            "binding.headers.Authorization",
        ),
        (
            HttpSpec("https://x.example/", headers={"X-A": "a\r\nB: c"}),
            "header_invalid",
            "binding.headers.X-A",
        ),
        (
            HttpSpec("https://x.example/", auth=Auth(AuthScheme.HEADER, "k")),
            "auth_name_required",
            "binding.auth.name",
        ),
        (
            HttpSpec("https://x.example/", auth=Auth(AuthScheme.BEARER, "bad name")),
            "credential_invalid",
            "binding.auth.credential",
        ),
        (McpSpec("https://x.example/{a}", "t"), "url_invalid", "binding.url"),
        (LlmSpec("", "m"), "name_invalid", "binding.prompt"),
    ],
)
def test_a_bad_binding_is_refused_naming_the_field(spec: Any, code: str, field: str) -> None:
    with refused(code, field):
        binding_of(spec)


# --- the lifecycle ---------------------------------------------------------------------------


def test_a_new_tool_is_a_draft_with_its_registered_event() -> None:
    tool, version, events = new_tool(
        uuid4(), "web.search", draft("1.0.0", side_effect=SideEffect.READ_ONLY), NOW
    )
    assert (tool.name, tool.head, version.status) == ("web.search", None, CatalogStatus.DRAFT)
    assert version.spec.idempotent
    assert version.spec.output_schema == {}
    assert events == [ToolRegistered(tool_id=tool.id, spec=version.spec)]


@pytest.mark.parametrize(
    ("name", "made", "code", "field"),
    [
        ("Web Search", draft("1.0.0"), "name_invalid", "name"),
        ("web", draft("1.0.0", {"type": 1}), "schema_invalid", "input_schema"),
        ("web", draft("1.0.0", output_schema={"$ref": "#"}), "schema_ref_cycle", "output_schema"),
        ("web", draft("1.0.0", tags=["x"] * 25_000), "too_many_tags", "tags"),
        ("web", draft("1.0.0", category="Not A Category"), "category_invalid", "category"),
        ("web", draft("1.0.0", timeout_ms=0), "timeout_invalid", "timeout_ms"),
    ],
)
def test_a_bad_tool_is_refused_naming_the_field(
    name: str, made: Draft, code: str, field: str
) -> None:
    with refused(code, field):
        new_tool(uuid4(), name, made, NOW)


def versions_after(*steps: tuple[str, dict[str, Any]]) -> tuple[Any, list[ToolVersion]]:
    """A tool whose versions are `steps` (version, input schema), each published."""
    tool, first, _ = new_tool(uuid4(), "web", draft(steps[0][0], steps[0][1]), NOW)
    tool, first, _ = publish(tool, first, [first], NOW)
    versions = [first]
    for text, schema in steps[1:]:
        made, _ = new_version(tool, versions, draft(text, schema), NOW)
        tool, done, _ = publish(tool, made, [*versions, made], NOW)
        versions.append(done)
    return tool, versions


def test_a_version_is_immutable_and_the_name_never_changes() -> None:
    tool, versions = versions_after(("1.0.0", QUERY))
    with refused("version_exists", "version"):
        new_version(tool, versions, draft("1.0.0+other"), NOW)
    with refused("name_immutable", "name"):
        new_version(tool, versions, draft("1.1.0"), NOW, name="web2")
    made, events = new_version(tool, versions, draft("1.1.0"), NOW, name="web")
    assert events == [ToolUpdated(tool_id=tool.id, spec=made.spec)]
    with pytest.raises(Conflict):
        publish(tool, versions[0], versions, NOW)  # published already


def test_a_breaking_input_schema_needs_a_major_bump() -> None:
    tool, versions = versions_after(("1.0.0", QUERY))
    narrower = QUERY | {
        "required": ["q", "lang"],
        "properties": QUERY["properties"] | {"lang": {"type": "string"}},
    }
    minor, _ = new_version(tool, versions, draft("1.1.0", narrower), NOW)
    with refused("breaking_change", "input_schema"):
        publish(tool, minor, [*versions, minor], NOW)
    major, _ = new_version(tool, versions, draft("2.0.0", narrower), NOW)
    tool, done, events = publish(tool, major, [*versions, major], NOW)
    assert tool.head == "2.0.0"
    assert events == [
        ToolVersionPublished(tool_id=tool.id, tool_version_id=major.id, spec=major.spec),
        ToolPublished(
            tool_id=tool.id, name="web", version="2.0.0", tool_version_id=major.id, spec=major.spec
        ),
    ]
    # a patch of the 1.x line is checked against 1.0.0, and the head stays 2.0.0
    wider = QUERY | {"properties": QUERY["properties"] | {"page": {"type": "integer"}}}
    patch, _ = new_version(tool, [*versions, done], draft("1.0.1", wider), NOW)
    tool, _, events = publish(tool, patch, [*versions, done, patch], NOW)
    assert tool.head == "2.0.0"
    assert isinstance(events[-1], ToolPublished)
    assert events[-1].version == "2.0.0"


def test_a_version_published_below_a_published_one_must_not_break_its_callers() -> None:
    # 1.2.0 is out with QUERY; 1.1.0, published late, takes an extra `page` that 1.2.0
    # refuses (a removed property): a caller of 1.1.0 moving to 1.2.0, a minor step, breaks
    tool, versions = versions_after(("1.0.0", QUERY), ("1.2.0", QUERY))
    wider = QUERY | {"properties": QUERY["properties"] | {"page": {"type": "integer"}}}
    late, _ = new_version(tool, versions, draft("1.1.0", wider), NOW)
    with refused("breaking_change", "input_schema"):
        publish(tool, late, [*versions, late], NOW)
    # the same schema as its neighbours breaks nobody; a 2.x neighbour may differ at will
    same, _ = new_version(tool, versions, draft("1.1.1", QUERY), NOW)
    publish(tool, same, [*versions, same], NOW)
    tool, majors = versions_after(("1.0.0", QUERY), ("2.0.0", {"type": "object"}))
    patch, _ = new_version(tool, majors, draft("1.0.1", wider), NOW)
    publish(tool, patch, [*majors, patch], NOW)


def test_zero_major_versions_may_break_on_a_minor_bump() -> None:
    tool, versions = versions_after(("0.1.0", QUERY))
    made, _ = new_version(tool, versions, draft("0.2.0", {"type": "object"}), NOW)
    publish(tool, made, [*versions, made], NOW)


def test_deprecating_moves_the_head_then_deprecates_the_tool() -> None:
    tool, versions = versions_after(("1.0.0", QUERY), ("1.1.0", QUERY))
    sunset = NOW + timedelta(days=30)
    tool, gone, events = deprecate(tool, versions[1], versions, Deprecation(NOW, sunset, "old"))
    assert (tool.head, gone.status) == ("1.0.0", CatalogStatus.DEPRECATED)
    assert isinstance(events[0], ToolVersionDeprecated)
    assert events[0].sunset_at == sunset
    assert isinstance(events[1], ToolPublished)
    assert events[1].version == "1.0.0"
    tool, _, events = deprecate(tool, versions[0], [versions[0], gone], Deprecation(NOW))
    assert tool.head is None
    assert isinstance(events[1], ToolDeprecated)
    assert events[1].spec == versions[0].spec
    with pytest.raises(Conflict):
        deprecate(tool, gone, versions, Deprecation(NOW))
    with refused("sunset_past", "sunset_at"):
        t, vs = versions_after(("1.0.0", QUERY))
        deprecate(t, vs[0], vs, Deprecation(NOW, NOW - timedelta(seconds=1)))


def test_a_deleted_tenants_tool_leaves_head_last_without_moving_the_head() -> None:
    tool, versions = versions_after(("1.0.0", QUERY), ("1.1.0", QUERY), ("1.2.0", QUERY))
    order = retirement_order(tool, versions)
    assert [v.version for v in order] == ["1.0.0", "1.1.0", "1.2.0"]
    shuffled = retirement_order(tool, [versions[2], versions[0], versions[1]])
    assert shuffled[-1].version == tool.head == "1.2.0"
    sent: list[str] = []
    for version in order:
        tool, done, events = deprecate(tool, version, versions, Deprecation(NOW, NOW))
        versions = [done if v.id == done.id else v for v in versions]
        sent += [type(e).__name__ for e in events]
    assert sent == ["ToolVersionDeprecated"] * 3 + ["ToolDeprecated"]
    assert tool.head is None
    assert (readable(TenantStatus.SUSPENDED), readable(TenantStatus.DELETED)) == (True, False)
