"""Raw stage: readers of raw EDC exports, raw findings and reconciliation counts."""
