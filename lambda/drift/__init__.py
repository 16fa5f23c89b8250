"""Data-drift checks on captured endpoint traffic."""
