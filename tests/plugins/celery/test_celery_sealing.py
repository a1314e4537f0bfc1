"""The celery plugin without a broker: sealed payloads, settings and their errors, lazy imports."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from corral.errors import EXIT_USAGE, UsageError
from corral.testing import CorralProject
from corral_plugins.celery.app import PING, SHARD, make_app
from corral_plugins.celery.crypto import SealError, new_key, seal, seal_bytes, unseal
from corral_plugins.celery.settings import BrokerSettings, load_settings, parse_key

KEY_TEXT = new_key()
KEY = parse_key(KEY_TEXT, "test")
SECRET = {"vars": {"db_password": "hunter2 \u00e9\u6f22"}, "units": ["u1", "u2"], "n": 3}


def test_seal_then_unseal_gives_the_object_back_and_hides_the_secret() -> None:
    sealed = seal(SECRET, KEY)
    assert unseal(sealed, KEY) == SECRET
    raw = base64.urlsafe_b64decode(sealed)
    assert b"hunter2" not in raw
    assert "hunter2" not in sealed
    assert raw[0] == 1  # the version byte
    assert seal(SECRET, KEY) != sealed  # a fresh nonce every time


def test_a_wrong_key_is_a_corral_error_that_says_so() -> None:
    sealed = seal(SECRET, KEY)
    other = parse_key(new_key(), "other")
    with pytest.raises(SealError, match="the key is wrong or the message was changed") as info:
        unseal(sealed, other)
    assert info.value.hint is not None
    assert "--new-key" in info.value.hint


@pytest.mark.parametrize("where", [0, 5, 20, -1])
def test_a_changed_byte_anywhere_is_refused(where: int) -> None:
    raw = bytearray(base64.urlsafe_b64decode(seal(SECRET, KEY)))
    raw[where] ^= 0x01
    with pytest.raises(SealError):
        unseal(base64.urlsafe_b64encode(bytes(raw)).decode(), KEY)


@pytest.mark.parametrize("text", ["", "not base64!", "AAAA", "\u00e9t\u00e9"])
def test_text_that_is_not_a_sealed_message_is_refused(text: str) -> None:
    with pytest.raises(SealError, match=r"not a sealed corral message|version"):
        unseal(text, KEY)


def test_new_key_is_32_random_bytes_in_urlsafe_base64() -> None:
    assert len(parse_key(new_key(), "k")) == 32
    assert new_key() != new_key()
    with pytest.raises(UsageError, match="not a broker key"):
        parse_key(base64.urlsafe_b64encode(b"short").decode(), "CORRAL_BROKER_KEY")


def test_the_app_acks_late_and_takes_one_message_at_a_time() -> None:
    app = make_app(BrokerSettings("memory://", key=KEY, queues=("eu",)))
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_default_queue == "corral"
    assert app.conf.broker_transport_options["visibility_timeout"] == 300.0
    assert app.tasks[PING]()["queues"] == ["eu"]
    # A shard sealed under another key is refused before anything is unpickled.
    with pytest.raises(SealError):
        app.tasks[SHARD](seal_bytes(b"not a shard", parse_key(new_key(), "other")))


def test_settings_come_from_the_command_line_then_the_environment_then_corral_yml(
    tmp_path: Path,
) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "broker.key").write_text(KEY_TEXT + "\n")
    (tmp_path / "corral.yml").write_text(
        "scale_out:\n"
        "  broker_url: redis://from-file:6379/0\n"
        "  key_file: keys/broker.key\n"
        "  visibility_timeout: 900\n"
        "  queues: [eu, dc-paris]\n"
    )
    from_file = load_settings({}, cwd=tmp_path)
    assert from_file == BrokerSettings(
        "redis://from-file:6379/0", KEY, visibility_timeout=900.0, queues=("eu", "dc-paris")
    )
    other = new_key()
    env = {"CORRAL_BROKER_URL": "redis://from-env:6379/0", "CORRAL_BROKER_KEY": other}
    from_env = load_settings(env, cwd=tmp_path)
    assert (from_env.broker_url, from_env.key) == ("redis://from-env:6379/0", parse_key(other, ""))
    results = {**env, "CORRAL_RESULT_BACKEND": "redis://results:6379/1"}
    chosen = load_settings(results, broker_url="amqp://cli//", queues=["us"], cwd=tmp_path)
    assert (chosen.broker_url, chosen.queues) == ("amqp://cli//", ("us",))
    # An AMQP broker keeps its results (and the workers' journal) in the Redis named apart.
    (tmp_path / "corral.yml").write_text(
        "scale_out:\n  broker_url: amqp://rabbit//\n  result_backend: redis://results:6379/1\n"
    )
    assert load_settings({"CORRAL_BROKER_KEY": other}, cwd=tmp_path).result_backend == (
        "redis://results:6379/1"
    )
    env["CORRAL_RESULT_BACKEND"] = "redis://from-env:6379/1"
    assert load_settings(env, cwd=tmp_path).result_backend == "redis://from-env:6379/1"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert load_settings(env, cwd=empty).queues == ("corral",)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("scale_out:\n  broker_url: http://x\n", "corral.yml:2:3", "not one corral can use"),
        ("scale_out:\n  brokr: redis://x\n", "corral.yml:2:3", "unknown scale_out setting"),
        ("scale_out:\n  visibility_timeout: soon\n", "corral.yml:2:3", "number of seconds"),
        ("scale_out:\n  queues: [eu, 'a b']\n", "corral.yml:2:16", "'a b' is not usable"),
        ("scale_out:\n  key_file: missing.key\n", "corral.yml:2:3", "cannot read the broker key"),
        ("scale_out: [1]\n", "corral.yml:1:1", "must be a mapping"),
        ("scale_out:\n  result_backend: amqp://r//\n", "corral.yml:2:3", "is not Redis"),
        ("scale_out: {a: [}\n", "corral.yml:1:", "did not find expected node"),
    ],
)
def test_bad_corral_yml_values_are_usage_errors_with_their_position(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    (tmp_path / "corral.yml").write_text(text)
    env = {"CORRAL_BROKER_URL": "redis://h/0", "CORRAL_BROKER_KEY": KEY_TEXT}
    if "broker_url" in text:
        env.pop("CORRAL_BROKER_URL")
    if "key_file" in text:
        env.pop("CORRAL_BROKER_KEY")
    with pytest.raises(UsageError, match=message) as info:
        load_settings(env, cwd=tmp_path)
    assert str(info.value).startswith(where)


def test_worker_without_a_broker_or_a_key_is_one_error_line_and_exit_5(
    corral_project: CorralProject,
) -> None:
    no_broker = corral_project.run("worker", env={"CORRAL_BROKER_KEY": KEY_TEXT})
    assert no_broker.exit_code == EXIT_USAGE
    assert no_broker.stderr.splitlines()[0] == "error: no broker URL"
    assert "CORRAL_BROKER_URL" in no_broker.stderr
    assert "corral.yml" in no_broker.stderr
    assert "Traceback" not in no_broker.stderr

    no_key = corral_project.run("worker", "--broker", "redis://127.0.0.1:1/0")
    assert no_key.exit_code == EXIT_USAGE
    assert no_key.stderr.splitlines()[0].startswith("error: no broker key")
    assert len(no_key.stderr.splitlines()) == 2  # the error and its hint

    bad_key = corral_project.run("worker", "--broker", "redis://h/0", env={
        "CORRAL_BROKER_KEY_FILE": str(corral_project.path / "nope")})  # fmt: skip
    assert bad_key.exit_code == EXIT_USAGE
    assert "cannot read the broker key file" in bad_key.stderr


def test_new_key_prints_a_key_without_a_broker(corral_project: CorralProject) -> None:
    result = corral_project.run("worker", "--new-key")
    assert result.exit_code == 0
    assert len(parse_key(result.stdout.strip(), "printed")) == 32


# Runs `corral --help` and `corral worker --help` in a fresh interpreter and lists the
# broker libraries they imported: none, or every corral start pays for Celery.
_HELP = """
import json, sys
from corral.cli import main
for argv in (["--help"], ["worker", "--help"], ["workers", "--help"]):
    assert main(argv) == 0
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in
                        {"celery", "kombu", "redis", "billiard", "amqp", "cryptography"})))
"""


def test_corral_help_imports_no_celery() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _HELP], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout.splitlines()[-1]) == []
