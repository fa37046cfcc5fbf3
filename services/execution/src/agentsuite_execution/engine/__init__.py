"""The engine: execution's service layer over the domain's runs and steps.

Its modules import downwards only (no circle): journal, moves and the shared context at
the bottom; then a step's moves (flow), failures and a run's end (ends), containers, the
run commands (runs), budgets, the step kinds (llm, agent, local) and their dispatch
(kinds); timers and workers on top. Two calls go up those layers, and are wired here,
once, when the engine is imported: a child step's end moves its container, and an agent
step's answer goes back to the agent's loop.
"""

from agentsuite_execution.engine import agent, containers, flow, llm_answers

flow.containers_told_by(containers.child_done)
llm_answers.agents_answered_by(agent.answered)
