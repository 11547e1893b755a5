"""``python -m promptab_nb``: the ``promptab`` command (as ``python -m promptab_nb.cli``)."""

import sys

from .cli import main

sys.exit(main())
