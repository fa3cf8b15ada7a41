"""Moved: the property tester drives sessions, so it lives in ``voxfsm.agents.testing``.

``voxfsm.fsm`` imports nothing of ``voxfsm.agents`` (the layering in the README); this module
only turns an old import into one clear error naming the new place.
"""

raise ImportError(
    "voxfsm.fsm.testing moved to voxfsm.agents.testing (same names): write "
    "`from voxfsm.agents.testing import check_workflow, replay, ...`"
)
