"""Spec layer: pydantic models of every YAML spec, the loader with file:line positions, safe expressions."""
