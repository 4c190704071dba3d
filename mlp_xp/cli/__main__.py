"""``python -m mlp_xp.cli``: the same as the ``mlp-xp`` command."""

import sys

from .main import main

sys.exit(main())
