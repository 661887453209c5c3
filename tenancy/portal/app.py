"""`tenancy portal`: the self-service portal, a Starlette application with server-rendered Jinja2
templates (no JavaScript at all), served by uvicorn.

Sessions are a signed cookie (Starlette's SessionMiddleware: itsdangerous, HttpOnly, SameSite=Lax;
`Secure` with --secure-cookies) that holds the ID token the user signed in with, re-verified on
every request, and the CSRF token every form carries. The signing key comes from
TENANCY_PORTAL_SECRET (at least 32 characters); without it a random key is made at start, so
restarting the portal signs everybody out.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from tenancy.exits import CommandError
from tenancy.portal import views
from tenancy.portal.auth import AuthConfig, Authenticator, AuthError
from tenancy.portal.data import Sources
from tenancy.portal.proposals import Proposer

HERE = Path(__file__).resolve().parent
SECRET_ENV = "TENANCY_PORTAL_SECRET"
SESSION_COOKIE = "tenancy_portal"
SESSION_SECONDS = 8 * 3600
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


@dataclass
class PortalSettings:
    sources: Sources
    auth: AuthConfig
    proposer: Optional[Proposer] = None
    secret_key: Optional[str] = None
    secure_cookies: bool = False


def secret_from_environment() -> Optional[str]:
    secret = os.environ.get(SECRET_ENV)
    if secret is not None and len(secret) < 32:
        raise CommandError(f"{SECRET_ENV} must be at least 32 characters")
    return secret


class SecurityHeaders:
    """Headers every response gets unless it sets its own (the reports set a looser style policy)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def sending(message):
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, sending)


def _error(request: Request, status: int, message: str) -> Response:
    try:
        return views.render(request, "error.html", {"status": status, "message": message}, status=status)
    except Exception:  # noqa: BLE001 - an error page must never fail in turn
        return Response(f"{status}: {message}\n", status_code=status, media_type="text/plain")


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return _error(request, exc.status_code, exc.detail)


async def _auth_error(request: Request, exc: AuthError) -> Response:
    return _error(request, exc.status, f"not signed in: {exc.reason}")


async def _login_required(request: Request, exc: views.LoginRequired) -> Response:
    if request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={target}" if target != "/" else "/login", status_code=303)
    return _error(request, 401, "sign in first")


def create_app(settings: PortalSettings) -> Starlette:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["Service"] = views.Service
    known = settings.sources.tenant_ids
    portal = views.Portal(settings.sources, Authenticator(settings.auth, known), templates, settings.proposer)
    routes = [
        Route("/", views.home),
        Route("/login", views.login_page, methods=["GET"]),
        Route("/login", views.login, methods=["POST"]),
        Route("/logout", views.logout, methods=["POST"]),
        Route("/healthz", views.health),
        Route("/tenants/{tenant}", views.tenant_page, methods=["GET"]),
        Route("/tenants/{tenant}/{form}", views.change, methods=["POST"]),
        Route("/reports/{kind}", views.report, methods=["GET"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=settings.secret_key or secrets.token_urlsafe(48),
                   session_cookie=SESSION_COOKIE, max_age=SESSION_SECONDS, same_site="lax",
                   https_only=settings.secure_cookies),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={
        HTTPException: _http_error, AuthError: _auth_error, views.LoginRequired: _login_required})
    app.state.portal = portal
    settings.sources.start_plan()
    return app


def serve(settings: PortalSettings, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", proxy_headers=False,
                server_header=False)
