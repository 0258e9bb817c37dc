"""Lineage: ids and edges, define.xml, trace queries, the run manifest."""
