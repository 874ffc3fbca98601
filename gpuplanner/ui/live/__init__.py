"""The Live tab: telemetry plots and the process table, fed by a sampler."""
