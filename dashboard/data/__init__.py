"""The typed data layer: the only code that talks to the database.

One async function per RPC of docs/rpc.md, grouped one module per domain:

- `queue`: the implementation queue (claims, deploys, failures, stale resets);
- `identification`: the search grid of targets;
- `automation`: status, commands, config, heartbeats, runs and logs;
- `overview`: dashboard snapshot, charts and business search;
- `payments`: Stripe events and claims;
- `outreach`: outreach events and campaign status.

Each function takes the `Backend` first and a keyword `caller` (the service role by
default), calls `api.rpc(...)` and returns pydantic models from `models`. Database
errors propagate as `dashboard.backends.base.BackendError`.
"""
