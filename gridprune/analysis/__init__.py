"""Analyses of a model's representations that need numpy only (no torch)."""
