"""Traffic shifting between live production variants."""
