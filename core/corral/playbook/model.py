"""The typed model of a loaded playbook: frozen values, each with its location.

The loader builds these from YAML after validation; the engine only reads them.
Keyword values that may hold templates (``when``, ``loop``, ``args``...) stay
as the raw YAML values and are rendered per host at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from corral.errors import Location

if TYPE_CHECKING:
    from corral.playbook.prompts import Prompt

__all__ = ["Block", "Include", "Play", "Playbook", "RoleScope", "Task", "TaskNode", "Trigger"]


@dataclass(frozen=True, eq=False)
class RoleScope:
    """The role a task comes from: what it adds to the task's variables and file search.

    Role vars are not here: the loader puts them at the bottom of each task's
    ``vars`` (above play vars, below block and task vars, as in Ansible).
    """

    name: str  # as referenced: "web", "ns.coll.web"
    path: Path  # the role's directory, resolved
    defaults: Mapping[str, Any] = field(default_factory=dict)  # below inventory
    params: Mapping[str, Any] = field(default_factory=dict)  # above set_fact, below -e
    parents: tuple[RoleScope, ...] = ()  # the roles that included this one, newest first
    # Required options of its argument spec: the role's first task checks they are set.
    required: frozenset[str] = frozenset()

    @property
    def short_name(self) -> str:
        """``role_name``: the last part of a collection role's name."""
        return self.name.rsplit(".", 1)[-1] if self.name.count(".") == 2 else self.name


@dataclass(frozen=True)
class Task:
    """One task: a step with its arguments and the keywords that steer it."""

    name: str
    action: str  # the step type as written: "shell", "ansible.builtin.copy"
    args: Mapping[str, Any]
    location: Location
    when: tuple[Any, ...] = ()
    loop: Any = None
    loop_kind: str = ""  # "loop" or "with_<lookup>" (keywords.LOOP_KEYS)
    loop_control: Mapping[str, Any] = field(default_factory=dict)
    async_: Any = None  # ``async``: seconds the step may run, detached on the host
    poll: Any = None  # ``poll``: seconds between checks; 0 starts the job and goes on
    register: str | None = None
    until: tuple[Any, ...] = ()
    retries: Any = None
    delay: Any = None
    failed_when: tuple[Any, ...] | None = None
    changed_when: tuple[Any, ...] | None = None
    ignore_errors: Any = False
    ignore_unreachable: Any = False
    notify: tuple[str, ...] = ()
    listen: tuple[str, ...] = ()
    tags: frozenset[str] = frozenset()
    become: Any = None
    become_user: Any = None
    delegate_to: Any = None
    run_once: bool = False
    check_mode: Any = None
    diff: Any = None
    no_log: Any = False
    environment: Mapping[str, Any] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)
    timeout: Any = None
    retry: Mapping[str, Any] | None = None  # attempts, delay, backoff, max_delay, jitter, on
    throttle: Any = None  # at most this many hosts run the task at once
    connection: Any = None  # ``connection:``: the type, unless the host sets ansible_connection
    critical: Any = True  # False: a failure is a warning and the host goes on
    rollback: tuple[TaskNode, ...] = ()  # run in reverse completion order when the play fails
    templated_args: bool = False  # args hold templates: re-checked against the schema once rendered
    role: RoleScope | None = None
    uid: str = ""  # stable within the playbook: "play0/tasks/3", for the run store


@dataclass(frozen=True)
class Block:
    """``block`` with optional ``rescue`` and ``always``; keywords apply to every task inside."""

    name: str
    block: tuple[TaskNode, ...]
    rescue: tuple[TaskNode, ...]
    always: tuple[TaskNode, ...]
    location: Location
    uid: str = ""


