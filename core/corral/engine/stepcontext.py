"""The :class:`StepContext` a step gets: the host's connection, become, timeout, search paths.

Built for each attempt of a step on a host; the connection is opened only when
the step first uses it.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral import cooperative
from corral.connection import Become, Connection
from corral.engine.context import PlayContext
from corral.engine.hosts import HostState
from corral.engine.retry import parse_duration
from corral.errors import StepFailed, TemplateError
from corral.playbook.keyword_values import ENV_TEMPLATE
from corral.playbook.model import Task
from corral.secrets import Secret
from corral.steps import StepContext, StepType

if TYPE_CHECKING:
    from corral.playbook.templating.templar import Templar

# What a step does on the host through its connection (see corral.connection.Connection).
_HOST_CALLS = frozenset({"open", "run", "put", "get", "stat", "make_dirs"})


def truthy(value: Any) -> bool:
    """Ansible's idea of a true flag: ``yes``, ``true``, ``on``, ``1``, ``y`` or a true value."""
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "on", "1", "y")
    return bool(value)


def flag(templar: Templar, value: Any, variables: Mapping[str, Any]) -> bool:
    """A task keyword that is a flag or a template of one (``ignore_errors: "{{ x }}"``)."""
    if value is None or value is True or value is False:  # the usual case, 3 times a task
        return bool(value)
    if isinstance(value, str):
        value = templar.render(value, variables)
    return truthy(value)


