"""What discovery sends the model, and how it reads the answer.

The prompt is bounded whatever the session's length: the obligations (each shown bounded),
a rolling summary of what is settled (older turns leave the prompt, their effect stays in
it), the most recent turns up to a character budget, and the user's turn last (the
gateway's `local` script model matches on the last user message).

Reading the answer is total: any text gives extractions or `AnswerInvalid(reason)`. A
malformed item inside a well-formed answer becomes a `Proposed` carrying its `problem`, so
apply() records it as rejected instead of losing it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from agentsuite_contracts.discovery import ExtractionKind, Relation
from agentsuite_contracts.llm import ChatMessage, Role
from agentsuite_discovery.domain.objectives import Objective, Question
from agentsuite_discovery.domain.sessions import CONTESTED, ObligationState, Proposed
from agentsuite_kit.answers import AnswerError, answer_object
from agentsuite_kit.storable import escape_text, text_flaw, unstorable

MAX_ANSWER_BYTES = 64 * 1024
MAX_EXTRACTIONS = 100
MAX_DEPTH = 32  # of a value: one nested deeper is not a requirement
MAX_REPLY = 4_000
MAX_KEY = 200  # characters of an obligation key kept from the answer
RECENT_CHARS = 6_000
MAX_SUMMARY = 4_000
MAX_SHOWN = 400  # characters of one value shown in the prompt
MAX_SYSTEM = 60_000  # characters of the system prompt, whatever the objective
MAX_QUESTION = 2_000  # characters of the question being answered, shown in it
MAX_TURN = 32_000
KINDS = [k.value for k in ExtractionKind]
RELATIONS = [r.value for r in Relation]

RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "extractions": {
            "type": "array",
            "maxItems": MAX_EXTRACTIONS,
            "items": {
                "type": "object",
                "properties": {
                    "obligation": {"type": "string", "description": "Key of the obligation."},
                    "value": {"description": "What the user's words establish (any JSON)."},
                    "kind": {"enum": KINDS},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "relation": {"enum": RELATIONS},
                    "supersedes": {"type": ["string", "null"], "format": "uuid"},
                },
                "required": ["obligation", "value", "kind", "confidence"],
            },
        },
        "reply": {"type": "string", "maxLength": MAX_REPLY},
    },
    "required": ["extractions"],
}


class AnswerInvalid(ValueError):
    """The model's answer is not the shape RESPONSE_SCHEMA asks for; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Answer:
    extractions: list[Proposed]
    reply: str | None = None


def answer_of(text: Any) -> Answer:
    """The model's answer read; AnswerInvalid(reason) for anything else, never another error."""
    try:
        document = answer_object(text, max_bytes=MAX_ANSWER_BYTES)
    except AnswerError as bad:
        raise AnswerInvalid(str(bad)) from None
    items = document.get("extractions")
    if not isinstance(items, list):
        raise AnswerInvalid("'extractions' is not a list")
    if len(items) > MAX_EXTRACTIONS:
        raise AnswerInvalid(f"more than {MAX_EXTRACTIONS} extractions")
    reply = document.get("reply")
    if reply is not None and not isinstance(reply, str):
        raise AnswerInvalid("'reply' is not a string")
    return Answer([_item(x) for x in items], escape_text(reply[:MAX_REPLY]) if reply else None)


def parse_answer(text: Any) -> list[Proposed]:
    return answer_of(text).extractions


def _value(value: Any) -> tuple[Any, str | None]:
    """`value` if PostgreSQL can keep it, else null and why: the extraction is still recorded
    (rejected with the reason), only the value that cannot be stored is left out."""
    flaw = unstorable(value, max_depth=MAX_DEPTH)
    if flaw is None:
        return value, None
    deep = flaw.reason.startswith("is nested")  # its path is a long run of [0]s: not said
    at = f" at {flaw.path[:100]}" if flaw.path and not deep else ""
    return None, f"value{at} {flaw.reason}"


def _item(raw: Any) -> Proposed:  # noqa: C901  one check per field of an extraction
    if not isinstance(raw, dict):
        return Proposed("", _value(raw)[0], problem="an extraction is an object")
    problems = []
    obligation = raw.get("obligation")
    if not isinstance(obligation, str) or not obligation:
        problems.append(
            "obligation is missing" if obligation is None else "obligation is not a key"
        )
        obligation = ""
    elif len(obligation) > MAX_KEY or text_flaw(obligation) is not None:
        problems.append("obligation is not a key")
        obligation = escape_text(obligation[:MAX_KEY])
    value, flaw = _value(raw.get("value"))
    if "value" not in raw:
        problems.append("value is missing")
    elif flaw is not None:
        problems.append(flaw)
    kind = raw.get("kind")
    if kind not in KINDS:
        problems.append(f"kind is one of {', '.join(KINDS)}")
        kind = ExtractionKind.INFERENCE
    raw_confidence: Any = raw.get("confidence")
    confidence = 0.0
    number = isinstance(raw_confidence, int | float) and not isinstance(raw_confidence, bool)
    if number and 0 <= raw_confidence <= 1:  # compared before float(): 10**400 overflows it
        confidence = float(raw_confidence)
    else:
        problems.append("confidence is a number 0..1")
    relation = raw.get("relation")
    if relation is not None and relation not in RELATIONS:
        problems.append(f"relation is one of {', '.join(RELATIONS)}")
        relation = None
    supersedes = raw.get("supersedes")
    if supersedes is not None:
        try:
            supersedes = (
                UUID(supersedes) if isinstance(supersedes, str) and len(supersedes) <= 64 else None
            )
        except ValueError:
            supersedes = None
        if supersedes is None:
            problems.append("supersedes is an extraction id")
    return Proposed(
        obligation=obligation,
        value=value,
        kind=ExtractionKind(kind),
        confidence=confidence,
        relation=Relation(relation) if relation is not None else None,
        supersedes=supersedes,
        problem="; ".join(problems) or None,
    )


