"""`agentsuite-contracts`: export JSON Schema + AsyncAPI, snapshot schemas, check compatibility."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from agentsuite_contracts.compat import Report, compare_all
from agentsuite_contracts.deadletter import DeadLetter
from agentsuite_contracts.envelope import Envelope, Payload, kind_of
from agentsuite_contracts.registry import PAYLOADS, TOPICS, type_of

_PROJECT = Path(__file__).resolve().parents[2]  # contracts/, in a source checkout
SCHEMAS_DIR = _PROJECT / "schemas"
SNAPSHOTS_DIR = _PROJECT / "snapshots"

_KAFKA_BINDING = "0.5.0"
_REF = "#/components/schemas/{model}"
_PAYLOAD_DESCRIPTION = "The typed payload; its `type` names the message."


def dumps(doc: Any) -> str:
    """Canonical JSON: sorted keys, two-space indent, trailing newline (diff-friendly)."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def payload_schema(cls: type[Payload]) -> dict[str, Any]:
    """JSON Schema of one payload class (standalone, with `$defs`)."""
    return cls.model_json_schema()


def payload_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every payload, by message type."""
    return {type_of(c): payload_schema(c) for c in PAYLOADS}


def _generic_payload() -> dict[str, Any]:
    return {
        "description": _PAYLOAD_DESCRIPTION,
        "properties": {"type": {"description": "Message type.", "type": "string"}},
        "required": ["type"],
        "type": "object",
    }


def envelope_schema(ref_template: str = "#/$defs/{model}") -> dict[str, Any]:
    """JSON Schema of the envelope, its payload left open (any object with a `type`)."""
    schema = Envelope[Payload].model_json_schema(ref_template=ref_template)
    schema["title"] = "Envelope"
    schema["properties"]["payload"] = _generic_payload()
    schema.get("$defs", {}).pop("Payload", None)
    return schema


def asyncapi() -> dict[str, Any]:
    """An AsyncAPI 3.0 document of every topic and its messages."""
    models: list[type[BaseModel]] = [*PAYLOADS, DeadLetter]
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template=_REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    env = envelope_schema(_REF)
    schemas.update(env.pop("$defs", {}))
    schemas["Envelope"] = env

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {
        "DeadLetter": {
            "name": "DeadLetter",
            "title": "Dead letter",
            "summary": (DeadLetter.__doc__ or "").strip(),
            "description": "The original record unchanged (key, value, headers) plus the "
            "`dlq-*` headers; the value may not be valid JSON.",
            "headers": {
                "type": "object",
                "description": "`dlq-<field>` headers, fields as in DeadLetter (dashes for "
                "underscores).",
                "x-fields": {"$ref": _REF.format(model="DeadLetter")},
            },
            "payload": {"description": "The original value, byte for byte."},
        }
    }
    for t in TOPICS:
        refs: dict[str, Any] = {}
        for cls in t.payloads:
            mtype = type_of(cls)
            refs[mtype] = {"$ref": f"#/components/messages/{mtype}"}
            messages[mtype] = {
                "name": mtype,
                "title": cls.__name__,
                "x-kind": kind_of(cls),
                "summary": (cls.__doc__ or "").strip().splitlines()[0],
                "contentType": "application/json",
                "payload": {
                    "allOf": [
                        {"$ref": _REF.format(model="Envelope")},
                        {
                            "properties": {
                                "payload": {"$ref": _REF.format(model=cls.__name__)},
                                "type": {"const": mtype},
                            },
                            "type": "object",
                        },
                    ]
                },
                "bindings": {
                    "kafka": {
                        "bindingVersion": _KAFKA_BINDING,
                        "key": {"description": t.key, "type": "string"},
                    }
                },
            }
        channels[t.name] = {
            "address": t.name,
            "title": t.name,
            "description": t.description,
            "messages": refs,
            "bindings": {
                "kafka": {
                    "bindingVersion": _KAFKA_BINDING,
                    "partitions": t.partitions,
                    "topic": t.name,
                }
            },
            "x-key": t.key,
            "x-owner": t.owner,
            "x-consumers": list(t.consumers),
            "x-kind": t.kind,
        }
        if t.replies:
            # the home's types travel on these too, one reader each (Registry: reply topics)
            channels[t.name]["x-replies"] = list(t.replies)
        msg_refs = [{"$ref": f"#/channels/{t.name}/messages/{m}"} for m in refs]
        operations[f"{t.owner}.send.{t.name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{t.name}"},
            "messages": msg_refs,
            "summary": f"{t.owner} publishes to {t.name}.",
        }
        for consumer in t.consumers:
            operations[f"{consumer}.receive.{t.name}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{t.name}"},
                "messages": msg_refs,
                "summary": f"{consumer} consumes {t.name}.",
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Agentsuite",
            "version": version("agentsuite-contracts"),
            "description": (
                "Every Kafka topic of Agentsuite. Each message is an Envelope whose `payload` "
                "is discriminated on `type`; the key is the aggregate id named by `x-key`. "
                "`x-kind` says whether a topic carries events or commands. Each consumer "
                "group `<service>.<consumer>` has its own retry tiers `<group>.retry.<n>` "
                "and dead-letter topic `<group>.dlq` (message `DeadLetter`), never shared."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> dict[str, str]:
    """Every exported file, by path relative to the output directory."""
    files = {f"payloads/{t}.json": dumps(s) for t, s in payload_schemas().items()}
    files["envelope.json"] = dumps(envelope_schema())
    files["dead-letter.json"] = dumps(DeadLetter.model_json_schema())
    files["asyncapi.json"] = dumps(asyncapi())
    return files


def _write_tree(out: Path, files: dict[str, str], managed: str) -> None:
    """Write `files` under `out`, deleting stale `*.json` files of the `managed` subfolder."""
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    folder = out / managed
    if folder.is_dir():
        for stale in folder.glob("*.json"):
            if f"{managed}/{stale.name}" not in files:
                stale.unlink()


def export(out: Path) -> None:
    """Write JSON Schemas and the AsyncAPI document under `out`."""
    _write_tree(out, render(), "payloads")


def read_snapshots(folder: Path) -> dict[str, Any]:
    """The committed snapshot schemas, by message type."""
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))
    }


def check(folder: Path) -> Report:
    """Compare every current payload schema with its snapshot in `folder`."""
    return compare_all(read_snapshots(folder), payload_schemas())


def snapshot(folder: Path, *, allow_breaking: bool = False) -> Report:
    """Refresh the snapshots; refuses (and writes nothing) on a breaking change unless allowed."""
    report = check(folder)
    if report.breaking and not allow_breaking:
        return report
    folder.mkdir(parents=True, exist_ok=True)
    files = {f"{t}.json": dumps(s) for t, s in payload_schemas().items()}
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    for stale in folder.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `agentsuite-contracts` console script."""
    parser = argparse.ArgumentParser(prog="agentsuite-contracts", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_export = sub.add_parser("export", help="write JSON Schemas and asyncapi.json")
    p_export.add_argument("--out", type=Path, default=SCHEMAS_DIR, help="output directory")
    p_snap = sub.add_parser("snapshot", help="refresh the committed schema snapshots")
    p_snap.add_argument("--dir", type=Path, default=SNAPSHOTS_DIR, help="snapshot directory")
    p_snap.add_argument(
        "--allow-breaking", action="store_true", help="overwrite even on breaking changes"
    )
    p_check = sub.add_parser("check", help="exit 1 if a schema breaks its snapshot")
    p_check.add_argument("--dir", type=Path, default=SNAPSHOTS_DIR, help="snapshot directory")
    args = parser.parse_args(argv)

    if args.command == "export":
        export(args.out)
        print(f"exported {len(PAYLOADS)} payload schemas and asyncapi.json to {args.out}")
        return 0
    if args.command == "snapshot":
        report = snapshot(args.dir, allow_breaking=args.allow_breaking)
        if report.breaking and not args.allow_breaking:
            print("\n".join(report.lines()), file=sys.stderr)
            print("breaking changes: snapshots not written (--allow-breaking)", file=sys.stderr)
            return 1
        print(f"snapshotted {len(PAYLOADS)} payload schemas to {args.dir}")
        return 0
    report = check(args.dir)
    for line in report.lines():
        print(line, file=sys.stderr)
    if not report.ok:
        return 1
    print(f"{len(PAYLOADS)} payload schemas compatible ({len(report.changed)} changed additively)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
