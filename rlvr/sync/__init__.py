"""The weight-sync stage, both ends: the learner's push and its checks (`push`), the bytes on the wire
(`wire`), and the sampler's side that serves each received adapter inside vLLM (`serving`).
"""
