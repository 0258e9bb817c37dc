"""I/O: atomic writes, SAS XPT v5 with checks, Dataset-JSON, dataset metadata."""
