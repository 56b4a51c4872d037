"""`litlab sweep`: Optuna searches and repeated seeds over ordinary `litlab fit` runs.

- `spec`: the sweep file and options; `space`: the searched config keys as Optuna distributions;
- `strategy`: sampler and pruner by name; `storage`: where the study lives, heartbeat and retry;
- `trial_run`: one trial as an in-process `litlab fit` run; `workers`: the optimize loop, N processes;
- `artifacts`: best.yaml, the summary table and the plots; `command`: the command line.

See docs/sweeps.md.
"""
