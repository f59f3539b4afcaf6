"""The oslo.config options that describe an executor, and their sample for oslo-config-generator.

A group (``[futurist]`` unless told otherwise) holds the common options -- ``executor``,
``max_workers``, ``max_backlog`` (with ``backlog_policy`` and ``backlog_timeout``) -- and the
options of its kind, declared by the kind's class through a ``config_options()`` classmethod. A
service registers only what the kind it builds needs (:func:`register_kind_opts`); listings (the
sample, ``futurist executors``) load every kind, and there the help of each option says which
kinds read it. :func:`list_opts` (the
``oslo.config.opts`` entry point) lists futurist's own kinds, so the generated sample does not
depend on which third-party plugins are installed.
"""

from __future__ import annotations

import concurrent.futures
import copy
import functools
import inspect
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from oslo_config import cfg

from futurist.exceptions import ExecutorPluginError, PluginLoadError
from futurist.executors.base import Executor
from futurist.naming import callable_name
from futurist.option_types import Interval
from futurist.plugins import registry

__all__ = [
    "COMMON_OPTION_NAMES",
    "DEFAULT_GROUP",
    "OBSERVING_OPTIONS",
    "accepts",
    "builtin_kinds",
    "check_group",
    "common_options",
    "declared_options",
    "kind_options",
    "list_opts",
    "options_read_by",
    "register_kind_opts",
    "register_opts",
    "runtime_common_options",
    "runtime_kind_options",
]

LOG = logging.getLogger(__name__)

DEFAULT_GROUP = "futurist"
"""The group an executor's options live in unless the service names another."""

COMMON_OPTION_NAMES = frozenset(
    {
        "executor",
        "max_workers",
        "max_backlog",
        "backlog_policy",
        "backlog_timeout",
        "log_unread_failures",
        "propagate_context",
    }
)
"""Options every group has, whatever its kind."""

_FUTURIST_DISTRIBUTION = "futurist"

OBSERVING_OPTIONS = ("log_unread_failures", "propagate_context")
"""Common options a kind reads if its constructor takes them (a wrapped kind always does)."""


def _common(read_by: dict[str, str]) -> tuple[cfg.Opt, ...]:
    """``executor``, ``max_workers``, ``max_backlog`` and its policy, ``log_unread_failures``
    and ``propagate_context``; ``read_by`` ends each one's help."""
    builtin = ", ".join(builtin_kinds()) or "none installed"
    return (
        cfg.StrOpt(
            "executor",
            default="thread",
            help="Executor kind to build: the name of an entry point in the "
            f"'{registry.NAMESPACE}' namespace, futurist's own ({builtin}) or one a "
            "third-party package installs. Read by every kind.",
        ),
        cfg.IntOpt(
            "max_workers",
            min=1,
            mutable=True,
            help="Most calls the executor runs at once (its threads, processes or "
            "greenthreads); unset means the kind's default. Mutable: on a config reload "
            "(mutate_config_files) a pool built by futurist.plugins.from_config that can "
            "resize takes the new size, keeping queued work." + read_by.get("max_workers", ""),
        ),
        cfg.IntOpt(
            "max_backlog",
            min=0,
            help="Most calls that may wait for a worker; one more submission raises "
            "futurist.RejectedSubmission (or waits, see backlog_policy). Unset means no limit."
            + read_by.get("max_backlog", ""),
        ),
        cfg.StrOpt(
            "backlog_policy",
            default="reject",
            choices=[
                ("reject", "a submission past max_backlog raises futurist.RejectedSubmission"),
                ("wait", "a submission past max_backlog waits until a queued call starts"),
            ],
            help="What a submission does when max_backlog calls are already queued; 'wait' "
            "needs max_backlog." + read_by.get("max_backlog", ""),
        ),
        cfg.Opt(
            "backlog_timeout",
            type=Interval(0.0, low_open=False),
            help="With backlog_policy = wait: most seconds a submission waits for room before "
            "it raises futurist.RejectedSubmission. Unset means no limit."
            + read_by.get("max_backlog", ""),
        ),
        cfg.BoolOpt(
            "log_unread_failures",
            default=True,
            help="Log, at ERROR with its traceback, the exception of a call that failed when "
            "its future is garbage collected without anyone having read it (result(), "
            "exception() or a done callback)." + read_by.get("log_unread_failures", ""),
        ),
        cfg.BoolOpt(
            "propagate_context",
            default=False,
            help="Run each call in a copy of the submitter's contextvars context. Kinds whose "
            "calls run in other processes (process, dask, ray) refuse it with an error."
            + read_by.get("propagate_context", ""),
        ),
    )


