"""The ray kind on a cluster started with ``ray start --head``, token authentication on.

The head node runs in its own process group (``ray start --block``), and each driver in a
child interpreter: a process connects to one Ray cluster, and this one already holds the
shared instance. Teardown ends every process the head started, found by its temp directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
WAIT = 120.0

DRIVER = textwrap.dedent(
    """
    import sys
    import futurist

    address, token_file = sys.argv[1], sys.argv[2] or None
    try:
        executor = futurist.RayExecutor(ray_address=address, auth_token_file=token_file)
    except ConnectionError as refused:
        print("REFUSED", refused, flush=True)
        sys.exit(0)
    print("OWNS", executor.owns_instance, flush=True)
    print("RESULT", executor.submit(pow, 2, 5).result(60), flush=True)
    executor.shutdown()
    print("DONE", flush=True)
    """
)


@pytest.fixture(scope="module")
def head() -> Iterator[tuple[str, Path, dict[str, str]]]:
    """A one-CPU head node on 127.0.0.1 requiring a token: its address, token file, env."""
    with _head_node() as started:
        yield started


@contextlib.contextmanager
def _head_node() -> Iterator[tuple[str, Path, dict[str, str]]]:
    """Start a head node; end every process of it on the way out."""
    base = Path(tempfile.mkdtemp(prefix="fr"))  # short: Ray's socket paths must fit
    token = base / "token"
    token.write_text(secrets.token_hex(32))
    env = {
        **os.environ,
        "HOME": str(base),
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
        "RAY_NUM_REDIS_GET_RETRIES": "3",
    }
    ray = str(Path(sys.executable).parent / "ray")
    head_process = subprocess.Popen(
        [
            *(ray, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", "0"),
            *("--num-cpus", "1", "--include-dashboard", "false", "--disable-usage-stats"),
            *("--temp-dir", str(base / "t")),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield _address_of(head_process), token, env
    finally:
        _end_head(head_process, base)
        shutil.rmtree(base, ignore_errors=True)


def _address_of(head_process: subprocess.Popen[str]) -> str:
    """The address ``ray start`` prints for other nodes, read from its output as it comes; the
    rest of its output is read on by a thread, so the head never blocks on a full pipe."""
    seen: list[str] = []
    address: list[str] = []
    told = threading.Event()

    def read() -> None:
        assert head_process.stdout is not None
        for line in head_process.stdout:
            seen.append(line)
            found = re.search(r"ray start --address='([^']+)'", line)
            if found and not address:
                address.append(found.group(1))
                told.set()
        told.set()  # the head's output ended: it stopped

    threading.Thread(target=read, name="ray-head-output", daemon=True).start()
    assert told.wait(WAIT) and address, f"the head node did not start:\n{''.join(seen)}"
    return address[0]


def _listener() -> socket.socket:
    """A socket on 127.0.0.1 a call connects to once it runs: waiting for that connection
    waits for the call to start, with no polling."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WAIT)
    return listener


def _end_head(head_process: subprocess.Popen[str], base: Path) -> None:
    """SIGTERM to ``ray start --block``, which stops the node's processes (as ``ray stop``
    would, but only this node's); then SIGKILL to whatever of the node is left."""
    head_process.terminate()
    try:
        head_process.wait(WAIT)
    finally:
        for pid in _pids_using(base):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        head_process.kill()
        head_process.wait()
    assert not _pids_using(base)


