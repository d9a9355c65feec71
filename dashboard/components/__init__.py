"""Reusable UI pieces: the page frame, cards, server-paged tables, charts, time display.

Components take data and callbacks; they never query the database themselves.
"""
