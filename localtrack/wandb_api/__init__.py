"""The parts of wandb's API that ``import localtrack as wandb`` needs beyond init/log/finish.

One job per module: step semantics (history), define_metric summaries (metric_defs), config
inputs (config_source), settings/login (settings), alert/watch, and the not-yet-supported
media names (unsupported). A layer below the run API (``localtrack.api``), which uses them:
nothing here imports the run, its views or the live-run registry. The parts that need the
current run (``active``, ``disabled``, ``module_attrs``) live in ``localtrack/api/``.
"""
