"""The executor kinds installed as stevedore plugins in the ``futurist.executors`` namespace.

Listing kinds reads entry-point metadata only; a kind's module is imported when that kind is
loaded, so a broken plugin affects only the code that asks for it. Load errors name the entry
point, its distribution and the real exception instead of stevedore's "No driver found".
"""

from __future__ import annotations

import concurrent.futures
import difflib
import functools
import importlib.metadata
import threading
from typing import Any

import stevedore
from stevedore import extension

from futurist.exceptions import PluginLoadError, UnknownExecutorKind

__all__ = [
    "NAMESPACE",
    "distribution_name",
    "distribution_of",
    "entry_point",
    "entry_points",
    "load",
    "names",
    "unknown_kind",
]

NAMESPACE = "futurist.executors"
"""The entry-point group every executor kind is registered in."""

_loaded: dict[str, type[concurrent.futures.Executor]] = {}
_load_lock = threading.Lock()


def entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    """The namespace's entry points by name, read without importing any plugin."""
    manager: extension.ExtensionManager[Any] = stevedore.NamedExtensionManager(
        NAMESPACE, names=[], on_missing_entrypoints_callback=None
    )
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in manager.list_entry_points():
        found.setdefault(ep.name, ep)
    return found


def names() -> list[str]:
    """The installed executor kinds, sorted; no plugin is imported."""
    return sorted(entry_points())


def entry_point(name: str) -> importlib.metadata.EntryPoint:
    """The entry point of kind ``name``; raises :class:`~futurist.UnknownExecutorKind` if none."""
    found = entry_points()
    if name not in found:
        raise unknown_kind(name, sorted(found))
    return found[name]


@functools.cache
def _distribution(name: str, value: str) -> importlib.metadata.Distribution | None:
    for ep in importlib.metadata.entry_points(group=NAMESPACE):
        if ep.name == name and ep.value == value:
            return ep.dist
    return None


def distribution_name(name: str, value: str) -> str | None:
    """The name of the distribution declaring entry point ``name = value`` (None if unknown)."""
    dist = _distribution(name, value)
    return None if dist is None else dist.name


def distribution_of(name: str, value: str) -> str:
    """``"distribution version"`` declaring entry point ``name = value``, for messages."""
    return _describe_distribution(_distribution(name, value))


def unknown_kind(
    kind: object, installed: list[str], group: str | None = None, origin: str | None = None
) -> Exception:
    """The error for a kind nobody installed: what was asked, where, and what exists.

    ``origin`` says where a group's ``executor`` value came from (``file F``, ``env VAR``).
    """
    where = f"[{group}] executor = {kind!r}" if group is not None else f"executor kind {kind!r}"
    where += f" (from {origin})" if origin is not None else ""
    message = (
        f"{where} is not an installed executor kind (installed: {', '.join(installed) or 'none'})"
    )
    close = difflib.get_close_matches(kind, installed, n=1) if isinstance(kind, str) else []
    message += f"; did you mean {close[0]!r}?" if close else "."
    message += (
        f" Each kind is an entry point in the {NAMESPACE!r} namespace; install the package "
        "that provides it."
    )
    return UnknownExecutorKind(message, str(kind), group, installed)


def load(name: str) -> type[concurrent.futures.Executor]:
    """The executor class of kind ``name``, importing its module on first use.

    Raises :class:`~futurist.UnknownExecutorKind` if no plugin has that name and
    :class:`~futurist.PluginLoadError` (caused by the real error) if importing it fails.
    """
    if not isinstance(name, str):
        raise TypeError(f"executor kind must be a str, got {type(name).__name__} {name!r}")
    cached = _loaded.get(name)
    if cached is not None:
        return cached
    ep = entry_point(name)
    _check_one_declaration(name)
    with _load_lock:
        if name not in _loaded:
            _loaded[name] = _import(ep)
        return _loaded[name]


def _check_one_declaration(name: str) -> None:
    """Raise :class:`PluginLoadError` naming them all if several distributions declare ``name``.

    Which one stevedore would pick depends on the order of ``sys.path``; refusing to guess is
    the only answer that cannot silently run the wrong code.
    """
    declarations = sorted(
        {
            (_describe_distribution(ep.dist), ep.value)
            for ep in importlib.metadata.entry_points(group=NAMESPACE)
            if ep.name == name
        }
    )
    if len(declarations) > 1:
        listed = " and ".join(f"{dist} ({name} = {value})" for dist, value in declarations)
        raise PluginLoadError(
            f"executor kind {name!r} is declared by {len(declarations)} distributions: "
            f"{listed}; uninstall all but one of them, or give the kinds different names"
        )


def _describe_distribution(dist: importlib.metadata.Distribution | None) -> str:
    return "an unknown distribution" if dist is None else f"{dist.name} {dist.version}"


def _import(ep: importlib.metadata.EntryPoint) -> type[concurrent.futures.Executor]:
    """Load one entry point through stevedore, turning any failure into PluginLoadError."""

    def fail(
        _manager: extension.ExtensionManager[Any],
        failed: importlib.metadata.EntryPoint,
        exc: BaseException,
    ) -> None:
        raise PluginLoadError(
            f"executor kind {failed.name!r} (entry point {failed.name} = {failed.value} in "
            f"{NAMESPACE!r}, from {distribution_of(failed.name, failed.value)}) failed to "
            f"load: {type(exc).__name__}: {exc}"
        ) from exc

    driver: object = stevedore.DriverManager[Any](
        NAMESPACE,
        ep.name,
        on_load_failure_callback=fail,
        conflict_resolver=extension.ignore_conflicts,
    ).driver
    if not (isinstance(driver, type) and issubclass(driver, concurrent.futures.Executor)):
        raise PluginLoadError(
            f"executor kind {ep.name!r} (entry point {ep.name} = {ep.value} in {NAMESPACE!r}, "
            f"from {distribution_of(ep.name, ep.value)}) names {driver!r}, which is not a "
            "concurrent.futures.Executor subclass"
        )
    return driver
