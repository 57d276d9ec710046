"""A tiny OpenID Connect provider on 127.0.0.1 for login tests (never for real use).

It serves the discovery document, an authorize endpoint that signs in whoever
the test names (`provider.next_email`) without a form, a token endpoint that
returns an RS256-signed id_token carrying the nonce Streamlit sent, and the
JWKS to check it. That is enough for Streamlit's st.login (Authlib) to run the
real code path: discovery, redirect, code exchange, id_token validation, cookie.

>>> with OidcStub() as provider:
...     provider.next_email = "north.lead@example.org"
...     provider.metadata_url   # -> server_metadata_url in secrets.toml
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "iop-test-client"
CLIENT_SECRET = "iop-test-secret-not-for-production"


class OidcStub:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self.next_email: str | None = None
        self.email_verified = True
        self.authorize_requests: list[dict[str, str]] = []
        self._codes: dict[str, dict[str, str]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.metadata_url = f"{self.issuer}/.well-known/openid-configuration"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle ----------------------------------------------------------
    def __enter__(self) -> "OidcStub":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def auth_secrets(self, app_port: int | None = None) -> str:
        """The [auth] section of a secrets.toml that points Streamlit at this provider.

        Without app_port the redirect URI says {port}, which Streamlit fills in with
        the port it serves on.
        """
        port = "{port}" if app_port is None else str(app_port)
        return (
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\n'
            f'client_id = "{CLIENT_ID}"\n'
            f'client_secret = "{CLIENT_SECRET}"\n'
            f'server_metadata_url = "{self.metadata_url}"\n'
        )

    # -- protocol -----------------------------------------------------------
    def _metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile"],
        }

    def _id_token(self, email: str, nonce: str | None) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer, "aud": CLIENT_ID, "sub": "sub-" + email, "iat": now, "exp": now + 600,
            "email": email, "email_verified": self.email_verified, "name": email.split("@")[0],
        }
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _json(self, body: dict, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    self._json(stub._metadata())
                elif url.path == "/jwks":
                    self._json({"keys": [stub.key.as_dict(private=False)]})
                elif url.path == "/authorize":
                    stub.authorize_requests.append(query)
                    if stub.next_email is None or query.get("client_id") != CLIENT_ID:
                        self._json({"error": "access_denied"}, 403)
                        return
                    code = secrets.token_urlsafe(16)
                    stub._codes[code] = {"email": stub.next_email, "nonce": query.get("nonce", "")}
                    target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                if urlparse(self.path).path != "/token":
                    self._json({"error": "not_found"}, 404)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                grant = stub._codes.pop(form.get("code", ""), None)
                if grant is None:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                self._json({
                    "access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 600,
                    "id_token": stub._id_token(grant["email"], grant["nonce"] or None),
                })

        return Handler
