"""The plugin manager and the registry built from it.

``make_plugin_manager`` loads the ``corral`` entry-point group (the built-in
plugins come in this way too) and checks every hook implementation against
``hookspecs``. ``build_registry`` asks each plugin, one at a time, what it
registers, so every step type, connection, trigger, inventory source, template
function, output and play keyword knows which plugin it came from. The engine only ever sees
the frozen :class:`Registry`; only this module calls ``pm.hook``.

Environment switches:

``CORRAL_DISABLE_PLUGIN_AUTOLOAD=1``
    load no entry points except those named in ``CORRAL_PLUGINS``.
``CORRAL_PLUGINS=a,b``
    with autoload disabled, the entry-point names (or importable module names)
    to load.
``CORRAL_DISABLE_PLUGINS=a,b``
    entry-point names never to load.
``CORRAL_TRACE_PLUGINS=1``
    print every hook call and its result to stderr.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from corral import hookspecs
from corral.connection import ConnectionType
from corral.errors import PluginLoadError
from corral.executors import ExecutorType
from corral.inventory.source import InventorySourceType
from corral.output import OutputType
from corral.playbook import keywords as core_keywords
from corral.playbook.module_names import with_ansible_names
from corral.playbook.play_keyword import PlayKeyword
from corral.playbook.templating.function_type import TemplateFunction
from corral.steps import StepType
from corral.triggers import TriggerType

if TYPE_CHECKING:
    import click

    from corral.policy.model import PlannedRun, Verdict
    from corral.run_info import RunInfo

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "Registry",
    "build_registry",
    "make_plugin_manager",
    "plugin_infos",
    "register_commands",
]

ENTRY_POINT_GROUP = "corral"
BUILTIN_DISTRIBUTION = "corral"


@dataclass(frozen=True)
class PluginInfo:
    """Where a loaded plugin came from."""

    name: str
    module: str
    distribution: str | None
    version: str | None

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DISTRIBUTION


@dataclass(frozen=True)
class Registry:
    """Everything the plugins registered, by name. Frozen once built."""

    steps: Mapping[str, StepType] = field(default_factory=dict)
    connections: Mapping[str, ConnectionType] = field(default_factory=dict)
    triggers: Mapping[str, TriggerType] = field(default_factory=dict)
    inventory_sources: tuple[InventorySourceType, ...] = ()
    template_functions: tuple[TemplateFunction, ...] = ()
    outputs: Mapping[str, OutputType] = field(default_factory=dict)
    play_keywords: Mapping[str, PlayKeyword] = field(default_factory=dict)
    executors: Mapping[str, ExecutorType] = field(default_factory=dict)
    plugins: tuple[PluginInfo, ...] = ()
    hooks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # plugin -> hook names
    pm: pluggy.PluginManager | None = field(default=None, compare=False, repr=False)

    def emit(self, event: Mapping[str, Any], run: RunInfo) -> list[tuple[str, BaseException]]:
        """Send ``event`` of ``run`` to every ``corral_event`` implementation.

        An implementation gets only the arguments it names (``corral_event(event)``
        predates ``run``). A failing observer never stops the run: its exception is
        returned with the plugin's name so the caller can report it as a warning.
        """
        if self.pm is None:
            return []
        errors: list[tuple[str, BaseException]] = []
        arguments = {"event": event, "run": run}
        for impl in self.pm.hook.corral_event.get_hookimpls():
            _trace(self.pm, "corral_event", impl.plugin_name)
            try:
                impl.function(**{name: arguments[name] for name in impl.argnames})
            except Exception as exc:
                errors.append((impl.plugin_name, exc))
        return errors

    def check_run(self, plan: PlannedRun) -> list[Verdict]:
        """Every ``corral_check_run`` plugin's verdicts on ``plan``, each with its plugin.

        A plugin that raises refuses the run: its error becomes a ``refuse`` verdict.
        """
        if self.pm is None:
            return []
        from corral.policy.model import Verdict

        found: list[Verdict] = []
        for impl in self.pm.hook.corral_check_run.get_hookimpls():  # in load order
            _trace(self.pm, "corral_check_run", impl.plugin_name)
            try:
                answer: Any = impl.function(**dict.fromkeys(impl.argnames, plan))
                answers = [answer] if isinstance(answer, Verdict) else list(answer or ())
                if not all(isinstance(v, Verdict) for v in answers):
                    raise TypeError("corral_check_run must return Verdict values")
            except Exception as exc:
                answers = [
                    Verdict(
                        rule="plugin error",
                        outcome="refuse",
                        reason=f"{type(exc).__name__}: {exc}",
                        hint=f"fix or disable plugin {impl.plugin_name!r} (CORRAL_DISABLE_PLUGINS)",
                    )
                ]
            found.extend(replace(v, plugin=impl.plugin_name) for v in answers)
        return found


def _split_names(value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def _entry_point_error(ep: EntryPoint, exc: BaseException) -> PluginLoadError:
    dist = ep.dist
    where = f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"
    return PluginLoadError(
        f"plugin {ep.name!r} (from {where}) failed to load: {type(exc).__name__}: {exc}",
        hint=f"fix or uninstall it, or run with CORRAL_DISABLE_PLUGINS={ep.name}",
    )


def make_plugin_manager(
    environ: Mapping[str, str] | None = None,
    *,
    extra_plugins: Sequence[tuple[str, object]] = (),
) -> pluggy.PluginManager:
    """Build a plugin manager with the hookspecs, the entry-point plugins and ``extra_plugins``.

    ``extra_plugins`` are ``(name, plugin)`` pairs registered after the entry
    points (tests and embedding programs use them). Raises
    :class:`PluginLoadError` naming the plugin when one fails to import or
    implements a hook that does not exist.
    """
    env = environ if environ is not None else {}
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    for name in _split_names(env.get("CORRAL_DISABLE_PLUGINS")):
        pm.set_blocked(name)

    autoload = env.get("CORRAL_DISABLE_PLUGIN_AUTOLOAD", "") in ("", "0", "false")
    wanted = _split_names(env.get("CORRAL_PLUGINS"))
    infos: dict[str, PluginInfo] = {}
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    origins: dict[int, tuple[str | None, str | None]] = {}  # per distribution: name, version
    for ep in found.values():
        if (autoload or ep.name in wanted) and not pm.is_blocked(ep.name):
            _load_entry_point(pm, ep, infos, origins)
    if not autoload:
        for name in wanted:
            if name not in found and not pm.is_blocked(name):
                _load_module(pm, name, infos)
    for name, plugin in extra_plugins:
        pm.register(plugin, name=name)
        infos[name] = PluginInfo(name, getattr(plugin, "__name__", repr(plugin)), None, None)

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(
            f"plugin {pm.get_name(exc.plugin)!r} implements an unknown hook: {exc}",
            hint="hook names start with corral_; see docs/plugins.md for the list",
        ) from exc
    pm.corral_trace = env.get("CORRAL_TRACE_PLUGINS", "") not in ("", "0", "false")  # type: ignore[attr-defined]
    pm.corral_plugin_infos = infos  # type: ignore[attr-defined]
    return pm


def _load_entry_point(
    pm: pluggy.PluginManager,
    ep: EntryPoint,
    infos: dict[str, PluginInfo],
    origins: dict[int, tuple[str | None, str | None]],
) -> None:
    try:
        plugin = ep.load()
        pm.register(plugin, name=ep.name)
    except Exception as exc:
        raise _entry_point_error(ep, exc) from exc
    dist = ep.dist
    origin = origins.get(id(dist))
    if origin is None:
        # Each name or version lookup parses the distribution's METADATA again: once
        # per distribution, not twice per entry point (20 ms of every command's start).
        metadata = dist.metadata if dist is not None else None
        origin = (None, None) if metadata is None else (metadata["Name"], metadata["Version"])
        origins[id(dist)] = origin
    infos[ep.name] = PluginInfo(ep.name, ep.value, *origin)


def _load_module(pm: pluggy.PluginManager, name: str, infos: dict[str, PluginInfo]) -> None:
    try:
        module = importlib.import_module(name)
        pm.register(module, name=name)
    except Exception as exc:
        raise PluginLoadError(
            f"plugin {name!r} named in CORRAL_PLUGINS failed to load: {type(exc).__name__}: {exc}",
            hint="CORRAL_PLUGINS takes entry-point names or importable module names",
        ) from exc
    infos[name] = PluginInfo(name, name, None, None)


def _trace(pm: pluggy.PluginManager, hook_name: str, plugin_name: str) -> None:
    """Report one hook call when ``CORRAL_TRACE_PLUGINS`` is on.

    Registration and event hooks are called one implementation at a time (so
    each result knows its plugin), which pluggy's call monitoring cannot see.
    """
    if getattr(pm, "corral_trace", False):
        print(f"corral trace: {hook_name} -> {plugin_name}", file=sys.stderr)


def plugin_infos(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """The loaded plugins, in load order."""
    infos: dict[str, PluginInfo] = getattr(pm, "corral_plugin_infos", {})
    # Blocked names (CORRAL_DISABLE_PLUGINS) stay listed by pluggy with no plugin object.
    return [
        infos.get(name) or PluginInfo(name, "", None, None)
        for name, plugin in pm.list_name_plugin()
        if plugin is not None
    ]


T = TypeVar("T")


def _collect(
    pm: pluggy.PluginManager,
    caller: pluggy.HookCaller,
    what: str,
    names: Callable[[T], Iterable[str]],
) -> tuple[dict[str, T], list[T]]:
    """Call a registration hook one plugin at a time, stamping and de-duplicating names."""
    by_name: dict[str, T] = {}
    ordered: list[T] = []
    # get_hookimpls() is in registration order (pluggy *calls* them in reverse).
    for impl in caller.get_hookimpls():
        origin = impl.plugin_name
        _trace(pm, caller.name, origin)

        def register(item: T, _origin: str = origin) -> None:
            stamped = replace(item, plugin=_origin)  # type: ignore[type-var]  # all are dataclasses
            for name in names(stamped):
                other = by_name.get(name)
                if other is not None:
                    raise PluginLoadError(
                        f"{what} {name!r} is registered by both plugin "
                        f"{getattr(other, 'plugin', '?')!r} and plugin {_origin!r}",
                        hint=f"uninstall one, or disable it with CORRAL_DISABLE_PLUGINS={_origin}",
                    )
                by_name[name] = stamped
            ordered.append(stamped)

        try:
            impl.function(register=register)
        except PluginLoadError:
            raise
        except Exception as exc:
            raise PluginLoadError(
                f"plugin {origin!r} failed while registering {what}s: {type(exc).__name__}: {exc}",
                hint=f"disable it with CORRAL_DISABLE_PLUGINS={origin}",
            ) from exc
    return by_name, ordered


def build_registry(pm: pluggy.PluginManager) -> Registry:
    """Ask every plugin what it registers and return the frozen result."""
    hook = pm.hook
    steps: dict[str, StepType]
    connections: dict[str, ConnectionType]
    triggers: dict[str, TriggerType]
    sources: list[InventorySourceType]
    functions: list[TemplateFunction]
    outputs: dict[str, OutputType]
    play_keywords: dict[str, PlayKeyword]
    executors: dict[str, ExecutorType]
    steps, _ = _collect(pm, hook.corral_register_steps, "step type", lambda s: (s.name, *s.aliases))
    steps = with_ansible_names(steps)  # ansible.builtin.<name> for every step
    connections, _ = _collect(
        pm, hook.corral_register_connections, "connection", lambda c: (c.name, *c.aliases)
    )
    triggers, _ = _collect(pm, hook.corral_register_triggers, "trigger", lambda t: (t.name,))
    _, sources = _collect(
        pm, hook.corral_register_inventory_sources, "inventory source", lambda s: (s.name,)
    )
    _, functions = _collect(
        pm, hook.corral_register_filters, "template function", lambda f: (f"{f.kind} {f.name}",)
    )
    outputs, _ = _collect(pm, hook.corral_register_outputs, "output", lambda o: (o.name,))
    play_keywords, _ = _collect(
        pm, hook.corral_register_play_keywords, "play keyword", _plugin_keyword_names
    )
    executors, _ = _collect(pm, hook.corral_register_executors, "executor", lambda e: (e.name,))
    infos = plugin_infos(pm)
    # The documented order (docs/plugins.md): other plugins' sources in load order, so
    # that an installed plugin can take over a file, then corral's own readers.
    builtin = {info.name for info in infos if info.builtin}
    sources.sort(key=lambda source: source.plugin in builtin)
    hooks = {
        name: tuple(sorted(c.name for c in pm.get_hookcallers(plugin) or ()))
        for name, plugin in pm.list_name_plugin()
        if plugin is not None
    }
    return Registry(
        steps=steps,
        connections=connections,
        triggers=triggers,
        inventory_sources=tuple(sources),
        template_functions=tuple(functions),
        outputs=outputs,
        play_keywords=play_keywords,
        executors=executors,
        plugins=tuple(infos),
        hooks=hooks,
        pm=pm,
    )


def _plugin_keyword_names(keyword: PlayKeyword) -> tuple[str]:
    """A plugin's play keyword may not take the place of one of the core's."""
    if keyword.name in core_keywords.PLAY:
        raise PluginLoadError(
            f"plugin {keyword.plugin!r} registers play keyword {keyword.name!r}, "
            "which is one of corral's own",
            hint=f"rename it, or disable the plugin with CORRAL_DISABLE_PLUGINS={keyword.plugin}",
        )
    return (keyword.name,)


def register_commands(pm: pluggy.PluginManager, cli: click.Group) -> None:
    """Let every plugin add its subcommands to ``cli``."""
    for impl in pm.hook.corral_register_commands.get_hookimpls():
        _trace(pm, "corral_register_commands", impl.plugin_name)
        try:
            impl.function(cli=cli)
        except Exception as exc:
            raise PluginLoadError(
                f"plugin {impl.plugin_name!r} failed while adding commands: "
                f"{type(exc).__name__}: {exc}",
                hint=f"disable it with CORRAL_DISABLE_PLUGINS={impl.plugin_name}",
            ) from exc
