"""Hazards on signs: reported, notified, fixed and verified, on day and night patrols."""
