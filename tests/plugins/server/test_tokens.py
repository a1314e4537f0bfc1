"""``corral token``: real ``corral`` subprocesses on a store in a temporary CORRAL_HOME,
and ``check_token`` reading what they wrote, as the server will."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from corral.store.db import open_store
from corral.testing import CorralProject
from corral_plugins.server.tokens import SCOPES, Identity, check_token, scope_allows


def create(project: CorralProject, *args: str) -> tuple[str, str]:
    """Make a token through the CLI: (its text, what stderr said)."""
    result = project.run_subprocess("token", "create", *args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1  # the token alone, for $(...)
    return result.stdout.strip(), result.stderr


def listed(project: CorralProject) -> list[dict[str, object]]:
    result = project.run_subprocess("token", "list", "--json")
    assert result.exit_code == 0, result.stderr
    tokens: list[dict[str, object]] = json.loads(result.stdout)
    return tokens


def store_db(project: CorralProject) -> Path:
    return Path(project.env["CORRAL_HOME"]) / "corral.db"


def test_create_prints_the_secret_once_and_stores_only_its_digest(
    corral_project: CorralProject,
) -> None:
    text, said = create(corral_project, "--scope", "run", "--name", "ci")
    assert text.startswith("corral_")
    token_id = text.split("_")[1]
    assert len(token_id) == 8
    assert len(text) > 50
    assert f"created token {token_id} (scope run, name 'ci')" in said
    assert "shown only now" in said
    assert text not in said
    # Neither list shows it, nor does the store hold it.
    table = corral_project.run_subprocess("token", "list")
    assert table.exit_code == 0
    assert text not in table.stdout
    assert text.split("_", 2)[2] not in table.stdout
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "SCOPE", "CREATED", "LAST", "USED", "STATE"]
    assert lines[1].split()[:3] == [token_id, "ci", "run"]
    assert lines[1].endswith("active")
    assert [(t["id"], t["name"], t["scope"], t["revoked"]) for t in listed(corral_project)] == [
        (token_id, "ci", "run", None)
    ]
    for part in store_db(corral_project).parent.glob("corral.db*"):  # the WAL too
        assert text.split("_", 2)[2].encode() not in part.read_bytes()
    with sqlite3.connect(store_db(corral_project)) as conn:
        digests = [row[0] for row in conn.execute("SELECT digest FROM tokens")]
    assert len(digests) == 1
    assert len(digests[0]) == 64


def test_two_tokens_differ(corral_project: CorralProject) -> None:
    first, _ = create(corral_project, "--scope", "read")
    second, _ = create(corral_project, "--scope", "read")
    assert first != second
    assert len(listed(corral_project)) == 2


@pytest.mark.parametrize("scope", SCOPES)
def test_check_token_knows_each_scope(corral_project: CorralProject, scope: str) -> None:
    text, _ = create(corral_project, "--scope", scope, "--name", f"{scope}-bot")
    store = open_store(corral_project.env)
    try:
        identity = check_token(store, text)
        assert identity == Identity(text.split("_")[1], f"{scope}-bot", scope)
        assert check_token(store, text + "x") is None
        assert check_token(store, text.replace("corral_", "corral-")) is None
        assert check_token(store, "") is None
    finally:
        store.close()
    allowed = [needed for needed in SCOPES if scope_allows(scope, needed)]
    assert allowed == list(SCOPES[: SCOPES.index(scope) + 1])


def test_scope_ladder() -> None:
    assert scope_allows("admin", "approve")
    assert scope_allows("approve", "run")
    assert scope_allows("run", "read")
    assert not scope_allows("read", "run")
    assert not scope_allows("run", "approve")
    assert not scope_allows("approve", "admin")
    assert not scope_allows("bogus", "read")
    with pytest.raises(ValueError, match="unknown scope 'root'"):
        scope_allows("admin", "root")


def test_last_used_is_written_at_most_once_a_minute(corral_project: CorralProject) -> None:
    text, _ = create(corral_project, "--scope", "read")
    store = open_store(corral_project.env)
    try:
        start = time.time()
        assert check_token(store, text, now=start) is not None
        assert check_token(store, text, now=start + 30) is not None
        assert listed(corral_project)[0]["last_used"] == pytest.approx(start)
        assert check_token(store, text, now=start + 61) is not None
        assert listed(corral_project)[0]["last_used"] == pytest.approx(start + 61)
    finally:
        store.close()
    assert "LAST USED" in corral_project.run_subprocess("token", "list").stdout


def test_revoke_by_id_or_by_the_token_itself(corral_project: CorralProject) -> None:
    ci, _ = create(corral_project, "--scope", "run", "--name", "ci")
    ops, _ = create(corral_project, "--scope", "admin", "--name", "ops")
    ci_id, ops_id = ci.split("_")[1], ops.split("_")[1]
    result = corral_project.run_subprocess("token", "revoke", ci_id)
    assert (result.exit_code, result.stdout) == (0, f"token {ci_id} revoked\n")
    result = corral_project.run_subprocess("token", "revoke", ops)  # a leaked token, pasted
    assert (result.exit_code, result.stdout) == (0, f"token {ops_id} revoked\n")
    again = corral_project.run_subprocess("token", "revoke", ci_id)
    assert (again.exit_code, again.stdout) == (0, f"token {ci_id} already revoked\n")
    store = open_store(corral_project.env)
    try:
        assert check_token(store, ci) is None
        assert check_token(store, ops) is None
    finally:
        store.close()
    states = {t["id"]: t["revoked"] for t in listed(corral_project)}
    assert all(isinstance(states[i], float) for i in (ci_id, ops_id))
    table = corral_project.run_subprocess("token", "list").stdout
    assert "revoked 20" in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("token", "revoke", "0badc0de"), "error: no token '0badc0de'"),
        (("token", "create"), "error: corral token create needs --scope"),
        (("token", "create", "--scope", "root"), "error: Invalid value for '--scope'"),
    ],
    ids=["unknown id", "no scope", "bad scope"],
)
def test_usage_errors_are_one_line_and_exit_5(
    corral_project: CorralProject, args: tuple[str, ...], message: str
) -> None:
    result = corral_project.run_subprocess(*args)
    assert result.exit_code == 5
    first, hint = result.stderr.splitlines()
    assert first.startswith(message)
    assert hint.startswith("hint: ")
    assert result.stdout == ""


def test_an_empty_store_lists_no_tokens(corral_project: CorralProject) -> None:
    result = corral_project.run_subprocess("token", "list")
    assert result.exit_code == 0
    assert result.stdout.startswith("no tokens")
    assert listed(corral_project) == []


def test_the_store_off_is_a_usage_error(corral_project: CorralProject) -> None:
    result = corral_project.run_subprocess("token", "list", env={"CORRAL_STORE": "off"})
    assert result.exit_code == 5
    assert result.stderr.startswith("error: the run store is off")
