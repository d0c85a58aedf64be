"""sandbox: run untrusted, model-written code against trusted tests on one machine.

Knows nothing of rewards or training; depends on neither `rewards` nor `rlvr`.
"""
