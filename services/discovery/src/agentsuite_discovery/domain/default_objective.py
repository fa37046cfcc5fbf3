"""The built-in `default` objective's definition: what must be known before planning an
agent workflow. Plain data, read by `objectives.objective_of` like a tenant's.

Required confidences: the goal and the outputs drive the whole plan (0.8); inputs and
success criteria must be known but may be refined while planning (0.7); constraints and
approvals may honestly be "none", so a plain statement is enough (0.6). Tools are optional:
planning can pick them from the catalog itself.
"""

from __future__ import annotations

from typing import Any

_TEXT = {"type": "string", "minLength": 1, "maxLength": 2000}
# a sentence, or a list of them: what a model extracts from a conversation
TEXTS: dict[str, Any] = {
    "anyOf": [_TEXT, {"type": "array", "items": _TEXT, "minItems": 1, "maxItems": 50}]
}

BODY: dict[str, Any] = {
    "title": "Plan an agent workflow",
    "description": "What a workflow must do, from what, with what, and how we know it worked.",
    "obligations": [
        {
            "key": "goal",
            "title": "Goal",
            "description": "What the workflow must achieve, for whom, and why it matters.",
            "kind": "goal",
            "confidence": 0.8,
            "validator": {"type": "string", "minLength": 3, "maxLength": 2000},
            "questions": [
                {"key": "goal_intro", "text": "What should this workflow achieve, and for whom?"}
            ],
        },
        {
            "key": "inputs",
            "title": "Inputs",
            "description": "What the workflow starts from (data, documents, events, a "
            "schedule) and where each comes from.",
            "kind": "input",
            "confidence": 0.7,
            "validator": TEXTS,
            "depends_on": ["goal"],
            "questions": [
                {
                    "key": "inputs_sources",
                    "text": "What does the workflow start from, and where does that "
                    "information or trigger come from?",
                }
            ],
        },
        {
            "key": "outputs",
            "title": "Outputs",
            "description": "What the workflow produces, in what form, and who or what receives it.",
            "kind": "output",
            "confidence": 0.8,
            "validator": TEXTS,
            "depends_on": ["goal"],
            "questions": [
                {
                    "key": "outputs_result",
                    "text": "What should the workflow produce, and where should the result go?",
                }
            ],
        },
        {
            "key": "constraints",
            "title": "Constraints",
            "description": "Limits the workflow must respect: deadlines, budget, data that "
            "must not leave, systems it must not touch. 'None' is an answer.",
            "kind": "constraint",
            "required": False,
            "confidence": 0.6,
            "validator": TEXTS,
            "depends_on": ["goal"],
            "questions": [
                {
                    "key": "constraints_limits",
                    "text": "Are there limits to respect: time, cost, privacy, or "
                    "systems it must not touch?",
                }
            ],
        },
        {
            "key": "success_criteria",
            "title": "Success criteria",
            "description": "How we know a run succeeded: checks on its outputs a person "
            "or a test could make.",
            "kind": "success_criterion",
            "confidence": 0.7,
            "validator": TEXTS,
            "depends_on": ["goal", "outputs"],
            "questions": [
                {
                    "key": "success_check",
                    "text": "How will you know a run went well? What would you check "
                    "in its result?",
                }
            ],
        },
        {
            "key": "tools",
            "title": "Tools and systems",
            "description": "Systems, APIs or agents the workflow should use, or must avoid.",
            "kind": "tool",
            "required": False,
            "confidence": 0.6,
            "validator": TEXTS,
            "depends_on": ["goal", "inputs"],
            "questions": [
                {
                    "key": "tools_systems",
                    "text": "Which systems or tools should it work with, and are there "
                    "any it must not use?",
                }
            ],
        },
        {
            "key": "approvals",
            "title": "Approvals",
            "description": "Actions a person must approve before they happen (sending, "
            "paying, deleting, publishing), and who approves. 'None' is an answer.",
            "kind": "approval",
            "confidence": 0.6,
            "validator": TEXTS,
            "depends_on": ["goal", "outputs"],
            "questions": [
                {
                    "key": "approvals_tools",
                    "text": "Some of those tools can act on the outside world. Which of "
                    "their actions (sending, paying, deleting, publishing) must a person "
                    "approve first, and who approves?",
                    "when": "answers.tools != null",
                },
                {
                    "key": "approvals_any",
                    "text": "Should a person approve anything before the workflow does it? "
                    "If so, what, and who?",
                },
            ],
        },
    ],
}
