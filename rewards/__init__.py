"""rewards: verifiers that score a completion against a dataset row, with a plugin registry.

Usable on its own (e.g. as TRL reward functions). Depends on `sandbox` for running code; never on `rlvr`.

    from rewards import make, RewardPool
    with RewardPool(workers=2, timeout_s=10) as pool:
        scores = pool.map(make("math"), [{"completion": "... The answer is 4.", "answer": "4"}])

Built-in verifiers (each also declared under the entry-point group `rlvr.verifiers`): math, code,
json_schema, tool_call, format, length_penalty. Importing this package does not import them (nor sympy):
`make(name)` imports on demand.
"""

from .base import MissingFieldError, Score, Verifier, check_fields
from .compose import Composite, trl_reward
from .pool import RewardPool
from .registry import (
                       DuplicateVerifierError,
                       UnknownVerifierError,
                       VerifierLoadError,
                       VerifierOptionError,
                       available,
                       describe,
                       make,
                       register,
)

__all__ = [
    "Score", "Verifier", "MissingFieldError", "check_fields",
    "register", "make", "available", "describe", "DuplicateVerifierError", "UnknownVerifierError",
    "VerifierLoadError", "VerifierOptionError",
    "Composite", "trl_reward", "RewardPool",
]
