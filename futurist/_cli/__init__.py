"""The parts of the ``futurist`` command (:mod:`futurist.cli`): workloads, running, rendering.

Only :mod:`futurist._cli.render` imports rich; the rest works without the ``cli`` extra, so the
workloads can be imported by process and Dask workers wherever futurist is installed.
"""
