"""HTTP routes outside NiceGUI: webhooks, internal routes, admin API and health. No UI imports."""
