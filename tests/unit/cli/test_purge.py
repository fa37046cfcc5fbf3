"""`agentsuite down --purge` then `up`: identity writes the operator's and each service's
credential once, on the first start of its database. A purge that dropped the embedded
database but kept those files left identity refusing to start on the fresh one
(FileExistsError on credentials/platform-operator.json, `up` failing after 90 s)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentsuite_cli.main import app

pytestmark = pytest.mark.unit


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    for part in ("pg", "broker", "credentials"):
        (home / part).mkdir(parents=True)
    (home / "credentials" / "platform-operator.json").write_text("{}")
    (home / "credentials" / "catalog.json").write_text("{}")
    return home


def test_purge_of_the_embedded_database_drops_the_credentials_it_issued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(tmp_path)
    monkeypatch.setenv("AGENTSUITE_HOME", str(home))
    monkeypatch.delenv("AGENTSUITE_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["down", "--purge"])
    assert result.exit_code == 0, result.output
    assert not (home / "pg").exists()
    assert not (home / "credentials").exists()


def test_purge_keeps_the_credentials_of_an_external_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An external database is not dropped by a purge, so what identity issued in it
    stays valid (and identity would not write it again)."""
    home = _home(tmp_path)
    monkeypatch.setenv("AGENTSUITE_HOME", str(home))
    monkeypatch.setenv("AGENTSUITE_DATABASE_URL", "postgresql://u:p@127.0.0.1:1/postgres")
    result = CliRunner().invoke(app, ["down", "--purge"])
    assert result.exit_code == 0, result.output
    assert (home / "credentials" / "platform-operator.json").exists()
