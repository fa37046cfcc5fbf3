"""How a service package makes itself known to the `agentsuite` CLI."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path

from agentsuite_kit.settings import ServiceSettings

ENTRY_POINT_GROUP = "agentsuite.services"


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """A service as the CLI sees it; exported under the `agentsuite.services` entry point."""

    name: str
    asgi_app: str  # "module:function" of the factory returning the FastAPI app uvicorn serves
    migrations: Path  # the service's alembic script directory
    settings: type[ServiceSettings]  # the service's one Settings class (its env prefix)


def installed() -> list[ServiceSpec]:
    """Every service package installed in this environment, by name."""
    specs: list[ServiceSpec] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        spec = ep.load()
        if not isinstance(spec, ServiceSpec):
            raise TypeError(f"entry point {ep.name} is not a ServiceSpec: {spec!r}")
        specs.append(spec)
    return sorted(specs, key=lambda s: s.name)


def find(name: str) -> ServiceSpec:
    """An installed service by name, or any ServiceSpec by `module:attribute` (tests, dev)."""
    if ":" in name:
        module, _, attribute = name.partition(":")
        try:
            spec = getattr(import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise LookupError(f"cannot load {name!r}: {exc}") from exc
        if not isinstance(spec, ServiceSpec):
            raise LookupError(f"{name} is not a ServiceSpec: {spec!r}")
        return spec
    # only the named entry point is loaded: loading one imports that service's whole app,
    # and `agentsuite serve <name>` (every start, every restart after a crash) needs one
    named = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not named:
        known = ", ".join(sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)))
        raise LookupError(f"no service {name!r} (installed: {known or 'none installed'})")
    spec = next(iter(named)).load()
    if not isinstance(spec, ServiceSpec) or spec.name != name:
        raise LookupError(f"entry point {name} is not the ServiceSpec of {name!r}: {spec!r}")
    return spec
