"""``python -m voxfsm.io.cli``: the ``voxfsm`` command."""

from voxfsm.io.cli import entry_point

entry_point()
