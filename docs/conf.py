"""Sphinx configuration for the futurist documentation (``make docs``).

Every cross-reference must resolve (``nitpicky``, and ``make docs`` turns warnings into errors).
References to other projects resolve through the inventories in ``_intersphinx/``, read from
disk only, so the build is the same on a machine without network access; README.rst there says
where each came from and how to refresh it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.ext import intersphinx

project = "futurist"
author = "futurist developers"
copyright = "2026, futurist developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_mock_imports = ["eventlet", "distributed", "dask", "trio", "rich"]
nitpicky = True
exclude_patterns = ["_build", "_intersphinx"]
html_theme = "alabaster"
# A block is Python only when it says so (``.. code-block:: python``); the test suite runs those.
highlight_language = "none"

_INVENTORIES = Path(__file__).resolve().parent / "_intersphinx"


def _offline(url: str, name: str) -> tuple[str, str]:
    """Link to ``url`` but read its inventory from the committed copy, never the network."""
    return (url, str(_INVENTORIES / f"{name}.inv"))


intersphinx_mapping = {
    "python": _offline("https://docs.python.org/3", "python"),
    "oslo.config": _offline("https://docs.openstack.org/oslo.config/latest", "oslo.config"),
    "stevedore": _offline("https://docs.openstack.org/stevedore/latest", "stevedore"),
    "eventlet": _offline("https://eventlet.readthedocs.io/en/latest", "eventlet"),
    "distributed": _offline("https://distributed.dask.org/en/stable", "distributed"),
    "dask": _offline("https://docs.dask.org/en/stable", "dask"),
}

# The only references left unresolved, each because no page documents the target:
nitpick_ignore = [
    # The standard library documents multiprocessing contexts only as what get_context()
    # returns; annotations name the class (multiprocessing.context.BaseContext).
    ("py:class", "BaseContext"),
]
nitpick_ignore_regex = [
    # Type variables (``_T``, ``_P``, ``_E``, ``_F``) stand for "any type" in a signature.
    (r"py:(class|obj)", r"(typing\.)?~?(futurist\.[\w.]+\.)?_[TPEF]"),
]

# Names annotations spell as the code imports them, and objects whose class lives in a private
# module, mapped to where the documentation describes them.
_DOCUMENTED_AS = {
    "CheckAndReject": "futurist.executors.base.CheckAndReject",
    "BackendName": "futurist.aio.BackendName",
    "OnFailure": "futurist.periodics.worker.OnFailure",
    "cfg.Opt": "oslo_config.cfg.Opt",
    "cfg.ConfigOpts": "oslo_config.cfg.ConfigOpts",
    "TracebackType": "types.TracebackType",
}
_DOCUMENTED_UNDER = {"concurrent.futures._base.": "concurrent.futures."}


def _documented_name(target: str) -> str | None:
    if target in _DOCUMENTED_AS:
        return _DOCUMENTED_AS[target]
    for private, public in _DOCUMENTED_UNDER.items():
        if target.startswith(private):
            return public + target.removeprefix(private)
    return None


def _resolve_as_documented(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve a reference by the name its target is documented under, here or elsewhere."""
    name = _documented_name(node.get("reftarget", ""))
    if name is None or node.get("refdomain") != "py":
        return None
    renamed = node.deepcopy()
    renamed["reftarget"] = name
    domain = env.get_domain("py")
    found = domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], name, renamed, contnode
    )
    return found or intersphinx.missing_reference(app, env, renamed, contnode)


def setup(app: Any) -> None:
    app.connect("missing-reference", _resolve_as_documented)
