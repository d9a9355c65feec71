"""Admin actions: what an admin may do, the rule that says whether it applies, and the
message they are shown when it does not. Each action writes through the data layer
(`dashboard/data/`), which does the change and its audit row in one transaction."""
