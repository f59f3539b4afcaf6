"""What ``futurist executors`` reports about each installed kind, gathered without rich."""

from __future__ import annotations

import importlib.metadata
import inspect
import re
from dataclasses import asdict, dataclass
from typing import Any

from futurist import plugins
from futurist.exceptions import PluginLoadError
from futurist.naming import callable_name
from futurist.plugins import registry

__all__ = ["KindInfo", "describe_kinds", "unavailable_reason"]

_INSTALL_HINT = re.compile(r"pip install \S+")


@dataclass(frozen=True)
class KindInfo:
    """One installed kind: where it comes from, its class, whether it can run, what it is."""

    name: str
    distribution: str | None
    version: str | None
    cls: str
    status: str
    description: str

    @property
    def ok(self) -> bool:
        """Whether the kind loads and its dependencies are installed."""
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values (``class`` rather than ``cls``, plus ``ok``)."""
        row = asdict(self)
        row["class"] = row.pop("cls")
        row["ok"] = self.ok
        return row


def describe_kinds() -> list[KindInfo]:
    """Every installed kind, sorted by name; a kind that cannot load says why."""
    return [_describe(name, ep) for name, ep in sorted(registry.entry_points().items())]


def _describe(name: str, ep: importlib.metadata.EntryPoint) -> KindInfo:
    distribution = registry.distribution_name(name, ep.value)
    version = None if distribution is None else importlib.metadata.version(distribution)
    try:
        cls = plugins.load(name)
    except PluginLoadError as exc:
        reason = unavailable_reason(exc, plugin_module=ep.module)
        return KindInfo(name, distribution, version, ep.value, reason, "")
    status = "ok"
    check = getattr(cls, "check_available", None)
    if check is not None:
        try:
            check()
        except ImportError as exc:
            status = unavailable_reason(exc)
    summary = (inspect.getdoc(cls) or "").partition("\n\n")[0]
    description = " ".join(summary.replace("``", "").split())
    return KindInfo(
        name, distribution, version, callable_name(cls, module=True), status, description
    )


def unavailable_reason(exc: BaseException, *, plugin_module: str | None = None) -> str:
    """Why a kind cannot run, in one line: the missing module and how to install it if known.

    Walks ``exc`` and its causes for an ``ImportError`` naming the missing module and for a
    ``pip install ...`` hint; anything else is reported as the innermost error. When the missing
    module is ``plugin_module`` (the entry point's own module) or a package containing it, the
    plugin itself is incomplete: that is not a dependency to install.
    """
    chain = _chain(exc)
    missing = next((e for e in chain if isinstance(e, ImportError) and e.name), None)
    if missing is None:
        root = chain[-1]
        return f"cannot load: {type(root).__name__}: {root}"
    if plugin_module is not None and f"{plugin_module}.".startswith(f"{missing.name}."):
        return f"cannot import the plugin's module {plugin_module}: {missing}"
    hint = next((m.group() for e in chain if (m := _INSTALL_HINT.search(str(e)))), None)
    return f"missing dependency {missing.name}" + (f": {hint}" if hint else "")


def _chain(exc: BaseException) -> list[BaseException]:
    chain = [exc]
    while chain[-1].__cause__ is not None and len(chain) < 10:
        chain.append(chain[-1].__cause__)
    return chain
