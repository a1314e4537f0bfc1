"""Step types: what a task does, as a plain function plus a JSON Schema.

A step plugin registers :class:`StepType` values through
``corral_register_steps(register)``. The engine calls ``step.run(ctx, args)``
with a :class:`StepContext` and the task's rendered arguments (already checked
against ``step.schema``) and stores the :class:`StepResult` it returns.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from corral.connection import READ_FILE, Become, CommandResult, Connection, FileContent

__all__ = ["AddHost", "StepContext", "StepResult", "StepType", "lazy_step"]


@dataclass(frozen=True)
class AddHost:
    """A host the run's inventory gains, or new groups for it (``add_host``, ``group_by``).

    The engine adds it after the task, so later tasks (``groups``, ``group_names``,
    the groups' variables) and later plays (``hosts: <group>``) see it, as in Ansible.
    A group that does not exist is made, as a child of each of ``parents``.
    """

    name: str
    groups: tuple[str, ...] = ()
    parents: tuple[str, ...] = ("all",)
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class StepResult:
    """The outcome of one step on one host (one loop item).

    ``data`` is merged into what ``register`` stores, beside ``changed``,
    ``failed``, ``msg``, ``rc``, ``stdout`` and ``stderr``.
    """

    changed: bool = False
    failed: bool = False
    skipped: bool = False
    timed_out: bool = False  # the step gave up at ``ctx.timeout``; set with ``failed``
    msg: str = ""
    rc: int | None = None
    stdout: str | None = None
    stderr: str | None = None
    diff: Mapping[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # Facts about the host (``setup``): stored under ``ansible_facts`` and, as
    # Ansible injects them, as ``ansible_<name>`` variables.
    facts: dict[str, Any] | None = None
    # Variables to set on the host for the rest of the run (``set_fact``).
    set_vars: dict[str, Any] | None = None
    # A play-level action for the engine to carry out (``meta``: end_host,
    # end_play...); not part of what ``register`` stores.
    meta_action: str | None = None
    # Hosts and groups to add to the run's inventory (``add_host``, ``group_by``).
    add_hosts: tuple[AddHost, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The result as ``register`` stores it (Ansible's shape)."""
        out: dict[str, Any] = {"changed": self.changed, "failed": self.failed}
        if self.skipped:
            out["skipped"] = True
        if self.timed_out:
            out["timed_out"] = True
        if self.msg:
            out["msg"] = self.msg
        if self.rc is not None:
            out["rc"] = self.rc
        if self.stdout is not None:
            out["stdout"] = self.stdout
            out["stdout_lines"] = self.stdout.splitlines()
        if self.stderr is not None:
            out["stderr"] = self.stderr
            out["stderr_lines"] = self.stderr.splitlines()
        if self.diff is not None:
            out["diff"] = dict(self.diff)
        if self.facts is not None or self.set_vars is not None:
            out["ansible_facts"] = {**(self.facts or {}), **(self.set_vars or {})}
        out.update(self.data)
        return out


def _no_render(text: str, extra: Mapping[str, Any] | None = None) -> Any:
    return text


def _no_approver(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {"approved": False, "by": "", "comment": "no approver: run this step through the engine"}


@dataclass
class StepContext:
    """Everything a step may use: the host, its variables and connection, and the run's settings."""

    host: str
    vars: Mapping[str, Any]
    conn: Connection
    check_mode: bool = False
    diff: bool = False
    timeout: float | None = None
    become: Become | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    log: Callable[[str], None] = print
    cancelled: threading.Event = field(default_factory=threading.Event)
    secrets: Mapping[str, Any] = field(default_factory=dict)
    # Directories searched, in order, for relative ``src`` files and templates
    # (the task file's directory, then the playbook's).
    search_paths: tuple[Path, ...] = ()
    # Renders a template string with the host's variables (plus ``extra``).
    render: Callable[[str, Mapping[str, Any] | None], Any] = _no_render
    # Asks for an approval ({message, timeout, on_timeout}) and blocks until decided:
    # returns {"approved", "by", "comment", "timed_out"}.
    approve: Callable[[Mapping[str, Any]], dict[str, Any]] = _no_approver

    # Set by the engine for a task with ``async``: runs the step's command as a job.
    async_runner: Callable[..., CommandResult] | None = None

    def run_command(
        self,
        command: Sequence[str] | str,
        *,
        stdin: bytes | str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        shown: str | None = None,
    ) -> CommandResult:
        """Run the step's own command on the host, with the task's timeout and become.

        Under ``async`` the engine runs it as a background job on the host instead
        (``shown`` is the command as ``async_status`` reports it), so a step that
        runs one command through here supports ``async`` and ``poll: 0``.
        """
        if self.async_runner is not None:
            return self.async_runner(command, stdin=stdin, env=env, cwd=cwd, shown=shown)
        return self.conn.run(
            command, stdin=stdin, env=env, cwd=cwd, timeout=self.timeout, become=self.become
        )

    def var(self, name: str, default: Any = None) -> Any:
        """The task's variable ``name`` as a value step code can use (``default`` if unset).

        A variable written as a template (in the inventory, the play's ``vars``) is
        rendered with the task's variables. Run-time data (gathered facts, registered
        results, ``set_fact`` values) sits in :attr:`vars` wrapped, so that no template in
        it is ever rendered: it is returned as the value inside.
        """
        from corral.playbook.templating.environment import unwrap

        if name not in self.vars:
            return default
        written = self.vars[name]
        value = unwrap(written)
        if value is written and isinstance(value, str) and ("{{" in value or "{%" in value):
            return self.render(value, None)
        return value

    def read_file(self, path: str) -> FileContent:
        """Resolve ``path``'s symlinks on the host, then describe and read what is there.

        As the task's become user, in one round trip where the connection can
        (:data:`corral.READ_FILE`); else with ``stat``, ``readlink`` and ``get``.
        Raises StepFailed when the file cannot be read.
        """
        conn, become, timeout = self.conn, self.become, self.timeout
        if READ_FILE in conn.capabilities:
            return conn.read_file(path, become=become, timeout=timeout)
        found = conn.stat(path, become=become, timeout=timeout)
        if found is not None and found.is_link:
            real = conn.run(["readlink", "-f", "--", path], timeout=timeout, become=become)
            if real.rc == 0 and real.stdout.strip():
                path = real.stdout.strip()
                found = conn.stat(path, become=become, timeout=timeout)
        if found is None or not found.is_file:
            return FileContent(path, found)
        import tempfile  # only this fallback needs it; every command imports this module

        with tempfile.TemporaryDirectory(prefix="corral-read-") as scratch:
            local = Path(scratch) / "content"
            conn.get(path, local, become=become, timeout=timeout)
            return FileContent(path, found, local.read_bytes())

    def find_file(self, name: str, subdir: str = "files") -> Path | None:
        """Find a relative ``src`` as Ansible does: ``<dir>/<subdir>/name``, then ``<dir>/name``."""
        # os.path.exists, not Path.exists: it answers False for a name no file can have
        # (too long, a NUL byte) where Path.exists raises.
        candidate = Path(name)
        if candidate.is_absolute():
            return candidate if os.path.exists(candidate) else None
        for base in self.search_paths:
            for path in (base / subdir / name, base / name):
                if os.path.exists(path):
                    return path
        return None


StepFunction = Callable[[StepContext, Mapping[str, Any]], StepResult]


@dataclass(frozen=True)
class StepType:
    """A kind of step: a name, the function that runs it, and the schema of its arguments.

    ``on="controller"`` marks steps whose work is not on the host (http, database,
    notify): the engine still gives them the host's variables and connection.
    ``free_form`` names the argument that a bare string becomes
    (``shell: "echo hi"`` is ``{"cmd": "echo hi"}``).
    ``facts`` names the facts the step may add to ``ansible_facts`` (without the
    ``ansible_`` prefix; shell-style patterns for names that vary by host, such
    as interfaces): the pre-run check counts them as defined after the step.
    ``expressions`` names the arguments that hold bare Jinja2 expressions, as a task's
    ``when`` does (``assert``'s ``that``): the pre-run check parses them, so an unknown
    filter or test there stops the run before any host is touched.
    """

    name: str
    run: StepFunction
    schema: Mapping[str, Any]
    aliases: tuple[str, ...] = ()
    check_mode: bool = False
    on: Literal["target", "controller"] = "target"
    free_form: str | None = None
    description: str = ""
    # Runs once per batch (as run_once) and its result counts on every host of the
    # batch: a person's answer (``approval``) stands for all of them.
    once_per_batch: bool = False
    # Runs on the batch's first host only, for the whole batch, and is reported there
    # alone (Ansible's "bypass host loop": ``add_host``).
    bypass_host_loop: bool = False
    facts: tuple[str, ...] = ()
    # Plain variables the step sets on the host, as set_fact does (shell-style
    # patterns: ``getent_*``); the pre-run check counts them as defined.
    variables: tuple[str, ...] = ()
    expressions: tuple[str, ...] = ()
    # Waits only through its connection and corral.cooperative (no blocking call,
    # lock or event of its own): the engine may run it for many hosts on one thread.
    cooperative: bool = False
    plugin: str = field(default="", compare=False)


def lazy_step(target: str) -> StepFunction:
    """The step function at ``"package.module:function"``, imported on its first call.

    Registering a step needs its name and schema only. A family that registers
    ``run=lazy_step(...)`` and keeps its schemas in a small module of their own
    costs a command that never uses it almost nothing: ``corral run`` of one debug
    task does not import the package managers, tar or the crontab parser.
    """
    module_name, _, function_name = target.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"lazy_step wants 'module:function', got {target!r}")
    loaded: list[StepFunction] = []

    def run(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
        if not loaded:
            # Two threads may both import: the import lock makes that safe, and
            # both find the same function.
            loaded.append(getattr(importlib.import_module(module_name), function_name))
        return loaded[0](ctx, args)

    run.__qualname__ = run.__name__ = function_name
    run.__module__ = module_name
    return run
