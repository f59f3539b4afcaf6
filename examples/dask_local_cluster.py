"""Scaling out: the same code on a Dask cluster, chosen by the configuration file.

Run it from anywhere: ``python examples/dask_local_cluster.py`` (needs futurist's ``dask``
extra). With no ``scheduler_address`` the executor starts a cluster of worker processes on
127.0.0.1 and closes it at shutdown; pointing ``scheduler_address`` at a real scheduler
(``tcp://host:8786``) runs the same calls on many machines, with no change to the code. The
2,000 calls go in chunks of 100, so the executor counts 20. It prints::

    2000 numbers, on worker processes only: True
    the longest path to 1 below 2001 starts at 1161: 181 steps
    statistics: ExecutorStatistics(failures=0, executed=20, runtime=..., cancelled=0)
"""

import os
import tempfile
from pathlib import Path

from oslo_config import cfg

from futurist import plugins

CONFIG = """\
[futurist]
executor = dask
n_workers = 2
threads_per_worker = 1
"""


def collatz_steps(start):
    """CPU-bound pure Python: how many steps ``start`` takes to reach 1, and where it ran."""
    n, steps = start, 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return start, steps, os.getpid()


def main():
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "service.conf")
        path.write_text(CONFIG)
        conf = cfg.ConfigOpts()
        conf(args=["--config-file", str(path)])
        with plugins.from_config(conf) as executor:
            results = list(executor.map(collatz_steps, range(1, 2_001), chunksize=100))
    number, steps, _ = max(results, key=lambda result: result[1])
    processes = {pid for _, _, pid in results}
    print(f"{len(results)} numbers, on worker processes only: {os.getpid() not in processes}")
    print(f"the longest path to 1 below 2001 starts at {number}: {steps} steps")
    print(f"statistics: {executor.statistics}")


if __name__ == "__main__":  # the cluster's worker processes import this module
    main()
