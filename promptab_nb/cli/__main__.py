"""``python -m promptab_nb.cli``: the ``promptab`` command."""

import sys

from . import main

sys.exit(main())
