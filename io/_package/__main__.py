"""``python -m voxfsm``: the ``voxfsm`` command."""

from voxfsm.io.cli import entry_point

entry_point()
