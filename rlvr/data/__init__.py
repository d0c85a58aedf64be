"""The data stage: prompt rows from files, reasoning-gym or the converters in `sources`, checked as read.

`prompts` reads, splits, chat-formats and streams rows (resumably); `checks` are the cheap per-row checks for
the built-in verifiers; `sources` convert public datasets into committed JSONL files (`scripts/build_data.py`).
Nothing here loads a model or scores anything.
"""
