"""Sphinx configuration for the futurist documentation (``make docs``)."""

from __future__ import annotations

project = "futurist"
author = "futurist developers"
copyright = "2026, futurist developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_mock_imports = ["eventlet", "distributed", "dask", "trio", "rich"]
nitpicky = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
intersphinx_mapping: dict[str, tuple[str, None]] = {}
