"""rewards: verifiers that score a completion against a dataset row, with a plugin registry.

Usable on its own (e.g. as TRL reward functions). Depends on `sandbox` for running code; never on `rlvr`.
"""
