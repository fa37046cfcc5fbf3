"""A hostile user against every body route and query parameter of catalog: NUL bytes, lone
surrogates, nesting 64 and 10,000 deep, 25,000-item lists, huge strings, other tenants'
ids and names, tsquery and regex syntax in searches, tampered cursors. Every answer is
below 500 (a 4xx is problem+json), and the app serves normally afterwards."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from httpx import Response

from tests.integration.catalog.harness import Service, auth
from tests.integration.catalog.test_agents import agent_body
from tests.integration.catalog.test_tasks import group, task
from tests.integration.catalog.test_templates import PHASES, template
from tests.integration.catalog.tools_support import published, tool_body, version_body

NUL = "a\u0000b"
HUGE = "x" * 400_000


def deep(depth: int, leaf: str = "1") -> str:
    """A placeholder `raw` replaces with an object `depth` deep (json.dumps cannot)."""
    return f"@@DEEP:{depth}:o:{leaf}@@"


def deep_list(depth: int) -> str:
    return f"@@DEEP:{depth}:l:[]@@"


def _expand(match: re.Match[str]) -> str:
    depth, kind, leaf = int(match[1]), match[2], match[3]
    if kind == "l":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + leaf + "}" * depth


def raw(body: Any, *, surrogate: str | None = None) -> bytes:
    """JSON text of `body`, escaped ASCII, deep placeholders expanded; `surrogate`
    replaces the marker "@@S@@" with a raw escape such as "\\ud800" (a lone surrogate:
    valid JSON text, no valid Unicode)."""
    text = json.dumps(body)
    text = re.sub(r'"@@DEEP:(\d+):(\w):(.*?)@@"', _expand, text)
    if surrogate is not None:
        text = text.replace('"@@S@@"', surrogate)
    return text.encode()


def variants(valid: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    """Hostile bodies around a valid one: each string field, in turn, holding NUL, a lone
    surrogate or 400 KB; each list field 25,000 long; each object field 64 and 10,000
    deep; and whole-body shapes."""
    for name, value in valid.items():
        if isinstance(value, str) or value is None:
            yield f"{name}=NUL", raw(valid | {name: NUL})
            yield f"{name}=surrogate", raw(valid | {name: "@@S@@"}, surrogate='"\\ud800"')
            yield f"{name}=low-surrogate", raw(valid | {name: "@@S@@"}, surrogate='"a\\udfffb"')
            yield f"{name}=huge", raw(valid | {name: HUGE})
        if isinstance(value, list):
            item = value[0] if value else "t"
            yield f"{name}=25000", raw(valid | {name: [item] * 25_000})
            yield f"{name}=25000-distinct", raw(valid | {name: [f"k{i}" for i in range(25_000)]})
            yield f"{name}=[NUL]", raw(valid | {name: [NUL]})
            yield f"{name}=deep-list", raw(valid | {name: deep_list(10_000)})
        if isinstance(value, dict):
            for depth in (64, 10_000):
                yield f"{name}=deep{depth}", raw(valid | {name: deep(depth)})
                yield (
                    f"{name}=deep-properties{depth}",
                    raw(valid | {name: {"type": "object", "properties": deep(depth, "{}")}}),
                )
            yield f"{name}=NUL-key", raw(valid | {name: {NUL: {"type": "string"}}})
            yield f"{name}=surrogate-key", raw(valid | {name: {"@@S@@": 1}}, surrogate='"\\ud800"')
    yield "body=deep", raw(deep_list(10_000))
    yield "body=array", raw([valid])
    yield "body=null", b"null"
    yield "body=truncated", raw(valid)[:-3]
    yield "body=bytes", b"\xff\xfe\x00garbage"
    yield "body=NUL-key", raw(valid | {NUL: 1})


class Hostile:
    def __init__(self, service: Service, tenant: UUID) -> None:
        self.service = service
        self.tenant = tenant
        self.failures: list[str] = []
        self.sent = 0

    def check(self, label: str, r: Response) -> None:
        self.sent += 1
        if r.status_code >= 500:
            self.failures.append(f"{label}: {r.status_code} {r.text[:200]}")
        elif r.status_code >= 400 and not r.headers.get("content-type", "").startswith(
            "application/problem+json"
        ):
            self.failures.append(f"{label}: {r.status_code} not problem+json: {r.text[:200]}")

    async def send(self, method: str, url: str, content: bytes, label: str, **h: str) -> None:
        headers = auth(self.tenant) | {"content-type": "application/json"} | h
        r = await self.service.client.request(method, url, content=content, headers=headers)
        self.check(f"{method} {url} {label}", r)

    async def bodies(self, method: str, url: str, valid: dict[str, Any], **h: str) -> None:
        for label, content in variants(valid):
            await self.send(method, url, content, label, **h)

    async def get(self, url: str, params: Any, label: str) -> Response:
        r = await self.service.client.get(url, params=params, headers=auth(self.tenant))
        self.check(f"GET {url} {label}", r)
        return r


@dataclass
class World:
    """Two tenants' catalogs: the caller's (`tenant`) and another one's."""

    tenant: UUID
    other: UUID
    tool: dict[str, Any]
    theirs: dict[str, Any]
    their_group: dict[str, Any]
    my_task: dict[str, Any]
    agent: dict[str, Any]
    my_template: dict[str, Any]


