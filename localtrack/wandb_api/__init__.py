"""The parts of wandb's API that ``import localtrack as wandb`` needs beyond init/log/finish.

One job per module: step semantics (history), define_metric summaries (metric_defs), config
inputs (config_source), the disabled run (disabled), module-level assignment (module_attrs),
alert/watch, and the not-yet-supported media names (unsupported).
"""
