"""The learning stage: group advantages and the GRPO loss (`grpo`, pure), the QLoRA policy (`policy`) and the
learner that takes one optimizer step per batch (`learner`, a plain class and its Ray actor).
"""
