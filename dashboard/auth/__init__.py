"""Admin sign-in: providers, sessions, TOTP, recovery codes, throttling, the guard.

Others use:
- `get_auth()`: the process's `AuthService` (built on the runtime's database);
- `dashboard.auth.access`: `require_admin()` inside NiceGUI handlers, `step_up()`,
  and `require_admin_api` for FastAPI `/api/admin/*` routes;
- `dashboard.auth.ui.logout_button()` for the header.

In Supabase mode (`SUPABASE_URL` set) the service is built on the Supabase Auth
provider instead: it checks passwords and codes with Supabase, while sessions,
throttling, recovery codes and the audit trail stay in our private schema, and the
Supabase adapter sends each admin's access token for `authenticated` calls.
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
        if runtime.mode == "supabase":
            service = _supabase_service()
        else:
            service = AuthService.local(runtime.db, runtime.settings.secret_key)
        runtime.services["auth"] = service
    assert isinstance(service, AuthService)
    return service


def _supabase_service() -> AuthService:
    from dashboard.auth.crypto import SecretBox
    from dashboard.auth.supabase_provider import SupabaseAuthProvider
    from dashboard.backends.supabase import SupabaseBackend

    runtime = get_runtime()
    provider = SupabaseAuthProvider.from_settings(runtime.settings, runtime.db)
    if isinstance(runtime.api, SupabaseBackend):
        runtime.api.use_access_tokens(provider.access_token_for)
    runtime.services["auth_provider"] = provider  # closed by close_runtime()
    return AuthService(runtime.db, provider, SecretBox(runtime.settings.secret_key))
