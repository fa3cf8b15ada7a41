"""The ``voxfsm`` root package: only here so that ``python -m voxfsm`` runs the command line.

Everything else lives in ``voxfsm.fsm``, ``voxfsm.agents``, ``voxfsm.io`` and
``voxfsm.examples``; this folder is mapped to ``voxfsm`` in setup.cfg (``package_dir``).
"""