async def world(service: Service) -> World:
    tenant, other = uuid4(), uuid4()
    tool = await published(service, tenant, "mine")
    theirs = await published(service, other, "theirs")
    their_group = await group(service, other, "their.group")
    await group(service, tenant, "g1")
    my_task = await task(service, tenant, "t1", "g1")
    agent = (
        await service.client.post(
            "/v1/agents",
            json=agent_body("helper", [{"name": "mine", "version": "1.0.0"}]),
            headers=auth(tenant),
        )
    ).json()
    my_template = await template(service, tenant, "tpl")
    return World(tenant, other, tool, theirs, their_group, my_task, agent, my_template)


async def clean(service: Service, h: Hostile) -> None:
    """No answer was a server error or a bare 4xx, and the app still serves."""
    assert not h.failures, f"{len(h.failures)} of {h.sent}:\n" + "\n".join(h.failures[:60])
    assert (await service.client.get("/readyz")).status_code == 200
    after = await service.client.post(
        "/v1/tools", json=tool_body(f"after.{uuid4().hex[:8]}"), headers=auth(h.tenant)
    )
    assert after.status_code == 201, after.text


async def test_tool_routes_get_no_server_error(service: Service) -> None:
    w = await world(service)
    h = Hostile(service, w.tenant)

    tools = tool_body("hostile")
    await h.bodies("POST", "/v1/tools", tools)
    await h.bodies("POST", "/v1/tools", tools | {"binding": {"kind": "mcp", "url": "x"}})
    await h.bodies("POST", f"/v1/tools/{w.tool['tool_id']}/versions", version_body("2.0.0"))
    validate = f"/v1/tools/{w.tool['tool_id']}/versions/1.0.0/validate"
    await h.bodies("POST", validate, {"input": {"q": "x"}})
    for depth in (64, 10_000):
        await h.send("POST", validate, raw({"input": deep(depth)}), f"deep{depth}")
        await h.send("POST", validate, raw({"input": {"q": deep_list(depth)}}), f"list{depth}")
    await h.send("POST", validate, raw({"input": {"q": "@@S@@"}}, surrogate='"\\ud800"'), "sur")
    deprecate = f"/v1/tools/{w.tool['tool_id']}/versions/1.0.0/deprecate"
    await h.bodies("POST", deprecate, {"reason": "r", "replacement": "x", "sunset_at": None})
    await clean(service, h)


async def test_agent_routes_get_no_server_error(service: Service) -> None:
    w = await world(service)
    h = Hostile(service, w.tenant)

    agents = agent_body("hostile.agent", [{"name": "mine"}])
    await h.bodies("POST", "/v1/agents", agents)
    await h.bodies("POST", f"/v1/agents/{w.agent['agent_id']}/revisions", agents)
    await h.bodies("POST", "/v1/agents", agents | {"limits": {"max_steps": 5, "max_tokens": 1000}})
    # another tenant's w.tool, by name and by its version; the w.agent itself as a w.tool
    for pins in (
        [{"name": "theirs", "version": w.theirs["version"]}],
        [{"name": "theirs"}],
        [{"name": "helper"}],
        [{"name": "mine", "version": "9.9.9"}],
        [{"name": "mine", "version": NUL}],
        [{"name": "mine", "version": "1.0.0"}] * 25_000,
    ):
        body = raw(agent_body("pinning", pins))
        await h.send("POST", "/v1/agents", body, f"pins={str(pins)[:40]}")
    await h.bodies("POST", f"/v1/agents/{w.agent['agent_id']}/deprecate", {"reason": "r"})
    await clean(service, h)


