"""Identity providers for the tests: Cognito-like user pools with generated RSA keys, whose JWKS a
loopback HTTP server publishes (counting fetches), and that mint tokens shaped like Cognito's."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tenancy.context.tokens import TENANT_CLAIM, TenantIssuer

REGION = "eu-west-1"


class JwksServer:
    """A loopback HTTP server: path -> JSON document; `hits[path]` counts the GETs."""

    def __init__(self):
        self.documents: dict[str, bytes] = {}
        self.hits: Counter = Counter()
        self.failing = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                outer.hits[self.path] += 1
                body = outer.documents.get(self.path)
                if outer.failing or body is None:
                    self.send_response(503 if outer.failing else 404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # stop() waits for the loop's next poll: a twentieth of a second, not the default half
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def publish(self, path: str, document: dict) -> str:
        self.documents[path] = json.dumps(document).encode()
        return self.base + path

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict:
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


class UserPool:
    """One Cognito-like user pool: its issuer, its key(s), its JWKS (published on the server)."""

    def __init__(self, server: JwksServer, name: str, key: rsa.RSAPrivateKey | None = None):
        self.name = name
        self.pool_id = f"{REGION}_{name}"
        self.issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"
        self.key = key or new_key()
        self.kid = f"{name}-key-1"
        self.server = server
        self.path = f"/{self.pool_id}/.well-known/jwks.json"
        self.jwks_url = server.publish(self.path, {"keys": [public_jwk(self.key, self.kid)]})

    def entry(self, client_id: str, own_pool: bool = False) -> TenantIssuer:
        return TenantIssuer(self.issuer, self.jwks_url, client_id, own_pool=own_pool)

    def claims(self, tenant: str | None, client_id: str, token_use: str = "id", lifetime: int = 3600,
               issued: float | None = None, **extra) -> dict:
        now = time.time() if issued is None else issued
        claims = {"sub": str(uuid.uuid4()), "iss": self.issuer, "token_use": token_use,
                  "iat": int(now), "auth_time": int(now), "exp": int(now + lifetime)}
        if token_use == "id":
            claims["aud"] = client_id
        else:
            claims["client_id"] = client_id
        if tenant is not None:
            claims[TENANT_CLAIM] = tenant
        claims.update(extra)
        return claims

    def sign(self, claims: dict, key: rsa.RSAPrivateKey | None = None, kid: str | None = None,
             algorithm: str = "RS256") -> str:
        return jwt.encode(claims, key or self.key, algorithm=algorithm, headers={"kid": kid or self.kid})

    def token(self, tenant: str | None, client_id: str, **options) -> str:
        return self.sign(self.claims(tenant, client_id, **options))
