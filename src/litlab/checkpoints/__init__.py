"""Checkpoint files: written atomically (last.ckpt after the best), read in one place with one error policy, matched
to a config, exported."""
