"""Tool invocation for tool steps: builtins in process and `http` webhooks behind the
SSRF guard. Other binding kinds (python, mcp, llm) fail as `unsupported_binding`."""

from agentsuite_execution.tools.builtins import BUILTINS, builtin_binding
from agentsuite_execution.tools.calls import Builtin, Call, ToolError
from agentsuite_execution.tools.toolbox import Toolbox

__all__ = ["BUILTINS", "Builtin", "Call", "ToolError", "Toolbox", "builtin_binding"]
