"""Alerts: rules in the database, an evaluator that runs once across instances, an
outbox of messages delivered by email (SMTP or a local folder) and webhook."""
