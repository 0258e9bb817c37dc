"""Simulation: a synthetic EDC export of NCT04471480 from a calibrated per-subject truth."""
