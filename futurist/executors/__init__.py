"""The executor kinds; each shares the contract implemented in :mod:`futurist.executors.base`."""
