"""Where model work runs: worker processes that train taste and genre models for the core's queue."""
