"""Day and night patrols: who walked where, when, and which shops they visited."""
