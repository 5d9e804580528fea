"""`python -m ikefleet` runs the command line."""

import sys

from ikefleet.cli import main

sys.exit(main())
