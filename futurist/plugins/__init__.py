"""Executor kinds as plugins: find them by name, build them directly or from a config group.

Every kind is an entry point in the ``futurist.executors`` namespace naming its executor class;
a third-party package adds a kind by declaring one. A class built on
:class:`futurist.executors.base.Executor` is used as it is; a plain
``concurrent.futures.Executor`` is wrapped in :class:`~futurist.executors.wrapped.WrappedExecutor`
so it too keeps statistics, ``check_and_reject``, ``alive`` and the shutdown contract.
"""

from __future__ import annotations

import concurrent.futures
import difflib
import inspect
import logging
import threading
import weakref
from typing import Any

from oslo_config import cfg

from futurist._naming import executor_name
from futurist.executors.base import CheckAndReject, Executor
from futurist.executors.sizing import DefaultWorkers
from futurist.executors.wrapped import WrappedExecutor
from futurist.naming import callable_name
from futurist.plugins import placement, values
from futurist.plugins.defaults import described_default
from futurist.plugins.group import ExecutorGroup, read_group
from futurist.plugins.options import (
    DEFAULT_GROUP,
    OBSERVING_OPTIONS,
    accepts,
    list_opts,
    register_opts,
)
from futurist.plugins.registry import NAMESPACE, load, names
from futurist.rejection import reject_when_reached, wait_when_reached

__all__ = [
    "NAMESPACE",
    "create",
    "default_max_workers",
    "from_config",
    "list_opts",
    "load",
    "names",
    "register_opts",
]

LOG = logging.getLogger(__name__)


def create(name: str, **kwargs: Any) -> Executor:
    """Build an executor of kind ``name`` with ``kwargs`` for its constructor.

    A plain ``concurrent.futures.Executor`` kind is wrapped; ``check_and_reject`` then goes to
    the wrapper and every other keyword to the kind's constructor. The wrapper goes by the
    kind's name, in metrics and its default name, and a constructor that takes
    ``thread_name_prefix`` receives that name unless one is given.
    """
    cls = load(name)
    if issubclass(cls, Executor):
        return cls(**kwargs)
    check_and_reject = kwargs.pop("check_and_reject", None)
    return _wrap(name, cls, kwargs, check_and_reject, {})


def default_max_workers(name: str, **options: Any) -> DefaultWorkers | None:
    """The ``max_workers`` kind ``name`` takes when given none, with the rule that gives it.

    ``options`` are the other keywords it would be built with (``min_workers``,
    ``scheduler_address``, ...). The kind tells through its ``default_max_workers``
    classmethod, computed with the code its constructor uses; a kind without one is read from
    its constructor's default. None when neither tells.
    """
    return described_default(load(name), options)


def from_config(conf: cfg.ConfigOpts, group: str = DEFAULT_GROUP) -> Executor:
    """Build the executor that config group ``group`` of ``conf`` describes.

    Registers the common options, reads ``executor``, then loads that kind alone and registers
    its options: no other plugin is imported. A bad value, or one the kind's constructor
    refuses, raises :class:`~futurist.plugins.values.InvalidOptionValue` (an oslo.config
    ``ConfigFileValueError``) naming the group, the option, the value and where it came from.
    Options set for the group that the kind does not read are logged as warnings, and so is
    a group in no config file whose options a file sets under ``[DEFAULT]`` or a near-miss
    section name.
    ``max_workers`` is mutable: after ``conf.mutate_config_files()`` an executor built here
    that can be resized takes the new size.
    """
    config = read_group(conf, group)
    _warn_misplaced(conf, config)
    kind_values = {opt.dest: config.options.value(opt.dest) for opt in config.own}
    max_workers = config.options.value("max_workers")
    _warn_unread(config)
    check_and_reject = _backlog_policy(config.options)
    observing = {
        dest: config.options.value(dest) for dest in OBSERVING_OPTIONS if dest in config.reads
    }
    try:
        executor = _build(
            config,
            max_workers,
            check_and_reject,
            values=kind_values,
            observing={"name": group, **observing},
        )
    except ValueError as exc:
        reason = str(exc)
        named = sorted((d for d in ("max_workers", *kind_values) if d in reason), key=reason.index)
        raise config.options.invalid(
            named or ["executor"], f"executor kind {config.kind!r} refuses it: {exc}"
        ) from exc
    if _resizable(executor):
        _resizer_for(conf).track(config, executor)
    return executor


def _warn_misplaced(conf: cfg.ConfigOpts, config: ExecutorGroup) -> None:
    """Warn when the group is in no config file but its options seem written elsewhere."""
    problem = placement.misplaced(conf, config.group, config.options.settings)
    if problem is not None:
        LOG.warning("%s", problem)


def _backlog_policy(config: values.Reading) -> CheckAndReject | None:
    """The ``check_and_reject`` that ``max_backlog``, ``backlog_policy`` and
    ``backlog_timeout`` describe (None without a limit)."""
    max_backlog = config.value("max_backlog")
    policy = config.value("backlog_policy")
    timeout = config.value("backlog_timeout")
    if policy == "wait":
        if max_backlog is None or max_backlog < 1:
            # With max_backlog = 0 no call may ever queue, so a submission would wait for
            # room that can never come.
            raise config.invalid(
                ["backlog_policy", "max_backlog"],
                "backlog_policy = wait needs max_backlog >= 1 (the backlog to wait below); set "
                "max_backlog >= 1 or backlog_policy = reject",
            )
        return wait_when_reached(max_backlog, timeout)
    return None if max_backlog is None else reject_when_reached(max_backlog)