class ContextBuilder:
    """Makes the :class:`StepContext` of each attempt for one play."""

    def __init__(self, pctx: PlayContext) -> None:
        self.pctx = pctx
        self.run = pctx.run
        self.templar = pctx.run.templar
        self._paths: dict[tuple[str, tuple[Path, ...]], tuple[Path, ...]] = {}

    def _flag(self, value: Any, variables: Mapping[str, Any]) -> bool:
        return flag(self.templar, value, variables)

    def context(
        self,
        state: HostState,
        task: Task,
        step: StepType,
        variables: dict[str, Any],
        check_mode: bool,
    ) -> StepContext:
        """The context of one attempt of ``step`` for ``task`` on the host of ``state``."""
        target = state
        if task.delegate_to:
            delegate = str(self.templar.render(task.delegate_to, variables))
            if delegate != state.name:
                target = self.run.state(delegate)
        # Opened on first use: a step that never touches the host (debug, most http
        # calls) never connects to it.
        user = self.pctx.play.remote_user
        if user is not None:
            user = str(self.templar.render(user, variables))
        kind = task.connection
        if kind is not None:
            kind = str(self.templar.render(kind, variables))
        # Set when this attempt is killed (grace period over, abort); a unit that starts
        # after a kill (the wind-down's cleanup) gets a clear one.
        stop = self.run.control.unit_stop()
        conn: Connection = _LazyConnection(
            target.name,
            lambda: self.run.connection(target, user, kind),
            stop,
            self.run.waits_cooperatively,
        )
        env = self._environment(task, variables) if task.environment else {}
        return StepContext(
            host=state.name,
            vars=variables,
            conn=conn,
            check_mode=check_mode,
            diff=self.run.options.diff if task.diff is None else self._flag(task.diff, variables),
            timeout=self._timeout(task, variables),
            become=self._become(task, variables),
            env={str(k): str(v) for k, v in env.items()},
            log=lambda text: self.run.bus.emit(
                "log", host=state.name, task=task.name, message=text
            ),
            cancelled=stop,
            search_paths=self._search_paths(task),
            render=self._renderer(variables),
            approve=lambda spec: self._approve(task, spec, variables, stop),
        )

    def _renderer(
        self, variables: Mapping[str, Any]
    ) -> Callable[[str, Mapping[str, Any] | None], Any]:
        def render(text: str, extra: Mapping[str, Any] | None = None) -> Any:
            return self.templar.render(text, {**variables, **(extra or {})})

        return render

    def _approve(
        self,
        task: Task,
        spec: Mapping[str, Any],
        variables: Mapping[str, Any],
        stop: threading.Event,
    ) -> dict[str, Any]:
        decision = self.run.ask_approval(
            spec, key=task.uid, where=task.name, variables=variables, stop=stop
        )
        return {
            "approved": decision.approved,
            "by": decision.by,
            "comment": decision.comment,
            "timed_out": decision.timed_out,
        }

    def _timeout(self, task: Task, variables: Mapping[str, Any]) -> float | None:
        """The task's own timeout, cut short by the play's deadline."""
        timeout = (
            parse_duration(self.templar.render(task.timeout, variables))
            if task.timeout is not None
            else None
        )
        if self.pctx.deadline is not None:
            left = max(0.001, self.pctx.deadline - time.monotonic())
            timeout = left if timeout is None else min(timeout, left)
        return timeout

    def target_name(self, state: HostState, task: Task, variables: Mapping[str, Any]) -> str:
        if task.delegate_to:
            return str(self.templar.render(task.delegate_to, variables))
        return state.name

    def search_paths(self, task: Task) -> tuple[Path, ...]:
        """Where the task's relative files are looked for (lookups in its loop too)."""
        return self._search_paths(task)

    def _search_paths(self, task: Task) -> tuple[Path, ...]:
        """Where relative ``src`` files are looked for: the task file's folder, then the playbook's.

        A role's task looks in its role first (``templates/``, ``files/``, ``vars/``),
        then in the roles that called it, as Ansible does. Resolved once per task
        file for the play (relative paths depend on the cwd, so this is not cached
        across runs).
        """
        roles = (task.role, *task.role.parents) if task.role is not None else ()
        key = (task.location.file, tuple(r.path for r in roles) if roles else ())
        found = self._paths.get(key)
        if found is None:
            task_dir = Path(task.location.file).parent.resolve()
            base = self.run.playbook.base_dir.resolve()
            dirs = [*(r.path for r in roles[:1]), task_dir, *(r.path for r in roles[1:]), base]
            paths = list(dirs)
            resume = self.run.options.resume
            if resume is not None:
                # A resumed run's playbook is a snapshot: the files steps read are
                # still where the interrupted run found them.
                origins = (resume.origin_of(d, base) for d in dirs)
                paths += [d for d in origins if d is not None]
            found = tuple(dict.fromkeys(paths))
            self._paths[key] = found
        return found

    def _environment(self, task: Task, variables: Mapping[str, Any]) -> Mapping[str, Any]:
        """The task's ``environment:``, rendered; a templated one must give a mapping."""
        env: dict[str, Any] = {}
        for key, value in task.environment.items():
            if value != ENV_TEMPLATE:
                env[key] = self.templar.render(value, variables)
                continue
            rendered = self.templar.render(key, variables)
            if not isinstance(rendered, Mapping):
                raise TemplateError(
                    f"environment {key!r} is {type(rendered).__name__}, not a mapping",
                    hint="environment: takes a mapping of variable names to values",
                )
            env.update(rendered)
        return env

    def _become(self, task: Task, variables: Mapping[str, Any]) -> Become | None:
        become = task.become if task.become is not None else variables.get("ansible_become")
        if not self._flag(become, variables):
            return None
        user = task.become_user or variables.get("ansible_become_user") or "root"
        password = variables.get("ansible_become_password", variables.get("ansible_become_pass"))
        if password is not None and not isinstance(password, Secret):
            password = Secret(str(self.templar.render(password, variables)))
        if isinstance(password, Secret):
            self.run.bus.add_secret(password.reveal())
        method = str(variables.get("ansible_become_method") or "sudo")
        return Become(
            user=str(self.templar.render(user, variables)), method=method, password=password
        )


class _LazyConnection:
    """The host's connection, opened by the first call a step makes on it.

    Once its unit is killed, a step gets no new command or transfer: the
    connections were closed to kill what ran, and must not be opened again for it.
    """

    def __init__(
        self,
        host: str,
        open_connection: Callable[[], Connection],
        killed: threading.Event,
        is_cooperative: Callable[[Connection], bool],
    ) -> None:
        self.host = host
        self._open = open_connection
        self._cooperative = is_cooperative
        self._conn: Connection | None = None
        self._killed = killed

    def __getattr__(self, name: str) -> Any:
        if self._killed.is_set() and name in _HOST_CALLS:
            raise StepFailed("interrupted: the run was stopped")
        conn = self._conn
        if conn is None:
            conn = self._conn = self._open()  # kept for the rest of this step's call
        found = getattr(conn, name)
        if name in _HOST_CALLS and not self._cooperative(conn) and cooperative.current_hub():
            # A connection that blocks, reached from the hub (its type was not the one the
            # host's inventory named): each call waits on a helper thread, not the hub's.
            return functools.partial(cooperative.call_blocking, found)
        return found
