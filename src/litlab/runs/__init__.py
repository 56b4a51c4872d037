"""Run folders: claimed atomically by a new run, which are training runs, which is newest, and where
`--ckpt_path last` continues."""