@functools.cache
def runtime_common_options() -> tuple[cfg.Opt, ...]:
    """The common options as a service registers them: no kind is loaded to describe them."""
    return _common({})


@functools.cache
def common_options(kinds: tuple[str, ...]) -> tuple[cfg.Opt, ...]:
    """The common options for a listing of ``kinds``: each one's help names which read it."""
    readers = _common_readers(kinds)
    return _common({dest: _read_by(names) for dest, names in readers.items()})


def _common_readers(kinds: tuple[str, ...]) -> dict[str, list[str]]:
    """Which of ``kinds`` read ``max_workers`` and ``max_backlog`` (loadable kinds only)."""
    readers: dict[str, list[str]] = {
        dest: [] for dest in ("max_workers", "max_backlog", *OBSERVING_OPTIONS)
    }
    for kind in kinds:
        try:
            cls = registry.load(kind)
            reads = options_read_by(cls, [opt.dest for opt in declared_options(kind, cls)])
        except ExecutorPluginError:
            continue
        for dest, names in readers.items():
            if dest in reads:
                names.append(kind)
    return readers


def _read_by(kinds: list[str]) -> str:
    if not kinds:
        return " Read by no installed kind."
    plural = "kinds" if len(kinds) > 1 else "kind"
    return f" Read by the {', '.join(kinds)} {plural}."


def accepts(function: Any, parameter: str, *, by_name: bool = False) -> bool:
    """Whether ``function`` (a class: its constructor) takes a keyword named ``parameter``.

    With ``by_name``, only a parameter of that name counts, not ``**kwargs``.
    """
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    if parameter in parameters:
        return parameters[parameter].kind is not inspect.Parameter.POSITIONAL_ONLY
    return not by_name and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def options_read_by(cls: type[concurrent.futures.Executor], own: list[str]) -> set[str]:
    """The options (by dest) kind ``cls`` reads: ``own``, plus the common ones it can take.

    A kind with ``from_options`` reads them all (the observability ones if it takes them);
    otherwise ``max_workers`` if its constructor
    takes it and ``max_backlog`` if it takes ``check_and_reject`` (a plain
    ``concurrent.futures.Executor`` always does, through its wrapper).
    """
    reads = {"executor", *own}
    from_options = getattr(cls, "from_options", None)
    if from_options is not None:
        observing = {dest for dest in OBSERVING_OPTIONS if accepts(from_options, dest)}
        return (
            reads | {"max_workers", "max_backlog", "backlog_policy", "backlog_timeout"} | observing
        )
    if accepts(cls, "max_workers"):
        reads.add("max_workers")
    if not issubclass(cls, Executor) or accepts(cls, "check_and_reject"):
        reads |= {"max_backlog", "backlog_policy", "backlog_timeout"}
    for dest in OBSERVING_OPTIONS:
        if not issubclass(cls, Executor) or accepts(cls, dest):
            reads.add(dest)
    return reads


def builtin_kinds() -> list[str]:
    """The kinds futurist itself declares (not those of third-party distributions)."""
    return [
        name
        for name, ep in sorted(registry.entry_points().items())
        if registry.distribution_name(name, ep.value) == _FUTURIST_DISTRIBUTION
    ]


