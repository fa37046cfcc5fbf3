"""Tool invocation for tool steps: builtins in process, `http` webhooks and `mcp` tools
behind the SSRF guard. Other binding kinds (python, llm) fail as `unsupported_binding`."""

from agentsuite_execution.tools.builtins import BUILTINS, builtin_binding
from agentsuite_execution.tools.calls import Builtin, Call, ToolError
from agentsuite_execution.tools.toolbox import Toolbox

__all__ = ["BUILTINS", "Builtin", "Call", "ToolError", "Toolbox", "builtin_binding"]
