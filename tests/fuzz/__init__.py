"""The project's own fuzz suite: mutated real checkpoints through every command (``scripts/fuzz``)."""
