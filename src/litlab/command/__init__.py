"""The `litlab` command: the LightningCLI, its shared defaults (defaults.yaml) and the errors it reports."""
