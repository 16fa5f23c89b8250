"""Model quality: captured predictions joined with ground truth, mergeable counts, metrics."""
