"""Command-line entry points: the `enkatbot` command and the terminal front end.

- `main`: the argument parser and `main()`; `python -m enkatbot` runs it.
- `common`: what every subcommand shares (the one `Settings`, the database, `CliError`).
- `admin` (insats, link, user), `run` (the bot), `chat` with `terminal` (a survey in the
  terminal), `rapport` (the indicator report): one module per area, each adding its subcommands.

This package sits on top: it may import `bot`, `analysis`, `storage` and `questionnaires`;
none of them imports it.
"""
