"""Rectification and campaign reports, computed in the database."""
