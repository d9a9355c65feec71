"""The in-process event bus: one database subscription per process, coalesced bursts."""
