"""Honest health: the staleness clock, the health summary every page shows, and alerts."""
