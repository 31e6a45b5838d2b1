"""The environment file `make up` writes and the CLIs read (shared/parcelflow/envfile.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parcelflow import envfile
from parcelflow.config import MissingSetting

VALUES = {
    "TABLE_NAME": "parcelflow-orders-abc123",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:parcelflow-orders",
    "SYNC_QUEUE_URL": "http://127.0.0.1:4566/123456789012/parcelflow-sync?x=1",
}


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / ".parcelflow" / "local.env"
    envfile.write(path, VALUES, header="written by make up\nremoved by make down")
    return path


def test_what_is_written_is_read_back(env_file: Path) -> None:
    text = env_file.read_text()
    assert text.startswith("# written by make up\n# removed by make down\n")
    assert envfile.parse(text) == VALUES  # a value with = and ? in it is taken whole


def test_blank_lines_comments_and_spaces_around_the_key_are_fine() -> None:
    assert envfile.parse("\n# a comment\n  KEY = value \n\nOTHER=\n") == {"KEY": "value", "OTHER": ""}


@pytest.mark.parametrize("line", ["just words", "=value", "BAD KEY=1", "1KEY=x"])
def test_a_bad_line_names_the_file_and_the_line(line: str) -> None:
    with pytest.raises(envfile.EnvFileError, match=r"^local\.env:2: expected KEY=VALUE"):
        envfile.parse(f"GOOD=1\n{line}\n", "local.env")


def test_a_value_that_cannot_be_one_line_is_not_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one KEY=VALUE line"):
        envfile.write(tmp_path / "x.env", {"KEY": "two\nlines"})


def test_variables_already_set_win(env_file: Path) -> None:
    environ = {"AWS_ENDPOINT_URL": "http://elsewhere:1234", "SYNC_QUEUE_URL": ""}
    assert envfile.load(env_file, environ) == env_file
    assert environ["AWS_ENDPOINT_URL"] == "http://elsewhere:1234"
    assert environ["TABLE_NAME"] == VALUES["TABLE_NAME"]
    assert environ["SYNC_QUEUE_URL"] == VALUES["SYNC_QUEUE_URL"]  # set but empty counts as not set


def test_the_default_file_is_read_from_the_current_directory(
    env_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(env_file.parent.parent)
    environ: dict[str, str] = {}
    assert envfile.load(environ=environ) == envfile.DEFAULT_PATH
    assert environ == VALUES


def test_the_default_file_is_not_read_when_the_environment_names_a_stack(
    env_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(env_file.parent.parent)
    environ = {"TABLE_NAME": "parcelflow-orders-deployed"}
    assert envfile.load(environ=environ) is None
    assert environ == {"TABLE_NAME": "parcelflow-orders-deployed"}  # no local endpoint mixed in


def test_a_missing_default_file_is_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    environ: dict[str, str] = {}
    assert envfile.load(environ=environ) is None
    assert environ == {}


def test_a_missing_named_file_is_an_error(tmp_path: Path) -> None:
    environ = {envfile.PATH_VARIABLE: str(tmp_path / "nowhere.env")}
    with pytest.raises(envfile.EnvFileError, match=r"nowhere\.env: no such environment file"):
        envfile.load(environ=environ)


def test_the_named_file_wins_over_the_default(
    env_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(env_file.parent.parent)
    other = tmp_path / "other.env"
    other.write_text("TABLE_NAME=other\n")
    environ = {envfile.PATH_VARIABLE: str(other)}
    assert envfile.load(environ=environ) == other
    assert environ["TABLE_NAME"] == "other"


def _clean(monkeypatch: pytest.MonkeyPatch, cwd: Path) -> None:
    monkeypatch.chdir(cwd)
    monkeypatch.delenv(envfile.PATH_VARIABLE, raising=False)
    monkeypatch.delenv("TABLE_NAME", raising=False)


def test_a_missing_setting_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _clean(monkeypatch, tmp_path)

    def command() -> int:
        raise MissingSetting("environment variables missing or invalid: TABLE_NAME")

    assert envfile.run_cli(command, "stores") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("stores: environment variables missing or invalid: TABLE_NAME; no .parcelflow")
    assert "make up" in err


def test_a_bad_env_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _clean(monkeypatch, tmp_path)
    (tmp_path / ".parcelflow").mkdir()
    (tmp_path / ".parcelflow" / "local.env").write_text("this is not it\n")
    assert envfile.run_cli(lambda: 0, "stores") == 1
    assert capsys.readouterr().err == (
        "stores: .parcelflow/local.env:1: expected KEY=VALUE, got 'this is not it'\n"
    )


def test_an_unreachable_endpoint_is_one_line(
    env_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from botocore.exceptions import EndpointConnectionError

    _clean(monkeypatch, env_file.parent.parent)
    for key in VALUES:
        monkeypatch.delenv(key, raising=False)

    def command() -> int:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:4566/")

    assert envfile.run_cli(command, "orders") == 1
    assert capsys.readouterr().err == (
        "orders: cannot reach http://127.0.0.1:4566/ (from .parcelflow/local.env): "
        "is the local stack running (`make up`)?\n"
    )