def _warn_unread(config: ExecutorGroup) -> None:
    """Warn about each option a user set for the group that its kind does not read.

    Only the chosen kind is loaded, so an option is judged against what that kind reads; a
    close match among those names is offered, for typos such as ``max_worker``.
    """
    for dest, given in config.unread():
        close = difflib.get_close_matches(dest, sorted(config.reads), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        LOG.warning(
            "[%s] %s is set (from %s) but executor kind %r does not read it; it is ignored%s",
            config.group,
            dest,
            given.origin,
            config.kind,
            hint,
        )


def _build(
    config: ExecutorGroup,
    max_workers: int | None,
    check_and_reject: CheckAndReject | None,
    *,
    values: dict[str, Any],
    observing: dict[str, Any],
) -> Executor:
    """Build ``config``'s kind from option values, following the config-options protocol.

    ``observing`` (the executor's name and the observability options) goes to the constructor
    if it takes them, else to the wrapper of a plain ``concurrent.futures.Executor``.
    """
    cls = config.cls
    from_options = getattr(cls, "from_options", None)
    if from_options is not None:
        observing = {key: value for key, value in observing.items() if accepts(from_options, key)}
        built = from_options(
            max_workers=max_workers, check_and_reject=check_and_reject, **values, **observing
        )
        if not isinstance(built, Executor):
            raise TypeError(
                f"{callable_name(cls)}.from_options() must return a futurist Executor, "
                f"got {built!r}"
            )
        return built
    kwargs = dict(values)
    if max_workers is not None and accepts(cls, "max_workers"):
        kwargs["max_workers"] = max_workers
    if issubclass(cls, Executor):
        if check_and_reject is not None and accepts(cls, "check_and_reject"):
            kwargs["check_and_reject"] = check_and_reject
        kwargs.update((key, value) for key, value in observing.items() if accepts(cls, key))
        return cls(**kwargs)
    return _wrap(config.kind, cls, kwargs, check_and_reject, observing)


def _wrap(
    kind: str,
    cls: type[concurrent.futures.Executor],
    kwargs: dict[str, Any],
    check_and_reject: CheckAndReject | None,
    observing: dict[str, Any],
) -> WrappedExecutor:
    """Plugin ``kind``, a plain executor class, built with ``kwargs`` and wrapped.

    The wrapper publishes the plugin's name as its kind in metrics and default names
    (``kind-0``, ...). A constructor that names ``thread_name_prefix`` and is not given one
    gets the executor's name, so its threads are named as futurist's thread kinds name theirs.
    """
    observing = dict(observing)
    name = executor_name(observing.pop("name", None), kind)
    # A keyword only **kwargs would take might mean anything: pass it only if it is named.
    if "thread_name_prefix" not in kwargs and accepts(cls, "thread_name_prefix", by_name=True):
        kwargs = {**kwargs, "thread_name_prefix": name}
    return WrappedExecutor(cls(**kwargs), check_and_reject, name=name, kind=kind, **observing)


def _resizable(executor: Executor) -> bool:
    """Whether ``executor``'s class lets ``max_workers`` be assigned (a live resize)."""
    attribute = inspect.getattr_static(type(executor), "max_workers", None)
    return isinstance(attribute, property) and attribute.fset is not None


class _Resizer:
    """The mutate hook of one ``ConfigOpts``: resizes the executors built from its groups.

    Executors are held weakly, with the size each was built with, which they return to when
    ``max_workers`` is removed from the file.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: dict[str, weakref.WeakKeyDictionary[Executor, int]] = {}

    def track(self, config: ExecutorGroup, executor: Executor) -> None:
        """Resize ``executor``, built from ``config``, when its group's ``max_workers`` changes."""
        with self._lock:
            built = self._built.setdefault(config.group, weakref.WeakKeyDictionary())
            built[executor] = executor.max_workers  # type: ignore[attr-defined]

    def __call__(self, conf: cfg.ConfigOpts, fresh: dict[tuple[str | None, str], Any]) -> None:
        with self._lock:
            groups = {group: list(built.items()) for group, built in self._built.items()}
        for group, executors in groups.items():
            if (group, "max_workers") not in fresh:
                continue
            try:
                size = values.read(conf, group, "max_workers")
            except cfg.ConfigSourceValueError as exc:
                LOG.error("not resizing the [%s] executors: %s", group, exc)
                continue
            for executor, built_with in executors:
                target = built_with if size is None else size
                if executor.alive:
                    _resize(executor, group, target)


def _resize(executor: Executor, group: str, size: int) -> None:
    """Give ``executor`` its new size; a refusal is logged, so other executors still resize.

    A mutate hook that raises would stop ``conf.mutate_config_files()`` before the hooks (and
    the groups) after it.
    """
    LOG.info("resizing %r of [%s] to max_workers=%d", executor, group, size)
    try:
        executor.max_workers = size  # type: ignore[attr-defined]
    except Exception:
        LOG.exception(
            "could not resize %r of [%s] to max_workers=%d; it keeps max_workers=%s",
            executor,
            group,
            size,
            getattr(executor, "max_workers", None),
        )


_resizers: list[tuple[weakref.ref[cfg.ConfigOpts], _Resizer]] = []
"""Each ConfigOpts (weakly; it is not hashable) with the resizer registered as its hook."""
_resizers_lock = threading.Lock()


def _resizer_for(conf: cfg.ConfigOpts) -> _Resizer:
    """The resizer registered as ``conf``'s mutate hook, registering it on first use."""
    with _resizers_lock:
        _resizers[:] = [(ref, resizer) for ref, resizer in _resizers if ref() is not None]
        for ref, resizer in _resizers:
            if ref() is conf:
                return resizer
        resizer = _Resizer()
        conf.register_mutate_hook(resizer)
        _resizers.append((weakref.ref(conf), resizer))
        return resizer
