"""The run stage: the CLI and its pre-flight checks, the driver loop, the actors, and the run folder.

`python -m rlvr.run CONFIG` enters through `cli.main`; `trainer.Trainer` is the loop; `actors` places the
learner and the samplers; `folder`, `checkpoint` and `outputs` own what a run leaves on disk.
"""