async def test_task_routes_get_no_server_error(service: Service) -> None:
    w = await world(service)
    h = Hostile(service, w.tenant)

    groups = {"key": "hostile.g", "name": "n", "description": "d", "parents": ["g1"]}
    await h.bodies("POST", "/v1/task-groups", groups)
    gid = (await service.client.get("/v1/task-groups", headers=auth(w.tenant))).json()["items"][0]
    await h.bodies("PUT", f"/v1/task-groups/{gid['id']}", groups, **{"If-Match": '"1"'})
    tasks = {
        "key": "hostile.t",
        "name": "n",
        "description": "d",
        "groups": ["g1"],
        "tools": ["mine"],
        "input_schema": {"type": "object"},
        "output_schema": {"type": "object"},
    }
    await h.bodies("POST", "/v1/tasks", tasks)
    edit = {k: v for k, v in tasks.items() if k != "key"} | {"note": "n"}
    await h.bodies("PUT", f"/v1/tasks/{w.my_task['id']}", edit, **{"If-Match": '"1"'})
    # a task in another tenant's group (by key and by id), a group under w.theirs
    for label, body in (
        ("their-group-key", tasks | {"key": "x1", "groups": ["their.group"]}),
        ("their-group-id", tasks | {"key": "x2", "groups": [w.their_group["id"]]}),
    ):
        await h.send("POST", "/v1/tasks", raw(body), label)
    await h.send("POST", "/v1/task-groups", raw(groups | {"parents": ["their.group"]}), "theirs")
    await h.get("/v1/tasks", {"group": w.their_group["id"]}, "their group")
    await h.get("/v1/tasks", {"group": "not-a-uuid"}, "garbage group")
    await clean(service, h)


async def test_template_and_import_routes_get_no_server_error(service: Service) -> None:
    w = await world(service)
    h = Hostile(service, w.tenant)

    phase: dict[str, Any] = PHASES[0]
    step: dict[str, Any] = phase["steps"][0]
    templates = {
        "key": "hostile.tpl",
        "name": "n",
        "description": "d",
        "category": "c",
        "kind": "k",
        "tags": ["t"],
        "parameters_schema": {"type": "object"},
        "phases": PHASES,
    }
    await h.bodies("POST", "/v1/templates", templates)
    await h.bodies(
        "PUT",
        f"/v1/templates/{w.my_template['id']}",
        {k: v for k, v in templates.items() if k != "key"},
        **{"If-Match": '"1"'},
    )
    for depth in (64, 10_000):
        deep_step = step | {"tool": {"tool": "mine", "input": deep(depth)}}
        phases = [phase | {"steps": [deep_step]}]
        await h.send("POST", "/v1/templates", raw(templates | {"phases": phases}), f"in{depth}")
    many = [step | {"key": f"s{i}"} for i in range(25_000)]
    await h.send(
        "POST",
        "/v1/templates",
        raw(templates | {"phases": [phase | {"steps": many}]}),
        "25000 steps",
    )
    phases_25k = [phase | {"key": f"p{i}"} for i in range(25_000)]
    await h.send("POST", "/v1/templates", raw(templates | {"phases": phases_25k}), "25000 phases")
    await h.send("POST", "/v1/templates", raw(templates | {"phases": [step]}), "a step as a phase")

    await h.bodies("POST", "/v1/tools/import/mcp", {"url": "http://127.0.0.1/", "prefix": "p"})
    await clean(service, h)


async def test_search_queries_get_no_server_error(service: Service) -> None:
    w = await world(service)
    h = Hostile(service, w.tenant)

    # search: query syntax of tsquery, LIKE, regex; odd bytes; every parameter
    for q in (
        "a & b | !c",
        "'",
        "''",
        "a:*",
        "a <-> b",
        "!!!",
        "&|!()<>:*",
        '"unterminated',
        "-",
        "or",
        ".*[(",
        "(a+)+$",
        "%",
        "%%_",
        "\\",
        "\\\\x00",
        NUL,
        "\u200b",
        "🦄" * 50,
        "x" * 200,
        "x" * 201,
        "x" * 10_000,
        " " * 150,
    ):
        await h.get("/v1/search", {"q": q}, f"q={q[:20]!r}")
    for params in (
        {"kind": "nope"},
        {"kind": ["tool"] * 1000},
        {"status": "nope"},
        {"tag": [f"t{i}" for i in range(100)]},
        {"tag": NUL},
        {"category": NUL},
        {"category": "x" * 10_000},
        {"limit": -1},
        {"limit": 0},
        {"limit": 10**30},
        {"limit": "abc"},
        {"limit": "1e3"},
    ):
        await h.get("/v1/search", params, f"{str(params)[:40]}")
    surrogate_q = await service.client.get("/v1/search?q=%ED%A0%80", headers=auth(w.tenant))
    h.check("GET /v1/search q=utf8-surrogate", surrogate_q)
    bad_utf8 = await service.client.get("/v1/search?q=%FF%FE", headers=auth(w.tenant))
    h.check("GET /v1/search q=bad-utf8", bad_utf8)
    await clean(service, h)


