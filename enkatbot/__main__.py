"""`python -m enkatbot ARGS`: the same as the `enkatbot` command."""

import sys

from enkatbot.main import main

# Guarded: the bot's report process (multiprocessing, spawn) imports this module again.
if __name__ == "__main__":
    sys.exit(main())
