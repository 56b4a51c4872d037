"""Run folders: which are training runs, which is newest, and where `--ckpt_path last` continues."""