@dataclass(frozen=True)
class Include:
    """``include_tasks`` (dynamic, per host) or ``import_tasks`` (static, loaded up front)."""

    file: Any  # may be a template for include_tasks
    static: bool
    location: Location
    tasks: tuple[TaskNode, ...] | None  # already loaded when the file name had no template
    name: str = ""
    when: tuple[Any, ...] = ()
    loop: Any = None
    loop_kind: str = ""
    loop_control: Mapping[str, Any] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    base_dir: Path = Path()
    inherited: Mapping[str, Any] = field(default_factory=dict)  # keywords for tasks loaded later
    uid: str = ""
    # The task files being included around this one, outermost first (resolved paths):
    # a dynamic include checks the file it names against them, as a static one does.
    stack: tuple[Path, ...] = ()
    role: RoleScope | None = None  # the role this include is in
    # For include_role: the role's arguments (name, tasks_from...), ``file`` is the name.
    role_args: Mapping[str, Any] | None = None


TaskNode = Task | Block | Include


@dataclass(frozen=True)
class Trigger:
    """One ``triggers:`` entry of a play: its type's name, its arguments, where it is written."""

    kind: str
    args: Mapping[str, Any]
    location: Location


@dataclass(frozen=True)
class Play:
    """One play of a playbook."""

    name: str
    hosts: str
    location: Location
    vars: Mapping[str, Any] = field(default_factory=dict)
    vars_files: tuple[Any, ...] = ()
    gather_facts: bool = True  # as in Ansible
    gather_facts_given: bool = False  # set in the play (else ansible.cfg's gathering decides)
    serial: tuple[Any, ...] = ()
    max_fail_percentage: float | None = None
    any_errors_fatal: bool = False
    strategy: Literal["linear", "free"] = "linear"
    pre_tasks: tuple[TaskNode, ...] = ()
    tasks: tuple[TaskNode, ...] = ()
    post_tasks: tuple[TaskNode, ...] = ()
    handlers: tuple[Task | Include, ...] = ()  # an include_tasks handler runs its file
    tags: frozenset[str] = frozenset()
    become: Any = None
    become_user: Any = None
    check_mode: Any = None
    environment: Mapping[str, Any] = field(default_factory=dict)
    order: str = "inventory"
    remote_user: Any = None  # ``remote_user`` or its older name ``user``; ansible_user wins
    connection: Any = None  # ``connection``: for Gathering Facts (tasks carry their own)
    run_once: bool = False
    ignore_errors: Any = None
    ignore_unreachable: Any = None
    no_log: Any = None
    needs: tuple[str, ...] = ()
    locks: tuple[str, ...] = ()  # named resources the run leases, besides its hosts
    max_failures: int | None = None
    timeout: Any = None  # the whole play's deadline
    rollback: tuple[TaskNode, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    approval: Mapping[str, Any] | None = None  # wait for a person before the play starts
    triggers: tuple[Trigger, ...] = ()  # what starts this playbook under corral serve
    uid: str = ""
    role_defaults: Mapping[str, Any] = field(default_factory=dict)  # of roles: and import_role
    role_vars: Mapping[str, Any] = field(default_factory=dict)  # exported, above vars_files
    role_names: tuple[str, ...] = ()  # roles: and import_role, in order
    all_role_names: tuple[str, ...] = ()  # with their dependencies
    # The values of the plugin play keywords this play sets, by keyword (PlayKeyword).
    extensions: Mapping[str, Any] = field(default_factory=dict)
    prompts: tuple[Prompt, ...] = ()  # vars_prompt: asked before the run (playbook.prompts)


@dataclass(frozen=True)
class Playbook:
    """A loaded, validated playbook file."""

    path: Path
    plays: tuple[Play, ...]
    text: str = ""
    files: tuple[Path, ...] = ()  # every file loaded: playbook, imports, task and var files
    warnings: tuple[str, ...] = ()  # what loading left for run time (`corral check` shows it)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def extensions(self) -> dict[str, tuple[Any, ...]]:
        """Per plugin play keyword, the values of the plays that set it, in play order."""
        values: dict[str, tuple[Any, ...]] = {}
        for play in self.plays:
            for name, value in play.extensions.items():
                values[name] = (*values.get(name, ()), value)
        return values
