"""Zones (the town's three market-town areas) and their roads."""