async def test_tampered_cursors_get_no_server_error(service: Service) -> None:
    w = await world(service)
    h = Hostile(service, w.tenant)

    # cursors: garbage, forged, another list's, another query's, another tenant's
    for _ in range(3):
        await published(service, w.tenant, f"more{uuid4().hex[:6]}")
    page = (await h.get("/v1/search", {"limit": 1}, "page")).json()
    search_cursor = page["next_cursor"]
    assert search_cursor
    list_cursor = (await h.get("/v1/tools", {"limit": 1}, "tools page")).json()["next_cursor"]
    groups = (await h.get("/v1/task-groups", {}, "groups")).json()["items"]
    my_group = next(g for g in groups if g["key"] == "g1")
    their_cursor = (
        await service.client.get(
            "/v1/search", params={"limit": 1, "kind": "tool"}, headers=auth(w.other)
        )
    ).json()["next_cursor"]
    forged = [
        "garbage",
        "",
        "=" * 50,
        base64.urlsafe_b64encode(b'["x", 1, 2]').decode(),
        base64.urlsafe_b64encode(b'[1e999, "id"]').decode(),
        base64.urlsafe_b64encode(raw(deep_list(5000))).decode(),
        base64.urlsafe_b64encode(b"\x00" * 100).decode(),
        base64.urlsafe_b64encode(
            b'["a\\u0000b", {"uuid": "%s"}]' % w.tool["tool_id"].encode()
        ).decode(),
        base64.urlsafe_b64encode(
            b'["\\ud800", {"uuid": "%s"}]' % w.tool["tool_id"].encode()
        ).decode(),
        base64.urlsafe_b64encode(b'["a\\u0000b"]').decode(),
        base64.urlsafe_b64encode(b"[true]").decode(),
        # an int key past the int4 revision column (a DataError at the driver)
        base64.urlsafe_b64encode(b"[2147483648]").decode(),
        base64.urlsafe_b64encode(b'[{"dt": "2020-01-01T00:00:00"}]').decode(),
        base64.urlsafe_b64encode(b'[1e300, {"uuid": "%s"}]' % w.tool["tool_id"].encode()).decode(),
        search_cursor[:-2],
        search_cursor + "AA",
        "x" * 20_000,
    ]
    for cursor in [*forged, list_cursor, their_cursor]:
        for url, params in (
            ("/v1/search", {"cursor": cursor}),
            ("/v1/search", {"cursor": cursor, "q": "mine"}),
            ("/v1/tools", {"cursor": cursor}),
            (f"/v1/tools/{w.tool['tool_id']}/versions", {"cursor": cursor}),
            ("/v1/agents", {"cursor": cursor}),
            ("/v1/task-groups", {"cursor": cursor}),
            ("/v1/tasks", {"cursor": cursor}),
            (f"/v1/tasks/{w.my_task['id']}/history", {"cursor": cursor}),
            (f"/v1/task-groups/{my_group['id']}/history", {"cursor": cursor}),
            ("/v1/templates", {"cursor": cursor}),
        ):
            await h.get(url, params, f"cursor={str(cursor)[:16]}")
    # search's own cursor on another query pages that query (or refuses it), never a 500
    await h.get("/v1/search", {"cursor": search_cursor, "q": "theirs", "kind": "agent"}, "other")
    await clean(service, h)


async def test_path_parameters_get_no_server_error(service: Service) -> None:
    w = await world(service)
    h = Hostile(service, w.tenant)

    # path parameters: another tenant's ids, odd versions
    for url in (
        f"/v1/tools/{w.theirs['tool_id']}",
        f"/v1/tools/{w.theirs['tool_id']}/versions/1.0.0",
        f"/v1/tools/{w.tool['tool_id']}/versions/a%00b",
        f"/v1/tools/{w.tool['tool_id']}/versions/1.0.0%00",
        f"/v1/tools/{w.tool['tool_id']}/versions/01.0.0",
        f"/v1/tools/{w.tool['tool_id']}/versions/{'9' * 60}.0.0",
        f"/v1/tools/{w.tool['tool_id']}/versions/1.0.0/export?format=%00",
        f"/v1/task-groups/{w.their_group['id']}",
        f"/v1/agents/{w.agent['agent_id']}/revisions/{10**30}",
        f"/v1/agents/{w.agent['agent_id']}/revisions/-1",
        f"/v1/templates/{w.my_template['id']}/revisions/{10**30}",
    ):
        await h.get(url, None, "path")
    await clean(service, h)
