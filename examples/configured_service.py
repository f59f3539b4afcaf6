"""A service that picks its pool from its config file and resizes it when the file is reloaded.

Run it from anywhere: ``python examples/configured_service.py``. It writes its configuration to a
temporary directory, serves a first batch of jobs on the pool the file describes, then edits the
file and sends itself SIGHUP -- as an operator would -- and serves a second batch on the resized
pool, without a restart and without losing queued work. It prints::

    jobs 0-99: 100 on 2 threads
    jobs 100-199: 100 on 6 threads
    statistics: ExecutorStatistics(failures=0, executed=200, runtime=..., cancelled=0)
"""

import hashlib
import os
import signal
import tempfile
import threading
from pathlib import Path

from oslo_config import cfg

from futurist import plugins

CONFIG = """\
[futurist]
executor = thread
max_workers = {workers}
max_backlog = 500
thread_name_prefix = jobs
"""


def digest(job):
    """One job: blocking work (hashing stands in for I/O or a C library)."""
    return hashlib.sha256(str(job).encode() * 10_000).hexdigest()[:12]


def serve(executor, jobs):
    futures = [executor.submit(digest, job) for job in jobs]
    results = [future.result() for future in futures]
    print(f"jobs {jobs.start}-{jobs.stop - 1}: {len(results)} on {executor.max_workers} threads")


def main():
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "service.conf")
        path.write_text(CONFIG.format(workers=2))
        conf = cfg.ConfigOpts()
        conf(args=["--config-file", str(path)])

        reloaded = threading.Event()

        def reload(signum, frame):
            conf.mutate_config_files()  # every pool from_config built takes its new size
            reloaded.set()

        signal.signal(signal.SIGHUP, reload)

        with plugins.from_config(conf) as executor:
            serve(executor, range(0, 100))

            path.write_text(CONFIG.format(workers=6))  # the operator edits the file...
            os.kill(os.getpid(), signal.SIGHUP)  # ...and asks the service to reload it
            if not reloaded.wait(timeout=10):
                raise RuntimeError("the configuration was not reloaded")
            assert executor.max_workers == 6, executor.max_workers

            serve(executor, range(100, 200))
        print(f"statistics: {executor.statistics}")


if __name__ == "__main__":
    main()
