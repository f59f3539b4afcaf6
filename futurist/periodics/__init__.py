"""Run callables periodically on any futurist executor, with per-callable statistics.

Decorate functions or methods with :func:`periodic` (a spacing, or a calendar schedule such
as :class:`Cron`), hand them to a :class:`PeriodicWorker`
(or let :meth:`PeriodicWorker.create` collect them from objects) and call ``start()`` in a
thread. Compatible with the original futurist's ``futurist.periodics``.
"""

from futurist.periodics.decorator import NeverAgain, RunAgainIn, is_periodic, periodic
from futurist.periodics.factories import (
    ExecutorFactory,
    ExistingExecutor,
    SynchronousExecutorFactory,
)
from futurist.periodics.schedules import Cron, Schedule
from futurist.periodics.strategies import (
    STRATEGIES,
    aligned_last_finished,
    last_finished,
    last_started,
    with_jitter,
)
from futurist.periodics.table import ALL_COLUMNS
from futurist.periodics.timing import COALESCE
from futurist.periodics.work import IMMEDIATE, PERIODIC, Watcher, Work
from futurist.periodics.worker import COLUMNS, PeriodicWorker

__all__ = [
    "ALL_COLUMNS",
    "COALESCE",
    "COLUMNS",
    "IMMEDIATE",
    "PERIODIC",
    "STRATEGIES",
    "Cron",
    "ExecutorFactory",
    "ExistingExecutor",
    "NeverAgain",
    "PeriodicWorker",
    "RunAgainIn",
    "Schedule",
    "SynchronousExecutorFactory",
    "Watcher",
    "Work",
    "aligned_last_finished",
    "is_periodic",
    "last_finished",
    "last_started",
    "periodic",
    "with_jitter",
]
