"""The typed data layer: the door to the database for pages, components and routes.

One async function per RPC of docs/rpc.md, grouped one module per domain:

- `queue`: the implementation queue (claims, deploys, failures, stale resets);
- `identification`: the search grid of targets;
- `automation`: status, commands, config, heartbeats, runs and logs;
- `overview`: dashboard snapshot, charts and business search;
- `payments`: Stripe events and claims;
- `outreach`: outreach events and campaign status;

and the reads and writes the pages make beside the RPCs: `businesses` (one business's
page, its audited status and outreach changes), `history` (keyset pages and live rows
of logs, runs and audit), `filters` (each view's filters), plus `contacts`, `sites`,
`alerts` and `health_reads`.

Each function takes the `Backend` first and a keyword `caller` (the service role by
default), calls `api.rpc(...)` and returns pydantic models from `models`. Database
errors propagate as `BackendError`; callers import it, with `Filter`, `Order` and the
other query types, from `query` (never from `dashboard.backends`).
"""
