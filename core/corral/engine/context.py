"""The objects a run shares between the play runner and task execution."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from corral import cooperative
from corral.connection import GENERIC_SETTINGS, Connection, ConnectionSetting
from corral.engine.approval import ApprovalDecision, request_from, wait_only
from corral.engine.events import EventBus
from corral.engine.hosts import HostState
from corral.engine.options import RunOptions
from corral.engine.results import Recap
from corral.engine.signals import StopControl
from corral.engine.variables import USER_VARIABLES, RunVariables, host_scope
from corral.errors import CorralError, HostUnreachable
from corral.executors import Executor
from corral.inventory.connvars import is_template, mark_secrets, secret_names
from corral.playbook.model import Play, Playbook
from corral.plugins import Registry
from corral.secrets import SECRET_VARIABLES, Secret, keep_secret

if TYPE_CHECKING:
    from corral.inventory import Inventory
    from corral.playbook.templating.templar import Templar

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
_AS = "\0as\0"  # joins a host's name and a play's remote_user in connection keys


@dataclass
class RunContext:
    """One run: what was asked, what is known about each host, where events go."""

    registry: Registry
    templar: Templar
    options: RunOptions
    bus: EventBus
    inventory: Inventory
    playbook: Playbook
    states: dict[str, HostState] = field(default_factory=dict)
    recap: Recap = field(default_factory=Recap)
    control: StopControl = field(default_factory=StopControl)
    variables: RunVariables = field(default_factory=RunVariables)  # params and extra vars
    started_at_task: bool = False  # --start-at-task found
    rejected: list[str] = field(default_factory=list)  # plays stopped by a rejected approval
    _connections: dict[str, Connection] = field(default_factory=dict)
    _opened: set[str] = field(default_factory=set)
    _conn_locks: dict[str, threading.Lock] = field(default_factory=dict)
    # host -> its connection keys for a play's remote_user: a reset finds them without a scan
    _as_users: dict[str, set[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Where units run (corral.executors); opened by the engine when the run starts.
    executor: Executor | None = None
    # Classes of the connections whose connection type waits cooperatively.
    _cooperative_classes: set[type] = field(default_factory=set)

    @property
    def cancelled(self) -> threading.Event:
        """Set when the run must stop at once, cleanup included (second signal,
        ``corral cancel --now``, a wind-down past its limit)."""
        return self.control.cancelled

    @property
    def stopping(self) -> threading.Event:
        """Set when no new unit may start (first signal)."""
        return self.control.stopping

    def state(self, host: str) -> HostState:
        with self._lock:
            found = self.states.get(host)
            if found is None:
                found = self.states[host] = HostState(host, self.host_variables(host))
                self._hide_passwords(found)
                resume = self.options.resume
                if resume is not None:
                    # A resumed run starts with what the interrupted one had produced.
                    found.host_vars.update(resume.host_vars.get(host, {}))
                    found.facts.update(resume.facts.get(host, {}))
            return found

    def ask_approval(
        self,
        spec: Mapping[str, Any],
        *,
        key: str,
        where: str,
        variables: Mapping[str, Any],
        stop: threading.Event | None = None,
    ) -> ApprovalDecision:
        """Ask for an approval and wait; every request and decision is an event.

        The wait ends early when ``stop`` is set (the unit asking is killed: a wind-down's
        grace period is over); by default, when the run is aborted.
        """
        request = request_from(
            spec,
            run_id=self.bus.run_id,
            key=key,
            render=lambda v: self.templar.render(v, variables),
        )
        self.bus.emit(
            "approval",
            key=key,
            task=where,
            message=request.message,
            timeout=request.timeout,
            on_timeout=request.on_timeout,
        )
        self.flush()
        approver = self.options.approver or wait_only
        decision = approver(request, self.cancelled if stop is None else stop)
        self.bus.emit(
            "approval_result",
            key=key,
            task=where,
            approved=decision.approved,
            by=decision.by,
            comment=decision.comment,
            timed_out=decision.timed_out,
        )
        return decision

    def flush(self) -> None:
        """Make everything reported so far durable (the run store commits) before moving on."""
        self.bus.flush()

    def host_variables(self, host: str) -> dict[str, Any]:
        """A host's inventory variables as tasks see them (with the command line's defaults)."""
        # Under every inventory variable: -u, -b, --private-key... and ansible.cfg.
        defaults = self.options.host_defaults
        if self.inventory.has_host(host):
            # Passwords are secrets from here on, whether or not a task ever uses them.
            return mark_secrets({**defaults, **self.inventory.host_vars_view(host)})
        # Delegating to a host outside the inventory: Ansible's implicit localhost.
        return mark_secrets(
            {
                **defaults,
                "inventory_hostname": host,
                "ansible_connection": "local" if host in LOCAL_NAMES else "ssh",
            }
        )

    def _hide_passwords(self, state: HostState) -> None:
        """Redact a host's passwords from every event, before any of its tasks runs.

        A password that is a template (``"{{ sudo_pw }}"``) is rendered now in the
        host's scope, so what it renders to is hidden too; one that cannot be rendered
        yet (it needs facts) is hidden when a connection or ``become`` renders it.
        """
        variables = state.inventory_vars
        for name in secret_names(variables):
            value = variables[name]
            if isinstance(value, Secret):
                self.bus.add_secret(value.reveal())
            elif is_template(value):
                try:
                    rendered = self.templar.render(value, host_scope(state, self.variables))
                except CorralError:
                    continue
                if isinstance(rendered, Secret):
                    self.bus.add_secret(rendered.reveal())
                elif isinstance(rendered, str | int | float):
                    self.bus.add_secret(str(rendered))

    def connection(
        self, state: HostState, user: str | None = None, kind: str | None = None
    ) -> Connection:
        """The host's connection, opened on first use and kept for the whole run.

        ``user`` is the play's ``remote_user``: it applies when the inventory gives the
        host no ``ansible_user`` (the variable wins, as in Ansible; ``-u`` and
        ansible.cfg's ``remote_user`` give way to it), and a host
        reached as two users has a connection for each. ``kind`` is the ``connection:``
        keyword: likewise below the host's own ``ansible_connection``, but above
        ``-c`` and ansible.cfg.
        """
        variables: Mapping[str, Any] = state.inventory_vars
        key = state.name
        user = self.play_user(state.name, user)
        if user is not None:
            variables = {**variables, "ansible_user": user}
            key = f"{state.name}{_AS}{user}"
        if kind is not None and not self._own_connection(state.name):
            variables = {**variables, "ansible_connection": kind}
            key = f"{key}{_AS}{kind}"
        if key in self._opened:  # the usual case, without a lock
            conn = self._connections.get(key)
            if conn is not None:
                return conn
        with self._lock:
            lock = self._conn_locks.setdefault(state.name, threading.Lock())
        with cooperative.held(lock):
            conn = self._connections.get(key)
            if conn is None:
                conn = self._connections[key] = self._make_connection(state.name, variables)
                if key != state.name:
                    self._as_users.setdefault(state.name, set()).add(key)
            if key not in self._opened:
                if self.waits_cooperatively(conn):
                    conn.open()
                else:
                    cooperative.call_blocking(conn.open)
                self._opened.add(key)
            return conn

    def play_user(self, host: str, remote_user: Any) -> Any:
        """The play's ``remote_user`` for ``host``: None where the inventory names its user."""
        if remote_user is None or self.own_user(host):
            return None
        return remote_user

    def own_user(self, host: str) -> bool:
        """Whether the inventory names the host's user (not -u or ansible.cfg, which a
        play's ``remote_user`` overrides, as Ansible's keywords override both)."""
        if not self.inventory.has_host(host):
            return False
        own = self.inventory.host_vars_view(host)
        return any(name in own for name in USER_VARIABLES)

    def _own_connection(self, host: str) -> bool:
        """Whether the host's ``ansible_connection`` is its own (not -c's or ansible.cfg's)."""
        if not self.inventory.has_host(host):
            return host in LOCAL_NAMES  # implicit localhost's local is its own, as in Ansible
        return "ansible_connection" in self.inventory.host_vars_view(host)

    def reset_connection(self, host: str) -> None:
        """Close a host's connection so the next use opens a new one (a retry after unreachable)."""
        with self._lock:
            lock = self._conn_locks.setdefault(host, threading.Lock())
        with cooperative.held(lock):
            keys = [host, *self._as_users.pop(host, ())]
            conns = [c for key in keys if (c := self._connections.pop(key, None)) is not None]
            self._opened.difference_update(keys)
        for conn in conns:
            try:
                if self.waits_cooperatively(conn):
                    conn.close()
                else:
                    cooperative.call_blocking(conn.close)
            except Exception as exc:
                self.bus.warn(f"closing the connection to {host} failed: {exc}")

    def _make_connection(self, host: str, variables: Mapping[str, Any]) -> Connection:
        variables = self._render_settings(variables, GENERIC_SETTINGS)
        kind = str(variables.get("ansible_connection") or "ssh")
        connection_type = self.registry.connections.get(kind)
        if connection_type is None:
            installed = ", ".join(sorted(self.registry.connections)) or "none"
            raise HostUnreachable(
                f"no connection plugin {kind!r} is installed (installed: {installed})",
                hint="set ansible_connection for the host, or install the plugin",
            )
        variables = self._render_settings(variables, connection_type.settings)
        conn = connection_type.connect(host, variables)
        if connection_type.cooperative:
            self._cooperative_classes.add(type(conn))
        return conn

    # -- cooperative waiting (see corral.cooperative) ---------------------------

    def cooperative_kind(self, state: HostState) -> bool:
        """Whether the host's connection type (as its inventory names it) waits cooperatively."""
        kind = state.inventory_vars.get("ansible_connection") or "ssh"
        connection_type = self.registry.connections.get(kind) if type(kind) is str else None
        return connection_type is not None and connection_type.cooperative

    def waits_cooperatively(self, conn: Connection) -> bool:
        """Whether ``conn`` may be called on the hub (else its calls go to a helper thread)."""
        return type(conn) in self._cooperative_classes

    def _render_settings(
        self, variables: Mapping[str, Any], settings: Sequence[ConnectionSetting]
    ) -> Mapping[str, Any]:
        """Connection settings may be templates (``ansible_host: "{{ ip }}"``): render them.

        The generic ones come from :data:`corral.connection.GENERIC_SETTINGS`, the
        rest from the host's connection type; other variables are left as they are.
        """
        rendered: dict[str, Any] | None = None  # copied only when a setting is a template
        for setting in settings:
            value = variables.get(setting.name)
            if isinstance(value, str) and "{{" in value:
                if rendered is None:
                    rendered = dict(variables)
                try:
                    rendered[setting.name] = self.templar.render(value, variables)
                except CorralError as exc:
                    raise HostUnreachable(f"cannot work out {setting.name}: {exc}") from exc
                if setting.name in SECRET_VARIABLES and rendered[setting.name] is not None:
                    secret = keep_secret(rendered, [setting.name])[setting.name]
                    self.bus.add_secret(secret.reveal())
                    rendered[setting.name] = secret
        return variables if rendered is None else rendered

    def close_connections(self) -> None:
        for host in {key.partition(_AS)[0] for key in list(self._connections)}:
            self.reset_connection(host)


@dataclass
class PlayContext:
    """One play within a run: the play, its static variables, its magic variables."""

    run: RunContext
    play: Play
    play_vars: dict[str, Any]
    magic: dict[str, Any]
    ending: threading.Event = field(
        default_factory=threading.Event
    )  # meta: end_play, any_errors_fatal
    deadline: float | None = None  # time.monotonic() when the play's timeout runs out
    aborted: bool = False  # a limit ended the play: in file order, the run stops here too
