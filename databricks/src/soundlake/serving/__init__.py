"""Serving gold: its described catalogue (for the question box) and the local SQL endpoint."""
