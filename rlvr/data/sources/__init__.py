"""Build-time converters from public benchmarks to the committed task files in `configs/data/`.

Each module reads one source's files as released (a wheel's data folder, a repository's JSON) and returns
rows for one verifier plus a tally of what it left out and why. `scripts/build_data.py` runs them and
writes the JSONL files; `configs/data/README.md` records sources, licences, commands and counts.

What this package does NOT do: run at training time (runs read the committed files through `rlvr.data.prompts`),
download anything (the caller passes folders it fetched), or import the benchmarks' own packages.
"""
