"""Main file for NiceGUI's User fixture: builds the real app."""
