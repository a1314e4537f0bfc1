"""Load a playbook: YAML with marks, keyword checks, step argument schemas, the typed model.

Everything a user can get wrong is reported here, before any host is touched,
as a :class:`PlaybookError` at ``file:line:col`` with a hint where one helps.
Keywords set on a play or block are pushed down to the tasks inside at load
time (``when`` conditions accumulate, ``tags`` join, ``vars`` layer), so the
engine reads everything it needs from each :class:`Task`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from corral.errors import Location, PlaybookError
from corral.playbook import keywords as kw
from corral.playbook.args import check_args, convert_args, is_templated, merge_args, normalize_args
from corral.playbook.filenames import usable_path
from corral.playbook.graph import check_graph
from corral.playbook.handlers import check_notify
from corral.playbook.include_chain import check_include_chain
from corral.playbook.keyword_check import check_keywords, key_location
from corral.playbook.keyword_values import (
    approval_spec,
    as_tuple,
    bool_or_template,
    count,
    describe_kind,
    environment_layer,
    item_location,
    lock_names,
    loop_of,
    on_key,
    percentage,
    remote_user_of,
    tags_of,
)
from corral.playbook.model import Block, Include, Play, Playbook, Task, TaskNode
from corral.playbook.play_keyword import PlayKeyword, check_play_keywords
from corral.playbook.play_triggers import load_triggers
from corral.playbook.prompts import load_prompts
from corral.playbook.roles.load import PlayRoles, handler_tasks
from corral.playbook.roles.search import role_environ
from corral.playbook.roles.tasks import ROLE_ACTIONS, load_play_roles, load_role_task
from corral.playbook.task_forms import UnknownStep, expand_task_forms, find_step
from corral.playbook.vars_files import load_vars_files
from corral.playbook.yaml.load import load_yaml_file, mark_of
from corral.playbook.yaml.marked import unmark
from corral.steps import StepType
from corral.triggers import TriggerType

__all__ = ["display_path", "load_included_tasks", "load_playbook", "load_task_file"]

_INHERITABLE = kw.INHERITABLE
_IDENTIFIER = re.compile(kw.IDENTIFIER)


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def _where(node: Any, fallback: Location) -> Location:
    return mark_of(node) or fallback


class _Loader:
    """Turns YAML nodes into the model; one per playbook load."""

    def __init__(
        self,
        steps: Mapping[str, StepType],
        play_keywords: Mapping[str, PlayKeyword] = {},
        environ: Mapping[str, str] | None = None,
        triggers: Mapping[str, TriggerType] = {},
    ) -> None:
        self.steps = steps
        self.triggers = triggers
        # Only what role search reads (ANSIBLE_ROLES_PATH...), kept for includes at run time.
        self.role_env = role_environ(environ)
        self.play_keywords = play_keywords  # the plugins' own, beside the core's kw.PLAY
        self.play_schema = {**kw.PLAY, **{n: k.schema for n, k in play_keywords.items()}}
        self.files: list[Path] = []  # every file read, for the run store's snapshot
        self.roles: PlayRoles | None = None  # what the current play's roles add to it
        self.warnings: list[str] = []  # problems left for run time, for `corral check`

    def play_roles(self, inherited: Mapping[str, Any]) -> PlayRoles:
        """The current play's roles; a loader made at run time starts its own."""
        if self.roles is None:
            self.roles = PlayRoles(
                Path(inherited.get("playbook_dir") or Path.cwd()), inherited.get("role_env")
            )
        return self.roles

    # -- plays -------------------------------------------------------------

    def load_playbook(self, path: Path, stack: tuple[Path, ...] = ()) -> list[Play]:
        data = self._read(path, Location(display_path(path)))
        location = Location(display_path(path), 1, 1)
        if data is None:
            raise PlaybookError(
                "the playbook is empty", hint="a playbook is a list of plays", location=location
            )
        if not isinstance(data, list):
            raise PlaybookError(
                f"a playbook must be a list of plays, got {describe_kind(data)}",
                hint="start each play with '- hosts: ...'",
                location=_where(data, location),
            )
        plays: list[Play] = []
        for index, node in enumerate(data):
            where = item_location(data, index, location)
            if isinstance(node, Mapping) and "import_playbook" in node:
                plays.extend(self._import_playbook(node, path, stack, where))
                continue
            plays.append(self.load_play(node, len(plays), path.parent, where))
        return plays

    def _import_playbook(
        self, node: Mapping[str, Any], path: Path, stack: tuple[Path, ...], where: Location
    ) -> list[Play]:
        target = usable_path(path.parent / str(node["import_playbook"]), where).resolve()
        if target in stack or target == path.resolve():
            raise PlaybookError(
                f"playbook import cycle: {target.name} imports itself", location=where
            )
        return self.load_playbook(target, (*stack, path.resolve()))

    def load_play(self, node: Any, index: int, base_dir: Path, where: Location) -> Play:
        if not isinstance(node, Mapping):
            raise PlaybookError(
                f"a play must be a mapping, got {describe_kind(node)}",
                hint="a play looks like '- hosts: web' followed by its keywords",
                location=_where(node, where),
            )
        where = _where(node, where)
        check_keywords(node, self.play_schema, "play keyword", where, self.play_keywords)
        if "hosts" not in node:
            raise PlaybookError(
                "play has no 'hosts'", hint="add 'hosts: all' or a host pattern", location=where
            )
        hosts = node["hosts"]
        hosts_text = ",".join(str(h) for h in hosts) if isinstance(hosts, list) else str(hosts)
        uid = f"play{index}"
        inherited = self._inherit({}, node)
        inherited["timeout"] = None  # a play's timeout is the play's deadline, not each task's
        inherited["vars"] = {}  # play vars sit below vars_files; the engine layers them
        inherited["playbook_dir"] = base_dir
        inherited["role_env"] = self.role_env
        collections = tuple(str(c) for c in as_tuple(node.get("collections")))
        roles = self.roles = PlayRoles(base_dir, self.role_env, collections=collections)
        sections: dict[str, tuple[TaskNode, ...]] = {}
        sections["pre_tasks"] = self.load_tasks(
            node.get("pre_tasks"), f"{uid}/pre_tasks", inherited, base_dir, where, ()
        )
        # Roles run after pre_tasks and their handlers, before tasks (Ansible's order).
        role_where = key_location(node, "roles", where)
        role_nodes = load_play_roles(
            self, node.get("roles"), f"{uid}/roles", inherited, roles, role_where
        )
        for section in ("tasks", "post_tasks"):
            sections[section] = self.load_tasks(
                node.get(section), f"{uid}/{section}", inherited, base_dir, where, ()
            )
        sections["tasks"] = (*role_nodes, *sections["tasks"])
        handlers = self.load_tasks(
            node.get("handlers"), f"{uid}/handlers", inherited, base_dir, where, ()
        )
        own_handlers = handler_tasks(handlers, key_location(node, "handlers", where))
        return Play(
            name=str(node.get("name") or hosts_text),
            hosts=hosts_text,
            location=where,
            vars=unmark(dict(node.get("vars") or {})),
            vars_files=load_vars_files(self._read, node.get("vars_files"), base_dir, where),
            prompts=load_prompts(node.get("vars_prompt"), key_location(node, "vars_prompt", where)),
            gather_facts=bool_or_template(node.get("gather_facts", True)),
            gather_facts_given="gather_facts" in node,
            serial=as_tuple(node.get("serial")),
            max_fail_percentage=percentage(node.get("max_fail_percentage"), where),
            any_errors_fatal=bool(node.get("any_errors_fatal", False)),
            strategy=node.get("strategy", "linear"),
            pre_tasks=sections["pre_tasks"],
            tasks=sections["tasks"],
            post_tasks=sections["post_tasks"],
            handlers=(*roles.handlers, *own_handlers),
            tags=tags_of(node.get("tags")),
            order=str(node.get("order", "inventory")),
            remote_user=unmark(remote_user_of(node, where)),
            connection=unmark(node.get("connection")),
            environment=unmark(environment_layer(node.get("environment"))),
            extensions=check_play_keywords(
                node, self.play_keywords, lambda key: key_location(node, key, where)
            ),
            needs=tuple(str(n) for n in as_tuple(node.get("needs"))),
            locks=lock_names(node.get("locks"), key_location(node, "locks", where)),
            triggers=load_triggers(
                node.get("triggers"), self.triggers, key_location(node, "triggers", where)
            ),
            max_failures=count(node.get("max_failures"), where),
            timeout=unmark(node.get("timeout")),
            rollback=self.load_tasks(
                node.get("rollback"), f"{uid}/rollback", inherited, base_dir, where, ()
            ),
            params=unmark(dict(node.get("params") or {})),
            approval=approval_spec(unmark(node.get("approval"))),
            uid=uid,
            role_defaults=roles.defaults,
            role_vars=roles.vars,
            role_names=tuple(roles.names),
            all_role_names=tuple(dict.fromkeys(roles.all_names)),
        )

    # -- tasks -------------------------------------------------------------

    def load_tasks(
        self,
        value: Any,
        uid: str,
        inherited: Mapping[str, Any],
        base_dir: Path,
        where: Location,
        stack: tuple[Path, ...],
    ) -> tuple[TaskNode, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise PlaybookError(
                f"a task list must be a list, got {describe_kind(value)}",
                hint="each task starts with '- '",
                location=_where(value, where),
            )
        nodes: list[TaskNode] = []
        for index, node in enumerate(value):
            item_where = item_location(value, index, where)
            nodes.append(
                self.load_task(node, f"{uid}/{index}", inherited, base_dir, item_where, stack)
            )
        return tuple(nodes)

    def load_task(
        self,
        node: Any,
        uid: str,
        inherited: Mapping[str, Any],
        base_dir: Path,
        where: Location,
        stack: tuple[Path, ...],
    ) -> TaskNode:
        if not isinstance(node, Mapping):
            raise PlaybookError(
                f"a task must be a mapping, got {describe_kind(node)}",
                hint="a task looks like '- name: ...' followed by a step such as 'shell: ...'",
                location=_where(node, where),
            )
        where = _where(node, where)
        node = expand_task_forms(node, where)  # action:, local_action:, ansible.builtin.*
        if "block" in node:
            return self._load_block(node, uid, inherited, base_dir, where, stack)
        if "include_tasks" in node or "import_tasks" in node:
            return self._load_include(node, uid, inherited, base_dir, where, stack)
        if any(key in ROLE_ACTIONS for key in node):
            return load_role_task(self, node, uid, inherited, where, stack)
        action = self._find_action(node, where)
        step = self.steps[action]
        check_keywords(node, kw.TASK, "task keyword", where, ignore={action})
        action_where = key_location(node, action, where)
        args = normalize_args(step, node[action], action_where)
        args = merge_args(step, args, node.get("args"))
        args = convert_args(step, args, action_where, source=node[action])
        check_args(step, args, action_where, source=node[action])
        merged = self._inherit(inherited, node)
        loop, loop_kind = loop_of(node, where)
        register = node.get("register")
        if register is not None and not _IDENTIFIER.match(str(register)):
            raise PlaybookError(
                f"invalid register name {register!r}",
                hint="a variable name is letters, digits and underscores, "
                "not starting with a digit",
                location=key_location(node, "register", where),
            )
        if step.once_per_batch:
            merged["run_once"] = True  # e.g. one person answers for the whole batch
        name = str(node.get("name") or action)
        if merged["role"] is not None:  # shown as Ansible shows it: "web : install"
            name = f"{merged['role'].name} : {name}"
        return Task(
            name=name,
            action=action,
            args=unmark(args),
            location=where,
            when=unmark((*merged["when"], *as_tuple(node.get("when")))),
            loop=unmark(loop),
            loop_kind=loop_kind,
            loop_control=unmark(dict(node.get("loop_control") or {})),
            async_=unmark(node.get("async")),
            poll=unmark(node.get("poll")),
            register=unmark(register),
            until=unmark(as_tuple(node.get("until"))),
            retries=unmark(node.get("retries")),
            delay=unmark(node.get("delay")),
            failed_when=unmark(as_tuple(node["failed_when"])) if "failed_when" in node else None,
            changed_when=unmark(as_tuple(node["changed_when"])) if "changed_when" in node else None,
            notify=tuple(str(n) for n in as_tuple(node.get("notify"))),
            listen=tuple(str(n) for n in as_tuple(node.get("listen"))),
            tags=merged["tags"],
            vars=unmark(merged["vars"]),
            environment=unmark(merged["environment"]),
            templated_args=is_templated(args),
            role=merged["role"],
            retry=on_key(unmark(node.get("retry"))),
            critical=unmark(node.get("critical", True)),
            rollback=self.load_tasks(
                node.get("rollback"), f"{uid}/rollback", inherited, base_dir, where, stack
            ),
            **{k: unmark(merged[k]) for k in _INHERITABLE if k not in ("environment",)},
            uid=uid,
        )

    def _find_action(self, node: Mapping[str, Any], where: Location) -> str:
        return find_step(node, where, self.steps)

    def _load_block(
        self,
        node: Mapping[str, Any],
        uid: str,
        inherited: Mapping[str, Any],
        base_dir: Path,
        where: Location,
        stack: tuple[Path, ...],
    ) -> Block:
        check_keywords(node, kw.BLOCK, "block keyword", where)
        merged = self._inherit(inherited, node)
        merged["when"] = (*merged["when"], *as_tuple(node.get("when")))
        sections = {
            section: self.load_tasks(
                node.get(section), f"{uid}/{section}", merged, base_dir, where, stack
            )
            for section in ("block", "rescue", "always")
        }
        return Block(name=str(node.get("name") or ""), location=where, uid=uid, **sections)

    def _load_include(
        self,
        node: Mapping[str, Any],
        uid: str,
        inherited: Mapping[str, Any],
        base_dir: Path,
        where: Location,
        stack: tuple[Path, ...],
    ) -> Include:
        check_keywords(node, kw.INCLUDE, "include keyword", where)
        static = "import_tasks" in node
        key = "import_tasks" if static else "include_tasks"
        target = node[key]
        if isinstance(target, Mapping):
            target = target.get("file")
        merged = self._inherit(inherited, node)
        merged["when"] = (*merged["when"], *(as_tuple(node.get("when")) if static else ()))
        tasks = None
        if not is_templated(target):
            try:
                tasks = load_task_file(
                    self, base_dir / str(target), uid, merged, key_location(node, key, where), stack
                )
            except UnknownStep as exc:
                if static or not ("when" in node or merged["when"]):
                    raise
                # Ansible reads an include_tasks file only when a host gets there, and roles
                # keep each platform's tasks in a file of their own (setup-Archlinux.yml with
                # pacman): a step corral lacks there fails a host that reaches it, at run time.
                self.warnings.append(f"{exc}: a host that includes this file fails there")
        elif static:
            raise PlaybookError(
                "import_tasks needs a file name without templates",
                hint="use include_tasks for a dynamic name",
                location=key_location(node, key, where),
            )
        loop, loop_kind = loop_of(node, where)
        name = str(node.get("name") or key)
        if merged["role"] is not None:  # as Ansible names it: "web : include_tasks"
            name = f"{merged['role'].name} : {name}"
        return Include(
            file=unmark(target),
            static=static,
            location=where,
            tasks=tasks,
            name=name,
            when=() if static else unmark(as_tuple(node.get("when"))),
            loop=unmark(loop),
            loop_kind=loop_kind,
            loop_control=unmark(dict(node.get("loop_control") or {})),
            vars=unmark(dict(node.get("vars") or {})),
            tags=tags_of(node.get("tags")),
            base_dir=base_dir,
            inherited=unmark(merged),
            uid=uid,
            stack=stack,
            role=merged["role"],
        )

    # -- helpers -----------------------------------------------------------

    def _inherit(self, inherited: Mapping[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {k: inherited.get(k) for k in _INHERITABLE}
        merged["when"] = tuple(inherited.get("when", ()))
        merged["role"] = inherited.get("role")  # a role's tasks, and what they include
        merged["playbook_dir"] = inherited.get("playbook_dir")
        merged["role_env"] = inherited.get("role_env")
        merged["tags"] = frozenset(inherited.get("tags", frozenset())) | tags_of(node.get("tags"))
        merged["vars"] = {**inherited.get("vars", {}), **dict(node.get("vars") or {})}
        merged["environment"] = {
            **inherited.get("environment", {}),
            **environment_layer(node.get("environment")),
        }
        for key in _INHERITABLE:
            if key in node and key != "environment":
                merged[key] = node[key]
        return merged

    def _read(self, path: Path, where: Location) -> Any:
        if not path.exists():
            raise PlaybookError(f"file not found: {display_path(path)}", location=where)
        data = load_yaml_file(path, display_name=display_path(path))
        self.files.append(path)
        return data


def load_task_file(
    loader: _Loader,
    path: Path,
    uid: str,
    inherited: Mapping[str, Any],
    where: Location,
    stack: tuple[Path, ...],
) -> tuple[TaskNode, ...]:
    """Load a task file for ``import_tasks``/``include_tasks``, refusing include cycles."""
    resolved = usable_path(path, where).resolve()
    check_include_chain(resolved, stack, where)
    if not path.is_file():
        raise PlaybookError(
            f"task file not found: {display_path(path)}",
            hint="paths are relative to the including file",
            location=where,
        )
    data = loader._read(path, where)
    file_where = Location(display_path(path), 1, 1)
    return loader.load_tasks(data, uid, inherited, path.parent, file_where, (*stack, resolved))


def load_included_tasks(
    steps: Mapping[str, StepType], include: Include, name: str
) -> tuple[TaskNode, ...]:
    """Load the file a dynamic ``include_tasks`` names, once its name is rendered for a host.

    The files already being included around it count, so a file that includes itself
    through a template is a cycle here as it is for a static include.
    """
    return load_task_file(
        _Loader(steps),
        include.base_dir / name,
        include.uid,
        include.inherited,
        include.location,
        include.stack,
    )


def load_playbook(
    path: Path,
    steps: Mapping[str, StepType],
    play_keywords: Mapping[str, PlayKeyword] = {},
    environ: Mapping[str, str] | None = None,
    triggers: Mapping[str, TriggerType] = {},
) -> Playbook:
    """Load and validate the playbook at ``path`` against the registered step types.

    ``play_keywords`` are the plugins' play keywords; a play using one that is not
    registered is an error, as for any unknown keyword. ``environ`` is where
    ``ANSIBLE_ROLES_PATH`` and ``ANSIBLE_COLLECTIONS_PATH`` are read (default: os.environ).
    ``triggers`` are the registered trigger types that ``triggers:`` entries may name.
    """
    loader = _Loader(steps, play_keywords, environ, triggers)
    plays = loader.load_playbook(path)
    check_graph(plays)
    check_notify(plays)
    text = path.read_text(encoding="utf-8", errors="replace")
    files = tuple(dict.fromkeys(p.resolve() for p in loader.files))
    return Playbook(
        path=path, plays=tuple(plays), text=text, files=files, warnings=tuple(loader.warnings)
    )
