"""Indicator figures, charts and exports from the stored responses.

- `figures`: the figures of a period, `build_report`; it counts (`counting`), hides small
  groups (`suppression`) and returns a `Report` (`report_types`).
- `periods`, `formatting`, `texts`: measurement years and months, Swedish numbers and words.
- `table` (csv), `workbook` (xlsx), `charts` (png), `document` (md, html): the outputs.
- `summary`: the coordinators' monthly summary (`enkatbot rapport` lives in `enkatbot/`).
- `sample`: a made-up data set for tests, screenshots and benchmarks.

Nothing here touches storage, the bot or Telegram.
"""