def _pids_using(base: Path) -> list[int]:
    """The processes whose command line names the head's directory (its temp dir)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ")[-1][:1]
        except OSError:
            continue
        if str(base).encode() in command and state != "Z":
            pids.append(int(entry.name))
    return pids


def _drive(address: str, token: Path | None, env: dict[str, str]) -> subprocess.Popen[str]:
    child_env = {**env, "PYTHONPATH": str(ROOT)}
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH"):
        child_env.pop(name)
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, address, str(token or "")],
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_a_driver_with_the_token_runs_calls_and_one_without_is_refused(
    head: tuple[str, Path, dict[str, str]],
) -> None:
    address, token, env = head
    refused = _drive(address, None, env)
    accepted = _drive(address, token, env)
    out, err = refused.communicate(timeout=WAIT)
    assert "REFUSED cannot connect to the Ray cluster at" in out, err
    assert "set auth_token_file" in out
    out, err = accepted.communicate(timeout=WAIT)
    assert accepted.returncode == 0, err
    assert "OWNS False" in out  # a driver connected by address never stops the cluster
    assert "RESULT 32" in out and "DONE" in out
    assert token.read_text() not in out + err  # the token is never shown


OWNED = textwrap.dedent(
    """
    import socket, threading
    import ray
    import futurist

    def announce_then_run_long(port):
        socket.create_connection(("127.0.0.1", port)).close()
        threading.Event().wait()  # runs until kill_workers() ends it

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(60)
    first = futurist.RayExecutor(max_workers=1)
    second = futurist.RayExecutor(max_workers=1)
    assert first.owns_instance and second.owns_instance
    running = second.submit(announce_then_run_long, listener.getsockname()[1])
    queued = second.submit(pow, 2, 2)
    listener.accept()[0].close()  # the call is running
    second.kill_workers()
    assert isinstance(running.exception(60), futurist.CallStopped), running
    assert queued.cancelled()
    assert ray.is_initialized()  # the first executor still uses the instance
    assert first.submit(pow, 2, 3).result(60) == 8
    first.shutdown()
    assert not ray.is_initialized()  # the last executor stopped the instance it started
    print("OK")
    """
)


@pytest.mark.slow
def test_an_owned_instance_is_shared_and_stopped_by_the_last_executor(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    env.pop("RAY_ADDRESS", None)
    driver = subprocess.Popen(
        [sys.executable, "-c", OWNED],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its Ray instance's processes too: ended together if it fails
    )
    try:
        out, err = driver.communicate(timeout=WAIT / 2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
    assert driver.returncode == 0 and "OK" in out, err[-3000:]


LOSES_ITS_CLUSTER = textwrap.dedent(
    """
    import socket, sys, threading
    import futurist

    address, token_file, port = sys.argv[1:]

    def announce_then_run_long(port):
        socket.create_connection(("127.0.0.1", port)).close()
        threading.Event().wait()  # runs until its cluster goes

    executor = futurist.RayExecutor(
        ray_address=address, auth_token_file=token_file, max_workers=1, connect_timeout=1
    )
    running = executor.submit(announce_then_run_long, int(port))
    queued = executor.submit(pow, 2, 2)
    for future in (running, queued):
        error = future.exception(60)
        print("FAILED", isinstance(error, futurist.BrokenExecutor), flush=True)
        print("ERROR", type(error).__name__, error, flush=True)
    try:
        executor.submit(pow, 2, 3)
    except futurist.BrokenExecutor:
        print("SUBMIT REFUSED", flush=True)
    executor.shutdown()
    print("DONE", flush=True)
    """
)


@pytest.mark.slow
def test_a_cluster_that_goes_away_fails_every_accepted_call_and_nothing_hangs() -> None:
    with _head_node() as (address, token, env):
        child_env = {**env, "PYTHONPATH": str(ROOT)}
        for name in (
            "RAY_AUTH_MODE",
            "RAY_AUTH_TOKEN_PATH",
            "RAY_gcs_rpc_server_reconnect_timeout_s",
        ):
            child_env.pop(name, None)
        listener = _listener()
        port = str(listener.getsockname()[1])
        driver = subprocess.Popen(
            [sys.executable, "-c", LOSES_ITS_CLUSTER, address, str(token), port],
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            with contextlib.closing(listener):
                listener.accept()[0].close()  # the call runs on the cluster
            base = token.parent
            # The head crashes: every process of it at once (the driver names the token file).
            for pid in set(_pids_using(base)) - {driver.pid}:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            out, err = driver.communicate(timeout=WAIT)
        finally:
            driver.kill()
            driver.wait()
    ours = ("FAILED", "ERROR", "SUBMIT", "DONE")  # Ray prints its own lines too
    lines = [line for line in out.splitlines() if line.startswith(ours)]
    # The running call fails as Ray reports it (its node died: WorkerCrashed) or when the
    # executor finds the cluster gone; the queued one when the executor does.
    assert lines[0::2][:2] == ["FAILED True", "FAILED True"], err[-3000:]
    assert lines[1].startswith(("ERROR WorkerCrashed", "ERROR BrokenExecutor")), lines
    assert lines[3].startswith("ERROR BrokenExecutor RayExecutor lost its Ray cluster"), lines
    assert lines[4:] == ["SUBMIT REFUSED", "DONE"], err[-3000:]
    assert driver.returncode == 0
