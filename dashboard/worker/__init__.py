"""The automation worker (the VM side): identification, implementation and their providers.

- `main`: the `Worker` that runs one or both processes, obeys commands, heartbeats,
  resets stale claims and stops gracefully;
- `loop`: one process's state machine (desired state, runs, commands, pace);
- `identification` / `implementation`: one unit of work of each process;
- `guards`: the budget and health guards that pause a process by themselves;
- `listener`: LISTEN on `automation_commands`, so commands apply at once;
- `ports`: the provider interfaces; `finders`, `google_places`, `sites`: their
  implementations (demo finder, Google Places, Jinja2 site builder, local deployer);
- `store`: the few reads the worker needs that have no RPC (config row, counters).
"""
