"""`agentsuite new-service NAME`: write a service in the workspace's one layout.

The files come from `files/` beside this module (package data), `string.Template`s whose
paths name `{name}`, `{module}` and `{package}`; `services/README.md` describes what they
make. Then the service is registered where the workspace lists its services (root
`pyproject.toml`: members, dependency, ruff, mypy, isort and the import-linter contracts,
see `register`) and gets a README section. Nothing is written unless everything can be:
a file that exists already, or a pyproject this cannot edit, stops it first.
"""

from __future__ import annotations

import string
from pathlib import Path

from agentsuite_cli.scaffold.names import Names, ScaffoldError, check_name
from agentsuite_cli.scaffold.register import readme_with, registered
from agentsuite_cli.settings import CliSettings
from agentsuite_contracts.registry import SERVICES

__all__ = ["Names", "ScaffoldError", "check_name", "new_service", "planned"]

TEMPLATES = Path(__file__).parent / "files"
README_SECTION = Path(__file__).parent / "readme_section.md.tmpl"
SUFFIX = ".tmpl"


def planned(root: Path, names: Names) -> dict[Path, str]:
    """Every file of the new service (path under `root` -> content)."""
    values = names.mapping()
    out: dict[Path, str] = {}
    for source in sorted(TEMPLATES.rglob(f"*{SUFFIX}")):
        relative = source.relative_to(TEMPLATES).as_posix().removesuffix(SUFFIX)
        target = root / relative.format(**values)
        try:
            out[target] = string.Template(source.read_text()).substitute(values)
        except (KeyError, ValueError) as exc:  # a template's own mistake, not the user's
            raise RuntimeError(f"template {source}: {exc!r}") from exc
    return out


def new_service(root: Path, name: str) -> list[Path]:
    """Write service `name` into the workspace at `root`; the files written, in order."""
    names = check_name(name)
    root = root.resolve()
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        raise ScaffoldError(f"{root} is not the workspace root: it has no pyproject.toml")
    if (root / "services" / name).exists():
        raise ScaffoldError(f"service {name!r} exists already: services/{name}")
    files = planned(root, names)
    for clash in _clashes(root, names, files):
        raise ScaffoldError(f"service {name!r} would overwrite {clash.relative_to(root)}")
    # computed before anything is written: a pyproject that cannot be edited stops it here
    project = registered(pyproject.read_text(), names)
    readme = root / "README.md"
    section = string.Template(README_SECTION.read_text()).substitute(
        names.mapping() | {"readyz": _readyz(name)}
    )
    readme_text = readme_with(readme.read_text(), section) if readme.is_file() else None
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    pyproject.write_text(project)
    written = [*files, pyproject]
    if readme_text is not None:
        readme.write_text(readme_text)
        written.append(readme)
    return written


def _readyz(name: str) -> str:
    """The README example's readiness URL under `make up`: a registry service's port is
    fixed (base port + its place); any other follows the registry's, by name, so
    `agentsuite status` says where it is."""
    if name in SERVICES:
        base = CliSettings.model_fields["base_port"].default
        return f"http://127.0.0.1:{base + SERVICES.index(name)}/readyz"
    row = f"grep -o 'service {name} .*http://[0-9.:]*'"
    return f"\"$(uv run agentsuite status | {row} | grep -o 'http://[0-9.:]*')/readyz\""


def _clashes(root: Path, names: Names, files: dict[Path, str]) -> list[Path]:
    """Files the service would overwrite, and modules its test folders would shadow."""
    found = [p for p in files if p.exists()]
    for where in ("tests/unit", "tests/integration", "bench"):
        module = root / where / f"{names.module}.py"
        if module.exists():
            found.append(module)
    for path in files:
        if not path.resolve().is_relative_to(root):
            found.append(path)  # unreachable with a checked name; a last guard all the same
    return found
