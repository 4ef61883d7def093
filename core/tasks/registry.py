"""Finding the tasks: every module of ``core.tasks`` with a ``TASK``, and any you add.

There is no list of tasks to edit. A module that declares ``TASK = TaskSpec(...)``
is a task; the navigation, Home, My runs, the admin page and the tests all read
them from here. Your own tasks can live outside this repository: name their
modules or packages (a package means each of its modules) in the environment
variable ``TASKGATE_TASK_MODULES``, comma-separated, e.g.
``TASKGATE_TASK_MODULES=acme_tasks,lab.render``. It is read from the
environment rather than from Taskgate's settings because every process that
runs tasks needs it, before and without the app's settings.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
from collections.abc import Iterable, Mapping
from types import ModuleType

from core.tasks.task import TaskSpec

TASK_MODULES_VARIABLE = "TASKGATE_TASK_MODULES"
BUILT_IN = "core.tasks"


class TaskDefinitionError(RuntimeError):
    """A task module cannot be used: the message names the module and what is wrong."""


def discover(names: Iterable[str]) -> dict[str, TaskSpec]:
    """Every ``TASK`` in the modules named, and in each module of the packages named."""
    found: dict[str, tuple[TaskSpec, str]] = {}
    for name in names:
        for module in _modules(name):
            task = getattr(module, "TASK", None)
            if task is None:
                continue
            if not isinstance(task, TaskSpec):
                raise TaskDefinitionError(f"{module.__name__}.TASK is not a TaskSpec.")
            if task.key in found:
                raise TaskDefinitionError(
                    f"Task key {task.key!r} is declared by both {found[task.key][1]} "
                    f"and {module.__name__}; keys must be unique."
                )
            found[task.key] = (task, module.__name__)
    return {key: task for key, (task, _) in found.items()}


def configured_names(environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The built-in package, then what ``TASKGATE_TASK_MODULES`` names."""
    extra = [name.strip() for name in environ.get(TASK_MODULES_VARIABLE, "").split(",")]
    return (BUILT_IN, *[name for name in extra if name])


@functools.cache
def _tasks(names: tuple[str, ...]) -> dict[str, TaskSpec]:
    return discover(names)


def tasks() -> dict[str, TaskSpec]:
    """Every task of this process, by key, in discovery order (built-in ones first)."""
    return _tasks(configured_names())


def get(key: str) -> TaskSpec:
    """The task called ``key``; KeyError names the known keys if there is none."""
    known = tasks()
    try:
        return known[key]
    except KeyError:
        raise KeyError(f"No task {key!r}; known tasks: {', '.join(known)}.") from None


def _modules(name: str) -> list[ModuleType]:
    module = _import(name, name)
    if not hasattr(module, "__path__"):
        return [module]
    return [module] + [
        _import(f"{name}.{info.name}", name)
        for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda info: info.name)
        if not info.ispkg
    ]


def _import(module: str, named: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        where = "" if module == named else f" (in package {named})"
        raise TaskDefinitionError(
            f"Task module {module}{where} cannot be imported: {error}."
        ) from error