def _show(value: Any, limit: int = MAX_SHOWN) -> str:
    try:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _state(state: Mapping[str, ObligationState], key: str) -> ObligationState:
    return state.get(key) or ObligationState(key)


INSTRUCTIONS = """You help a user work out what an agent workflow must do before it is \
planned. Read the user's last message and extract values for the obligations below.
Answer with one JSON object only: {"extractions": [{"obligation": key, "value": any JSON, \
"kind": "fact"|"decision"|"inference", "confidence": 0..1, "relation": \
"new"|"confirms"|"revises"|"contradicts", "supersedes": extraction id}], "reply": text}.
- Only use the obligation keys listed. Extract only what the user's words establish; an \
inference gets a low confidence.
- When the user corrects a value, use relation "revises" with the new value. When the user \
settles a contested obligation, give the value they chose with relation "revises".
- "reply" is one short sentence to the user; the next question is added for you."""


def _contested(s: ObligationState, limit: int) -> str:
    # a state loaded without the contesting value still says that there is one
    other = "another value" if s.contested_value is None else _show(s.contested_value, limit)
    return f"; contradicted by {other} (extraction {s.contested_by})"


def system_prompt(objective: Objective, state: Mapping[str, ObligationState]) -> str:
    """The instructions and every obligation with its current value: bounded by MAX_SYSTEM
    however many obligations and however long their values (each shown shorter when there
    are many)."""
    n = len(objective.obligations)
    shown, described = max(80, min(MAX_SHOWN, 24_000 // n)), max(80, min(300, 12_000 // n))
    lines = [INSTRUCTIONS, "", _show(f"Objective: {objective.title}. {objective.description}")]
    lines.append("Obligations:")
    for o in objective.obligations:
        s = _state(state, o.key)
        need = "required" if o.required else "optional"
        line = f"- {o.key} ({_show(o.title, 80)}; {need}, needs {o.confidence:.2f}): "
        line += _show(o.description, described)
        line += f"\n  status {s.status.value}, confidence {s.confidence:.2f}"
        if s.extraction_id is not None:
            line += f", value {_show(s.value, shown)} (extraction {s.extraction_id})"
        if s.status is CONTESTED:
            line += _contested(s, shown)
        lines.append(line)
    return _show("\n".join(lines), MAX_SYSTEM - MAX_QUESTION - 100)


def summary(objective: Objective, state: Mapping[str, ObligationState]) -> str:
    """What is settled, bounded: the effect of turns that left the prompt."""
    lines = []
    for o in objective.obligations:
        s = _state(state, o.key)
        if s.extraction_id is None:
            continue
        line = f"- {_show(o.title, 80)}: {_show(s.value, 300)} ({s.status.value}, "
        line += f"{s.confidence:.2f})"
        if s.status is CONTESTED:
            line += _contested(s, 200)
        lines.append(line)
    text = "\n".join(["Settled so far:", *lines]) if lines else "Nothing settled yet."
    return _show(text, MAX_SUMMARY)


def _role(role: Any) -> Role:
    return Role.USER if str(getattr(role, "value", role)) == "user" else Role.ASSISTANT


def messages(
    objective: Objective,
    state: Mapping[str, ObligationState],
    summary: str,
    recent: Sequence[tuple[Any, str]],
    turn: str,
    question: Question | None,
    *,
    recent_chars: int = RECENT_CHARS,
) -> list[ChatMessage]:
    """The model's messages for `turn`: `recent` are the turns before it (oldest first,
    roles `user` and `agent`), kept newest first while they fit in `recent_chars`."""
    system = system_prompt(objective, state)
    if question is not None:
        system += f"\n\nThe user is answering: {_show(question.text, MAX_QUESTION)}"
    out = [ChatMessage(role=Role.SYSTEM, content=system)]
    if summary:
        bounded = _show(summary, MAX_SUMMARY)
        out.append(ChatMessage(role=Role.SYSTEM, content=f"Conversation summary:\n{bounded}"))
    kept: list[ChatMessage] = []
    left = recent_chars
    for role, text in reversed(recent):
        if len(text) > left:
            break
        left -= len(text)
        kept.append(ChatMessage(role=_role(role), content=text))
    out.extend(reversed(kept))
    out.append(ChatMessage(role=Role.USER, content=turn[:MAX_TURN]))
    return out
