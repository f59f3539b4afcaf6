"""The standard library internals futurist's fast Future relies on are still there.

``futurist.Future`` skips ``concurrent.futures.Future.__init__`` (it sets the same state with a
cheaper condition), answers ``result()`` of a finished future without the lock, and its
condition subclasses ``_thread.RLock``. Each test here fails if a Python release renames or adds
what those shortcuts assume; run the suite on every supported Python (3.11 to 3.14).
"""

from __future__ import annotations

import _thread
import concurrent.futures
import inspect
import re
from concurrent.futures import _base

import futurist


def test_the_fast_init_sets_exactly_the_standard_state() -> None:
    assert set(vars(futurist.Future())) == set(vars(concurrent.futures.Future()))


def test_every_attribute_the_standard_methods_use_is_set_or_defined() -> None:
    source = inspect.getsource(_base.Future)
    # A private name (``self.__get_result``) is stored mangled with the class's name.
    used = {
        f"_Future{name}" if name.startswith("__") and not name.endswith("__") else name
        for name in re.findall(r"self\.(_\w+)", source)
    }
    ours: futurist.Future[object] = futurist.Future()
    missing = {name for name in used if not hasattr(ours, name)}
    assert not missing, f"concurrent.futures.Future uses {sorted(missing)}, which ours lacks"


def test_the_lock_free_result_reads_the_states_it_expects() -> None:
    assert _base.FINISHED == "FINISHED"
    assert set(getattr(_base, "_FUTURE_STATES")) == {  # noqa: B009
        "PENDING",
        "RUNNING",
        "CANCELLED",
        "CANCELLED_AND_NOTIFIED",
        "FINISHED",
    }
    future: futurist.Future[int] = futurist.Future()
    future.set_result(3)
    assert (future._state, future._exception, future._result) == (_base.FINISHED, None, 3)


def test_the_rlock_keeps_the_methods_the_condition_uses() -> None:
    for name in ("_is_owned", "_release_save", "_acquire_restore"):
        assert callable(getattr(_thread.RLock, name, None)), name


def test_a_condition_is_what_the_standard_library_waits_on() -> None:
    source = inspect.getsource(_base.Future)
    used = set(re.findall(r"self\._condition\.(\w+)", source))
    condition = futurist.Future()._condition
    assert used <= {"wait", "notify_all", "notify", "__enter__", "__exit__"}, used
    assert all(callable(getattr(condition, name)) for name in used)


def test_a_future_made_running_by_its_caller_has_the_standard_state_when_read() -> None:
    """The synchronous kind's futures start without ``__init__``: every attribute the
    standard future sets is there when read (made on first read, or a class default)."""
    future = futurist.SynchronousExecutor().submit(int, "5")
    standard: concurrent.futures.Future[int] = concurrent.futures.Future()
    assert {name: type(getattr(future, name)) for name in ("_waiters", "_done_callbacks")} == {
        "_waiters": list,
        "_done_callbacks": list,
    }
    missing = {name for name in vars(standard) if not hasattr(future, name)}
    assert not missing
    assert (future._state, future._exception, future._result) == (_base.FINISHED, None, 5)
    with future._condition:
        assert future.done()
