"""The doctor's checks, one module per thing checked: `objects` (tables, functions,
triggers, views), `policies`, `indexes`, `migrations`, `realtime`, `outreach`. Each
check takes the catalog snapshot and returns its findings and what it verified."""

MIGRATE = "cliftonsites db migrate --database-url <url>"