def declared_options(kind: str, cls: type[concurrent.futures.Executor]) -> list[cfg.Opt]:
    """The options kind ``kind`` declares through ``cls.config_options()`` (none if absent).

    Raises :class:`PluginLoadError` if the declaration fails or is not a list of ``cfg.Opt``.
    """
    declare = getattr(cls, "config_options", None)
    if declare is None:
        return []
    try:
        declared = list(declare())
    except Exception as exc:
        raise PluginLoadError(
            f"executor kind {kind!r}: {callable_name(cls)}.config_options() failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    wrong = [opt for opt in declared if not isinstance(opt, cfg.Opt)]
    if wrong:
        raise PluginLoadError(
            f"executor kind {kind!r}: {callable_name(cls)}.config_options() must return "
            f"oslo_config.cfg.Opt objects, got {wrong!r}"
        )
    clash = [opt.name for opt in declared if opt.dest in COMMON_OPTION_NAMES]
    if clash:
        raise PluginLoadError(
            f"executor kind {kind!r}: {callable_name(cls)}.config_options() declares "
            f"{', '.join(clash)}, which every group already has; declare only the kind's own "
            "options"
        )
    return declared


@functools.cache
def kind_options(kinds: tuple[str, ...]) -> tuple[cfg.Opt, ...]:
    """The options of ``kinds``, each once, with its help naming the kinds that read it.

    A kind that fails to load is left out with a warning, so one broken plugin does not hide
    the others' options. Two kinds may share an option if they declare it alike (same type
    and default); a different declaration under a taken name is left out with a warning.
    """
    first: dict[str, cfg.Opt] = {}
    readers: dict[str, list[str]] = {}
    for kind, declared in _each_loadable(kinds, declared_options):
        for opt in declared:
            taken = first.get(opt.dest)
            if taken is None:
                first[opt.dest] = opt
                readers[opt.dest] = [kind]
            elif _alike(taken, opt):
                readers[opt.dest].append(kind)
            else:
                _warn_unlike(kind, opt, readers[opt.dest][0])
    return tuple(_annotated(opt, readers[dest]) for dest, opt in first.items())


def _each_loadable(
    kinds: Iterable[str],
    declare: Callable[[str, type[concurrent.futures.Executor]], list[cfg.Opt]],
) -> Iterator[tuple[str, list[cfg.Opt]]]:
    """Each of ``kinds`` with the options ``declare`` gives it; one that fails to load is left
    out with a warning, so one broken plugin does not hide the others' options."""
    for kind in kinds:
        try:
            declared = declare(kind, registry.load(kind))
        except ExecutorPluginError as exc:
            LOG.warning("leaving out the options of executor kind %r: %s", kind, exc)
            continue
        yield kind, declared


def _warn_unlike(kind: str, opt: cfg.Opt, first: str) -> None:
    LOG.warning(
        "executor kind %r declares option %r unlike kind %r does; leaving out %r's declaration",
        kind,
        opt.name,
        first,
        kind,
    )


def _alike(one: cfg.Opt, other: cfg.Opt) -> bool:
    return (
        type(one) is type(other)
        and one.name == other.name
        and one.type == other.type
        and one.default == other.default
    )


def _annotated(opt: cfg.Opt, kinds: list[str]) -> cfg.Opt:
    """A copy of ``opt`` whose help ends by naming the kinds that read it."""
    annotated = copy.copy(opt)
    annotated.help = (opt.help or "").rstrip() + _read_by(kinds)
    return annotated


_runtime: dict[str, cfg.Opt] = {}
"""The one ``cfg.Opt`` object registered for each kind option's dest, shared by alike kinds."""
_runtime_lock = threading.Lock()


def runtime_kind_options(kind: str, cls: type[concurrent.futures.Executor]) -> list[cfg.Opt]:
    """The options kind ``kind`` declares, as a service registers them.

    Kinds that declare an option alike (same type, name and default) share one ``cfg.Opt``, so
    registering several kinds in one group never clashes; a kind declaring it otherwise keeps
    its own. Raises :class:`PluginLoadError` if the declaration is wrong.
    """
    with _runtime_lock:
        shared = []
        for opt in declared_options(kind, cls):
            taken = _runtime.setdefault(opt.dest, opt)
            shared.append(taken if _alike(taken, opt) else opt)
        return shared


def register_kind_opts(conf: cfg.ConfigOpts, group: str, kind: str) -> list[cfg.Opt]:
    """Register in ``conf``'s ``group`` the common options and kind ``kind``'s, loading only it.

    Returns the kind's own options. Raises what :func:`registry.load` raises for the kind.
    """
    check_group(group)
    own = runtime_kind_options(kind, registry.load(kind))
    conf.register_opts([*runtime_common_options(), *own], group=group)
    return own


def register_opts(conf: cfg.ConfigOpts, group: str = DEFAULT_GROUP) -> None:
    """Register in ``conf`` the options of an executor group named ``group``.

    Registers the common options and those of every installed kind (a kind that fails to
    load, or declares an option unlike a kind registered before it, is left out with a
    warning). Registering the same group again is harmless. To register only what one kind
    needs, :func:`futurist.plugins.from_config` loads just the kind the group names.
    """
    check_group(group)
    conf.register_opts(runtime_common_options(), group=group)
    registered: dict[str, tuple[str, cfg.Opt]] = {}
    for kind, declared in _each_loadable(registry.names(), runtime_kind_options):
        for opt in declared:
            first = registered.setdefault(opt.dest, (kind, opt))
            if first[1] is opt:
                conf.register_opt(opt, group=group)
            else:
                _warn_unlike(kind, opt, first[0])


def check_group(group: object) -> None:
    """Raise ``ValueError`` unless ``group`` can name a config group (a non-empty str)."""
    if not isinstance(group, str) or not group:
        raise ValueError(f"group must be a non-empty str, got {group!r}")


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """The ``[futurist]`` options of futurist's own kinds, for oslo-config-generator."""
    kinds = tuple(builtin_kinds())
    return [(DEFAULT_GROUP, [*common_options(kinds), *kind_options(kinds)])]
