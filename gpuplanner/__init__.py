"""gpuplanner: how many GPUs, of which kind, at what cost, to train or serve an LLM."""
import time

__version__ = "0.1.0"

# When the interpreter first loaded gpuplanner: the zero of the start-up time that
# `--smoke-test` prints (the process may have started long before, e.g. in a setup script
# that exec'd Python; the interpreter's own start before this line is ~20 ms).
STARTED_AT_S = time.perf_counter()
