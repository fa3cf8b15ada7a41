"""``python -m voxfsm.io.cli``: the ``voxfsm`` command."""

import sys

from voxfsm.io.cli import main

sys.exit(main())
