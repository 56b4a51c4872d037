"""Checkpoint files: written atomically, read in one place with one error policy, matched to a config, exported."""
