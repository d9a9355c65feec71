"""Admin sign-in: providers, sessions, TOTP, recovery codes, throttling, the guard.

Others use:
- `get_auth()`: the process's `AuthService` (built on the runtime's database);
- `dashboard.auth.access`: `require_admin()` inside NiceGUI handlers, `step_up()`,
  and `require_admin_api` for FastAPI `/api/admin/*` routes;
- `dashboard.auth.ui.logout_button()` for the header.

In Supabase mode another provider can be installed before the first request with
`get_runtime().services["auth"] = AuthService(db, SupabaseProvider(...), box)`.
"""

from __future__ import annotations

from dashboard.auth.service import AuthService
from dashboard.runtime import get_runtime


def get_auth() -> AuthService:
    """The runtime's auth service, built on first use (local provider by default)."""
    runtime = get_runtime()
    service = runtime.services.get("auth")
    if service is None:
        runtime.settings.require("SECRET_KEY")
        service = AuthService.local(runtime.db, runtime.settings.secret_key)
        runtime.services["auth"] = service
    assert isinstance(service, AuthService)
    return service
