"""``futurist top URL``: every executor a service publishes on its Prometheus endpoint, live,
refreshed every ``--interval`` seconds until Ctrl-C."""

from __future__ import annotations

import argparse
import time

from futurist.cli.activity import top_rows
from futurist.cli.exits import EXIT_OK
from futurist.cli.scrapes import scrape
from futurist.cli.settings import ConfigProblem

__all__ = ["top"]


def top(arguments: argparse.Namespace) -> int:
    """``futurist top``: scrape, wait ``--interval``, scrape again and show; with ``--once``
    that is all, else it goes on refreshing until Ctrl-C, which exits 0."""
    from futurist.cli import render

    url: str = arguments.url
    interval: float = arguments.interval
    try:
        previous = scrape(url)
        if arguments.once:
            time.sleep(interval)
            current = scrape(url)
            render.console().print(render.top_table(url, top_rows(previous, current), 1))
            return EXIT_OK
        with render.live_screen(render.top_waiting(url, interval)) as show:
            refreshes = 0
            while True:
                time.sleep(interval)
                try:
                    current = scrape(url)
                except ConfigProblem as exc:
                    show(render.top_table(url, top_rows(previous, previous), refreshes, str(exc)))
                    continue
                refreshes += 1
                show(render.top_table(url, top_rows(previous, current), refreshes))
                previous = current
    except KeyboardInterrupt:
        return EXIT_OK
