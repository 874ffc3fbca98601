"""gpuplanner: how many GPUs, of which kind, at what cost, to train or serve an LLM."""

__version__ = "0.1.0"
