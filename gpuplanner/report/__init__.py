"""gpuplanner."""
