"""golden_batch package."""
