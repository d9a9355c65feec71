"""Typed settings from the environment or `.env`, with errors that name the variable.

`load_settings()` is the only way the app reads configuration. `make demo` calls
`ensure_demo_secrets()` first, so that unset secrets are generated once and kept in
`.data/secrets.env` (git-ignored); variables that are set are always used as given.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_NAMES = (
    "SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_KEY",
    "SMARTLEAD_API_KEY",
    "SMARTLEAD_WEBHOOK_SECRET",
    "INTERNAL_API_SECRET",
    "OUTREACH_TRIGGER_SECRET",
    "GOOGLE_PLACES_API_KEY",
)
#: Secrets that the demo may invent; provider keys stay empty so the local providers run.
GENERATED_SECRETS = (
    "SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "SMARTLEAD_WEBHOOK_SECRET",
    "INTERNAL_API_SECRET",
    "OUTREACH_TRIGGER_SECRET",
)


class SettingsError(RuntimeError):
    """Raised with one readable line per bad variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str | None = None
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_base_url: str | None = None

    supabase_url: str | None = None
    supabase_anon_key: str | None = None
    supabase_service_role_key: str | None = None

    secret_key: str = Field("", description="signs cookies and encrypts TOTP secrets")
    stripe_webhook_secret: str = ""
    stripe_api_key: str = ""
    smartlead_api_key: str = ""
    smartlead_webhook_secret: str = ""
    smartlead_campaign_id: str = ""
    internal_api_secret: str = ""
    outreach_trigger_secret: str = ""
    google_places_api_key: str = ""

    #: The generated sites' own origin (https://sites.example.com); see api/site_host.py.
    sites_base_url: str | None = None
    #: The Stripe API base the `stripe` library calls (tests point it at a local server).
    stripe_api_base: str = "https://api.stripe.com"
    claim_price_cents: int = Field(49900, ge=50, le=10_000_000)
    claim_currency: str = Field("usd", pattern=r"^[a-z]{3}$")
    claim_product_name: str = Field("Your CliftonSites website", min_length=1, max_length=200)
    #: A Stripe Price id (price_...) to charge instead of CLAIM_PRICE_CENTS/CLAIM_CURRENCY.
    claim_price_id: str = ""
    #: Without STRIPE_API_KEY, offer the local test checkout (the demo turns it on).
    claim_test_checkout: bool = False
    #: Hunter.io domain search for owner emails (the contact step); empty: not used.
    hunter_api_key: str = ""
    hunter_api_base: str = "https://api.hunter.io"

    admin_email: str | None = None
    admin_password: str | None = None

    smtp_url: str = ""
    alert_email_from: str = "alerts@cliftonsites.local"
    alert_email_to: str = ""
    alert_webhook_url: str = ""
    alert_webhook_secret: str = ""
    alert_check_seconds: float = Field(2.0, ge=0.2, le=3600)
    health_tasks: bool = True

    nicegui_redis_url: str | None = None
    cookie_secure: Literal["auto", "always", "never"] = "auto"
    worker_pace_seconds: float = Field(2.0, ge=0, le=3600)
    pool_max_size: int = Field(10, ge=1, le=200)
    #: The largest request body any route reads (webhooks, API, pages); more is 413.
    max_body_bytes: int = Field(1024 * 1024, ge=1024, le=64 * 1024 * 1024)

    @field_validator("secret_key")
    @classmethod
    def _secret_key_strength(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters (try: openssl rand -hex 32)")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (e.g. postgresql://user@host:5432/db)")
        return value or None

    @field_validator("sites_base_url", "stripe_api_base", "hunter_api_base")
    @classmethod
    def _http_base(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (e.g. https://sites.example.com)")
        return value.rstrip("/") if value else value

    @property
    def app_base_url(self) -> str:
        """Where the admin app answers: PUBLIC_BASE_URL, else http://HOST:PORT."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def sites_url(self) -> str:
        """The sites' origin: SITES_BASE_URL, else the app's own address."""
        return self.sites_base_url or self.app_base_url

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_scheme(cls, value: str) -> str:
        if value and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("must start with smtp:// (STARTTLS) or smtps:// (TLS)")
        return value

    @property
    def alert_recipients(self) -> list[str]:
        """ALERT_EMAIL_TO as a list (comma-separated)."""
        return [a.strip() for a in self.alert_email_to.split(",") if a.strip()]

    @property
    def supabase_mode(self) -> bool:
        return bool(self.supabase_url)

    def require(self, *names: str) -> None:
        """Fail loudly when a setting this command needs is empty."""
        missing = [n for n in names if not getattr(self, n.lower())]
        if missing:
            raise SettingsError(
                "; ".join(f"{n} is not set: export it or put it in .env" for n in missing)
            )


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one line per variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        ]
        raise SettingsError("invalid configuration: " + "; ".join(lines)) from None
    if settings.supabase_mode and not (
        settings.supabase_anon_key and settings.supabase_service_role_key
    ):
        raise SettingsError(
            "SUPABASE_URL is set, so SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY are needed too"
        )
    return settings


def ensure_demo_secrets(data_dir: Path) -> list[str]:
    """Generate unset secrets into `<data_dir>/secrets.env` and export them.

    Returns the names that were generated now (kept ones are reused silently).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secrets.env"
    stored: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, _, value = line.partition("=")
                stored[key.strip()] = value.strip()
    generated = []
    for name in GENERATED_SECRETS:
        if os.environ.get(name):
            continue
        if name not in stored:
            prefix = "whsec_" if name == "STRIPE_WEBHOOK_SECRET" else ""
            stored[name] = prefix + secrets.token_urlsafe(32)
            generated.append(name)
        os.environ[name] = stored[name]
    body = "# generated by `cliftonsites demo`; delete to rotate\n"
    body += "".join(f"{k}={v}\n" for k, v in sorted(stored.items()))
    path.write_text(body)
    path.chmod(0o600)
    return generated
