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
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from agentsuite_contracts.discovery import ExtractionKind, Relation
from agentsuite_contracts.llm import ChatMessage, Role
from agentsuite_discovery.domain.objectives import Objective, Question
from agentsuite_discovery.domain.sessions import CONTESTED, ObligationState, Proposed

MAX_ANSWER_BYTES = 64 * 1024
MAX_EXTRACTIONS = 100
MAX_DEPTH = 32  # of the whole answer: a value nested deeper is not a requirement
MAX_REPLY = 4_000
MAX_KEY = 200  # characters of an obligation key kept from the answer
RECENT_CHARS = 6_000
MAX_SUMMARY = 4_000
MAX_SHOWN = 400  # characters of one value shown in the prompt
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


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} too large")
    return value


def _unfenced(text: str) -> str:
    """The JSON inside one ```json fence, which some models add despite the format."""
    body = text.strip()
    if body.startswith("```") and body.endswith("```") and len(body) >= 6:
        body = body[3:-3]
        first, _, rest = body.partition("\n")
        return rest if first.strip().isalpha() or not first.strip() else body
    return body


def _storable(document: Any) -> None:
    """Refuse what PostgreSQL cannot keep (NUL, unpaired surrogates) or nests too deep."""
    stack = [(document, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise AnswerInvalid(f"nested deeper than {MAX_DEPTH}")
        texts: list[Any] = [item]
        if isinstance(item, dict):
            texts = list(item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        for text in texts:
            if isinstance(text, str):
                if "\x00" in text:
                    raise AnswerInvalid("text with a NUL character")
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    raise AnswerInvalid("text with an unpaired surrogate") from None


def answer_of(text: Any) -> Answer:
    """The model's answer read; AnswerInvalid(reason) for anything else, never another error."""
    if not isinstance(text, str):
        raise AnswerInvalid("no text")
    if (
        len(text) > MAX_ANSWER_BYTES
        or len(text.encode("utf-8", "surrogatepass")) > MAX_ANSWER_BYTES
    ):
        raise AnswerInvalid(f"larger than {MAX_ANSWER_BYTES // 1024} KiB")
    try:
        document = json.loads(_unfenced(text), parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise AnswerInvalid(f"not JSON: nested deeper than {MAX_DEPTH}") from None
    except ValueError as bad:  # JSONDecodeError, NaN, an int past Python's digit limit
        raise AnswerInvalid(f"not JSON: {str(bad)[:200]}") from None
    _storable(document)
    if not isinstance(document, dict):
        raise AnswerInvalid("not a JSON object")
    items = document.get("extractions")
    if not isinstance(items, list):
        raise AnswerInvalid("'extractions' is not a list")
    if len(items) > MAX_EXTRACTIONS:
        raise AnswerInvalid(f"more than {MAX_EXTRACTIONS} extractions")
    reply = document.get("reply")
    if reply is not None and not isinstance(reply, str):
        raise AnswerInvalid("'reply' is not a string")
    return Answer([_item(x) for x in items], reply[:MAX_REPLY] if reply else None)


def parse_answer(text: Any) -> list[Proposed]:
    return answer_of(text).extractions


def _item(raw: Any) -> Proposed:  # noqa: C901  one check per field of an extraction
    if not isinstance(raw, dict):
        return Proposed("", raw, problem="an extraction is an object")
    problems = []
    obligation = raw.get("obligation")
    if not isinstance(obligation, str) or not obligation:
        problems.append(
            "obligation is missing" if obligation is None else "obligation is not a key"
        )
        obligation = ""
    elif len(obligation) > MAX_KEY:
        problems.append("obligation is not a key")
        obligation = obligation[:MAX_KEY]
    if "value" not in raw:
        problems.append("value is missing")
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
        value=raw.get("value"),
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


def system_prompt(objective: Objective, state: Mapping[str, ObligationState]) -> str:
    lines = [INSTRUCTIONS, "", f"Objective: {objective.title}. {objective.description}".strip()]
    lines.append("Obligations:")
    for o in objective.obligations:
        s = _state(state, o.key)
        need = "required" if o.required else "optional"
        line = (
            f"- {o.key} ({o.title}; {need}, needs {o.confidence:.2f}): {_show(o.description, 300)}"
        )
        line += f"\n  status {s.status.value}, confidence {s.confidence:.2f}"
        if s.extraction_id is not None:
            line += f", value {_show(s.value)} (extraction {s.extraction_id})"
        if s.status is CONTESTED:
            line += f"; contradicted by {_show(s.contested_value)} (extraction {s.contested_by})"
        lines.append(line)
    return "\n".join(lines)


def summary(objective: Objective, state: Mapping[str, ObligationState]) -> str:
    """What is settled, bounded: the effect of turns that left the prompt."""
    lines = []
    for o in objective.obligations:
        s = _state(state, o.key)
        if s.extraction_id is None:
            continue
        line = f"- {o.title}: {_show(s.value, 300)} ({s.status.value}, {s.confidence:.2f})"
        if s.status is CONTESTED:
            line += f"; contradicted by {_show(s.contested_value, 200)}"
        lines.append(line)
    text = "\n".join(["Settled so far:", *lines]) if lines else "Nothing settled yet."
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


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
        system += f"\n\nThe user is answering: {_show(question.text, 2_000)}"
    out = [ChatMessage(role=Role.SYSTEM, content=system)]
    if summary:
        bounded = summary if len(summary) <= MAX_SUMMARY else summary[: MAX_SUMMARY - 1] + "…"
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
