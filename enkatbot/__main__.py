"""`python -m enkatbot ARGS`: the same as the `enkatbot` command."""

import sys

from enkatbot.main import main

sys.exit(main())
