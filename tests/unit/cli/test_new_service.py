"""`agentsuite new-service`: the name it accepts, the files it plans, what it registers in
the root pyproject.toml, and that it writes nothing when it refuses. (tests/e2e runs a
generated service's own tests, lint and `agentsuite up`.)"""

from __future__ import annotations

import ast
import shutil
import tomllib
from pathlib import Path

import pytest

from agentsuite_cli.scaffold import ScaffoldError, check_name, new_service, planned
from agentsuite_cli.scaffold.names import Names
from agentsuite_cli.scaffold.register import registered

ROOT = Path(__file__).parents[3]
# a name no workspace will have made (these tests read the real pyproject and README)
NAME, MODULE, PACKAGE = "scaffold-probe", "scaffold_probe", "agentsuite_scaffold_probe"


@pytest.mark.parametrize(
    "name",
    ["", "Demo", "1demo", "demo_x", "demo--x", "-demo", "demo-", "../demo", "a/b", "dé", "x" * 31],
)
def test_a_name_that_is_no_lowercase_word_list_is_refused(name: str) -> None:
    with pytest.raises(ScaffoldError, match="invalid service name"):
        check_name(name)


@pytest.mark.parametrize("name", ["kit", "cli", "contracts", "sample", "class", "import"])
def test_a_name_the_workspace_or_python_uses_is_refused(name: str) -> None:
    with pytest.raises(ScaffoldError, match="uses that name"):
        check_name(name)


def test_every_spelling_of_a_hyphenated_name() -> None:
    names = check_name("data-room")
    assert (names.module, names.package, names.dist, names.camel, names.env) == (
        "data_room",
        "agentsuite_data_room",
        "agentsuite-data-room",
        "DataRoom",
        "DATA_ROOM",
    )


def test_the_planned_layout_is_the_one_services_readme_describes(tmp_path: Path) -> None:
    files = {
        p.relative_to(tmp_path).as_posix(): text
        for p, text in planned(tmp_path, Names.of(NAME)).items()
    }
    package = f"services/{NAME}/src/{PACKAGE}"
    readme = (ROOT / "services" / "README.md").read_text()
    for path in files:
        if path.startswith(package):
            # the README names each module and folder of the package
            part = path.removeprefix(package + "/").split("/")[0]
            assert part in readme, f"services/README.md does not mention {part}"
    for must in (
        f"services/{NAME}/pyproject.toml",
        f"{package}/migrations/versions/0001_initial.py",
        f"tests/integration/{MODULE}/test_schemathesis.py",
        f"tests/integration/{MODULE}/test_cross_tenant.py",
        f"tests/integration/{MODULE}/test_redelivery.py",
        f"tests/integration/{MODULE}/test_refused.py",
        f"tests/unit/{MODULE}/test_domain.py",
        f"bench/{MODULE}.py",
    ):
        assert must in files
    for path, text in files.items():
        if not path.endswith(".mako"):  # Mako's own `${...}` stays
            assert "$" not in text.replace('"$ref"', ""), path
        if path.endswith(".py"):
            ast.parse(text, path)  # a template's slip fails here, not in a user's workspace
    project = tomllib.loads(files[f"services/{NAME}/pyproject.toml"])
    assert project["project"]["entry-points"]["agentsuite.services"] == {
        NAME: f"{PACKAGE}.app:spec"
    }
    assert f'env_prefix("{NAME}")' in files[f"{package}/settings.py"]


def test_registration_adds_the_service_everywhere_the_workspace_lists_one() -> None:
    text = registered((ROOT / "pyproject.toml").read_text(), Names.of(NAME))
    tool = tomllib.loads(text)["tool"]
    pkg, src = PACKAGE, f"services/{NAME}/src"
    assert f"services/{NAME}" in tool["uv"]["workspace"]["members"]
    assert tool["uv"]["sources"][f"agentsuite-{NAME}"] == {"workspace": True}
    assert f"agentsuite-{NAME}" in tomllib.loads(text)["project"]["dependencies"]
    assert src in tool["ruff"]["src"]
    assert src in tool["mypy"]["files"]
    assert src in tool["mypy"]["mypy_path"]
    assert pkg in tool["ruff"]["lint"]["isort"]["known-first-party"]
    assert pkg in tool["importlinter"]["root_packages"]
    contracts = {c["id"]: c for c in tool["importlinter"]["contracts"]}
    assert pkg in [n.strip() for n in contracts["workspace"]["layers"][1].split("|")]
    assert f"{pkg}.domain" in contracts["pure-domain"]["source_modules"]
    for layer in ("repositories", "api", "handlers", "uow", "deps"):
        assert f"{pkg}.{layer}" in contracts["pure-domain"]["forbidden_modules"]
    assert pkg in contracts["no-circles"]["ancestors"]
    # the rest is as it was: comments and every other line kept
    before = (ROOT / "pyproject.toml").read_text().splitlines()
    after = text.splitlines()
    edited = {
        line
        for line in before
        if line.startswith(("members =", "src =", "files =", "mypy_path ="))
        or ("agentsuite_execution" in line and "|" in line)
    }
    assert set(before) - set(after) == edited


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_a_service_is_written_and_its_readme_section_ends_the_services(workspace: Path) -> None:
    written = new_service(workspace, NAME)
    assert workspace / f"services/{NAME}/src/{PACKAGE}/app.py" in written
    readme = (workspace / "README.md").read_text()
    section = readme.index(f"### {NAME}")
    assert readme.index("## Services") < section < readme.index("## Writing a service")
    with pytest.raises(ScaffoldError, match="exists already"):
        new_service(workspace, NAME)
    # its files gone, its registration not: never listed twice
    with pytest.raises(ScaffoldError, match="workspace member already"):
        registered((workspace / "pyproject.toml").read_text(), Names.of(NAME))


def test_a_clash_or_an_uneditable_pyproject_writes_nothing(workspace: Path) -> None:
    (workspace / "tests/integration").mkdir(parents=True)
    (workspace / f"tests/integration/{MODULE}.py").write_text("")
    before = (workspace / "pyproject.toml").read_text()
    with pytest.raises(ScaffoldError, match=rf"would overwrite tests/integration/{MODULE}\.py"):
        new_service(workspace, NAME)
    (workspace / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = []\n')
    with pytest.raises(ScaffoldError, match="cannot register"):
        new_service(workspace, "other")
    assert not (workspace / "services").exists()
    assert (workspace / "pyproject.toml").read_text() != before  # the stub, untouched
    assert (workspace / "pyproject.toml").read_text().startswith('[project]\nname = "x"')


def test_a_folder_without_a_pyproject_is_not_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="not the workspace root"):
        new_service(tmp_path, "demo")


def test_the_readme_example_names_the_port_make_up_gives_a_registry_service(
    workspace: Path,
) -> None:
    """The standard asks for an example that works against `make up` verbatim; the section
    said `http://127.0.0.1:<its port>/readyz` (catalog's README example inherited it). A
    service of the registry has a fixed port under `up`: base port + its place."""
    new_service(workspace, "audit")
    readme = (workspace / "README.md").read_text()
    section = readme[readme.index("### audit") :]
    assert "<its port>" not in section
    assert "http://127.0.0.1:8106/readyz" in section
    new_service(workspace, NAME)
    other = (workspace / "README.md").read_text()
    assert "<its port>" not in other[other.index(f"### {NAME}") :]
