"""corral: Ansible-style playbooks, run by a small core and a set of pluggy plugins.

Plugins import the ``hookimpl`` marker and the value types from here::

    from corral import RegisterStep, StepResult, StepType, hookimpl
"""

from __future__ import annotations

from pluggy import HookimplMarker

from corral.connection import (
    CAPABILITIES,
    MAKE_DIRS,
    READ_FILE,
    Become,
    CommandResult,
    Connection,
    ConnectionSetting,
    ConnectionType,
    FileContent,
    FileStat,
)
from corral.errors import (
    CorralError,
    HostUnreachable,
    InventoryError,
    Location,
    PlaybookError,
    PluginLoadError,
    StepFailed,
    TemplateError,
    UsageError,
)
from corral.executors import Executor, ExecutorType, UnitWork
from corral.hookspecs import (
    RegisterConnection,
    RegisterExecutor,
    RegisterInventorySource,
    RegisterOutput,
    RegisterPlayKeyword,
    RegisterStep,
    RegisterTemplateFunction,
    RegisterTrigger,
)
from corral.inventory.source import InventoryBuilder, InventorySourceType
from corral.output import OutputOptions, OutputType
from corral.playbook.play_keyword import KeywordValue, PlayKeyword
from corral.playbook.templating.function_type import LookupScope, TemplateFunction
from corral.policy.model import PlannedPlay, PlannedRun, Verdict
from corral.run_info import RunInfo
from corral.secrets import Secret
from corral.steps import AddHost, StepContext, StepResult, StepType, lazy_step
from corral.triggers import HookAnswer, HookRequest, Receiver, TriggerContext, TriggerType

__version__ = "0.1.0"

hookimpl = HookimplMarker("corral")
"""Marks a plugin function as an implementation of a ``corral_*`` hook."""

__all__ = [
    "CAPABILITIES",
    "MAKE_DIRS",
    "READ_FILE",
    "AddHost",
    "Become",
    "CommandResult",
    "Connection",
    "ConnectionSetting",
    "ConnectionType",
    "CorralError",
    "Executor",
    "ExecutorType",
    "FileContent",
    "FileStat",
    "HookAnswer",
    "HookRequest",
    "HostUnreachable",
    "InventoryBuilder",
    "InventoryError",
    "InventorySourceType",
    "KeywordValue",
    "Location",
    "LookupScope",
    "OutputOptions",
    "OutputType",
    "PlannedPlay",
    "PlannedRun",
    "PlayKeyword",
    "PlaybookError",
    "PluginLoadError",
    "Receiver",
    "RegisterConnection",
    "RegisterExecutor",
    "RegisterInventorySource",
    "RegisterOutput",
    "RegisterPlayKeyword",
    "RegisterStep",
    "RegisterTemplateFunction",
    "RegisterTrigger",
    "RunInfo",
    "Secret",
    "StepContext",
    "StepFailed",
    "StepResult",
    "StepType",
    "TemplateError",
    "TemplateFunction",
    "TriggerContext",
    "TriggerType",
    "UnitWork",
    "UsageError",
    "Verdict",
    "__version__",
    "hookimpl",
    "lazy_step",
]
