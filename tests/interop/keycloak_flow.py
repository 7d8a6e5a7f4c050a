#!/usr/bin/env python3
"""Obtain tokens from the example Keycloak realm (examples/keycloak/realm-mcp.json), headlessly.

Standard library only (runs with any Python 3.9+). Prints one JSON object on stdout; diagnostics go
to stderr; exit code 0 on success, 1 on failure, 2 on usage errors.

Usage:
  keycloak_flow.py [--issuer URL] client-credentials [--client-id mcp-service]
        [--client-secret mcp-service-secret] [--scope "mcp:read mcp:write"]
  keycloak_flow.py [--issuer URL] pkce --user demo --password demo123
        [--client-id mcp-client] [--scope "openid mcp:read mcp:write"]
        [--redirect-uri http://127.0.0.1:53682/callback] [--resource URL]
  keycloak_flow.py [--issuer URL] register [--redirect-uri URI] [--name NAME] [--scope S]
  keycloak_flow.py browser AUTHORIZATION_URL [--user demo] [--password demo123]
  keycloak_flow.py [--issuer URL] verify

  --issuer defaults to $KEYCLOAK_URL/realms/mcp, else http://localhost:8180/realms/mcp.

client-credentials and pkce print the token endpoint's response plus "claims", the decoded access
token payload (not verified: this is a test helper), e.g.
  {"access_token": "...", "token_type": "Bearer", "expires_in": 900, "scope": "mcp:read ...",
   "claims": {"iss": "...", "aud": [...], "sub": "...", "azp": "...", "scope": "..."}}
pkce drives the authorization-code flow with PKCE S256 like a browser would: it requests the
authorization endpoint, submits Keycloak's login form with the user's password, and takes the code
from the redirect to --redirect-uri (no listener is needed there: the redirect is not followed).

browser plays the user's browser for a client that opened AUTHORIZATION_URL and listens on its
redirect URI (mcp-remote, the SDK clients): it logs in and then delivers the redirect to that
listener. User and password default to $KEYCLOAK_USER / $KEYCLOAK_PASSWORD, else demo/demo123. Use
it as the browser of such clients: PATH=tests/interop/headless-bin:$PATH (see the script there).

register performs anonymous dynamic client registration (RFC 7591) at the realm's
registration_endpoint and prints the registered client (client_id, ...).

verify checks that the realm behaves as the examples and tests expect and prints a JSON report
without tokens: client-credentials token with aud mcp-server and the mcp scopes; demo gets
mcp:read mcp:write but not mcp:admin; admin gets all three; anonymous DCR from localhost works and
the registered client can complete the PKCE flow.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html.parser
import http.cookiejar
import json
import os
import re
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = 30


class FlowError(Exception):
    """A step of a flow failed; the message says which and why."""


def default_issuer() -> str:
    base = os.environ.get("KEYCLOAK_URL", "http://localhost:8180").rstrip("/")
    return f"{base}/realms/mcp"


def http_json(req: urllib.request.Request, opener=None) -> dict:
    opener = opener or urllib.request.build_opener()
    try:
        with opener.open(req, timeout=TIMEOUT) as resp:
            return json.loads(resp.read().decode())
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")[:500]
        raise FlowError(f"{req.get_method()} {req.full_url} -> HTTP {e.code}: {body}") from None
    except urllib.error.URLError as e:
        raise FlowError(f"{req.get_method()} {req.full_url} failed: {e.reason}") from None


def discover(issuer: str) -> dict:
    return http_json(urllib.request.Request(f"{issuer}/.well-known/openid-configuration"))


def decode_jwt_payload(token: str) -> dict:
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError) as e:
        raise FlowError(f"access token is not a JWT: {e}") from None


def token_request(meta: dict, form: dict, basic_auth: tuple[str, str] | None = None) -> dict:
    data = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(meta["token_endpoint"], data=data, method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    if basic_auth:
        cred = ":".join(urllib.parse.quote(p, safe="") for p in basic_auth)
        req.add_header("Authorization", "Basic " + base64.b64encode(cred.encode()).decode())
    tok = http_json(req)
    if "access_token" not in tok:
        raise FlowError(f"token response without access_token: {sorted(tok)}")
    tok["claims"] = decode_jwt_payload(tok["access_token"])
    return tok


def client_credentials(issuer: str, client_id: str, secret: str, scope: str | None) -> dict:
    meta = discover(issuer)
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    return token_request(meta, form, basic_auth=(client_id, secret))


class _FormParser(html.parser.HTMLParser):
    """Finds the login form (action + hidden inputs) in Keycloak's login page."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None and a.get("action"):
            self.action = a["action"]
            self._in_form = True
        elif tag == "input" and self._in_form and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False


class _LoopbackCookiePolicy(http.cookiejar.DefaultCookiePolicy):
    """Sends `Secure` cookies over plain http to loopback hosts, as browsers do (a secure context)."""

    def return_ok_secure(self, cookie, request):
        host = urllib.parse.urlsplit(request.get_full_url()).hostname or ""
        if host in ("localhost", "127.0.0.1", "::1"):
            return True
        return super().return_ok_secure(cookie, request)


class _StopAtRedirect(urllib.request.HTTPRedirectHandler):
    """Follows redirects inside Keycloak, but stops at the client's redirect URI."""

    def __init__(self, redirect_uri: str) -> None:
        self.redirect_uri = redirect_uri
        self.final: str | None = None

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if newurl.startswith(self.redirect_uri):
            self.final = newurl
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def browser_login(authorization_url: str, user: str, password: str, redirect_uri: str) -> str:
    """Plays the browser: opens authorization_url, submits Keycloak's login form with the user's
    password, and returns the URL Keycloak redirects to under redirect_uri (with code and state).
    The redirect itself is not followed, so nothing needs to listen on redirect_uri."""
    stopper = _StopAtRedirect(redirect_uri)
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar(policy=_LoopbackCookiePolicy())), stopper)

    def fetch(req):
        try:
            with opener.open(req, timeout=TIMEOUT) as resp:
                return resp.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            if stopper.final:  # urllib raises on the 302 we declined to follow
                return ""
            body = e.read().decode(errors="replace")
            raise FlowError(f"{req.get_method()} {req.full_url.split('?')[0]} -> HTTP {e.code}: "
                            f"{_page_error(body) or body[:300]}") from None
        except urllib.error.URLError as e:
            raise FlowError(f"{req.full_url.split('?')[0]} failed: {e.reason}") from None

    page = fetch(urllib.request.Request(authorization_url))
    if not stopper.final:
        form = _FormParser()
        form.feed(page)
        if not form.action:
            raise FlowError(f"no login form on the authorization page: {_page_error(page) or page[:300]}")
        fields = dict(form.fields)
        fields.update({"username": user, "password": password})
        req = urllib.request.Request(form.action.replace("&amp;", "&"),
                                     data=urllib.parse.urlencode(fields).encode(), method="POST")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        page = fetch(req)
    if not stopper.final:
        raise FlowError(f"login did not redirect to {redirect_uri}: {_page_error(page) or 'no error shown'}")
    return stopper.final


def pkce(issuer: str, client_id: str, user: str, password: str, scope: str,
         redirect_uri: str, resource: str | None = None) -> dict:
    meta = discover(issuer)
    if "S256" not in meta.get("code_challenge_methods_supported", []):
        raise FlowError("authorization server does not advertise PKCE S256")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if resource:
        params["resource"] = resource
    final = browser_login(meta["authorization_endpoint"] + "?" + urllib.parse.urlencode(params),
                          user, password, redirect_uri)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(final).query)
    if "error" in q:
        raise FlowError(f"authorization error: {q['error'][0]} {q.get('error_description', [''])[0]}")
    if q.get("state", [None])[0] != state:
        raise FlowError("state mismatch in the authorization response")
    code = q.get("code", [None])[0]
    if not code:
        raise FlowError("no code in the authorization response")
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    if resource:
        form["resource"] = resource
    return token_request(meta, form)


def _page_error(page: str) -> str | None:
    """Extracts Keycloak's visible error message (feedback text) from an HTML page, if any."""
    m = re.search(r'class="[^"]*(?:kc-feedback-text|instruction|alert__title)[^"]*"[^>]*>\s*([^<]+?)\s*<', page)
    return m.group(1)[:200] if m else None


def register(issuer: str, redirect_uri: str, name: str, scope: str | None = None) -> dict:
    meta = discover(issuer)
    endpoint = meta.get("registration_endpoint")
    if not endpoint:
        raise FlowError("no registration_endpoint in the authorization server metadata")
    body = {
        "client_name": name,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    if scope:
        body["scope"] = scope
    req = urllib.request.Request(endpoint, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    return http_json(req)


def browser(authorization_url: str, user: str, password: str) -> dict:
    """Plays the user's browser for a client that opened authorization_url (e.g. mcp-remote):
    logs in, then delivers the redirect (code + state) to the client's redirect URI listener."""
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(authorization_url).query)
    redirect_uri = q.get("redirect_uri", [None])[0]
    if not redirect_uri:
        raise FlowError("the authorization URL has no redirect_uri")
    final = browser_login(authorization_url, user, password, redirect_uri)
    try:
        with urllib.request.urlopen(final, timeout=TIMEOUT) as resp:
            status = resp.status
    except urllib.error.HTTPError as e:
        status = e.code
    except urllib.error.URLError as e:
        raise FlowError(f"could not deliver the code to {redirect_uri}: {e.reason}") from None
    return {"redirect_uri": redirect_uri, "delivered": True, "status": status}


def _aud(claims: dict) -> list[str]:
    aud = claims.get("aud", [])
    return [aud] if isinstance(aud, str) else list(aud)


def verify(issuer: str) -> dict:
    report: dict = {"issuer": issuer, "checks": []}

    def check(name: str, ok: bool, detail) -> None:
        report["checks"].append({"check": name, "ok": bool(ok), "detail": detail})

    def summary(tok: dict) -> dict:
        c = tok["claims"]
        return {"iss": c.get("iss"), "aud": _aud(c), "scope": c.get("scope"), "azp": c.get("azp"),
                "sub_present": bool(c.get("sub")), "preferred_username": c.get("preferred_username")}

    def scopes(tok: dict) -> set[str]:
        return set((tok["claims"].get("scope") or "").split())

    cc = client_credentials(issuer, "mcp-service", "mcp-service-secret", "mcp:read mcp:write mcp:admin")
    s = summary(cc)
    check("client_credentials: aud contains mcp-server", "mcp-server" in s["aud"], s)
    check("client_credentials: scope has mcp:read mcp:write mcp:admin",
          {"mcp:read", "mcp:write", "mcp:admin"} <= scopes(cc), s["scope"])
    check("client_credentials: iss is the issuer", s["iss"] == issuer, s["iss"])
    check("client_credentials: sub present", s["sub_present"], None)

    demo = pkce(issuer, "mcp-client", "demo", "demo123", "openid mcp:read mcp:write mcp:admin",
                "http://127.0.0.1:53682/callback")
    s = summary(demo)
    check("pkce demo: aud contains mcp-server", "mcp-server" in s["aud"], s)
    check("pkce demo: scope has mcp:read mcp:write", {"mcp:read", "mcp:write"} <= scopes(demo), s["scope"])
    check("pkce demo: mcp:admin not granted (no mcp-admin role)", "mcp:admin" not in scopes(demo), s["scope"])
    check("pkce demo: preferred_username demo", s["preferred_username"] == "demo", s["preferred_username"])

    adm = pkce(issuer, "mcp-client", "admin", "admin123", "openid mcp:read mcp:write mcp:admin",
               "http://localhost:6274/oauth/callback")
    s = summary(adm)
    check("pkce admin: scope has all three mcp scopes",
          {"mcp:read", "mcp:write", "mcp:admin"} <= scopes(adm), s["scope"])

    try:
        pkce(issuer, "mcp-client", "demo", "wrong-password", "openid mcp:read", "http://127.0.0.1:53682/callback")
        check("pkce: wrong password is refused", False, "a token was issued")
    except FlowError as e:
        check("pkce: wrong password is refused", True, str(e)[:120])

    # Registration with a "scope" member (as SDK clients send it, from the PRM's scopes_supported)
    # and without one: Keycloak 26.7 gives the first kind no realm default scopes, so the audience
    # must come from the mcp:* scopes themselves.
    for reg_scope in ("openid mcp:read mcp:write", None):
        label = f"scope {reg_scope!r}" if reg_scope else "no scope"
        reg = register(issuer, "http://127.0.0.1:53682/callback", "keycloak_flow.py verify", reg_scope)
        check(f"dcr ({label}): anonymous registration from localhost", bool(reg.get("client_id")),
              {k: reg.get(k) for k in ("client_id", "token_endpoint_auth_method", "scope")})
        dyn = pkce(issuer, reg["client_id"], "demo", "demo123", "openid mcp:read mcp:write",
                   "http://127.0.0.1:53682/callback", resource="http://localhost:8000/mcp")
        s = summary(dyn)
        check(f"dcr ({label}): pkce token with aud mcp-server and mcp:read mcp:write",
              "mcp-server" in s["aud"] and {"mcp:read", "mcp:write"} <= scopes(dyn), s)
    report["ok"] = all(c["ok"] for c in report["checks"])
    return report


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--issuer", default=default_issuer())
    sub = p.add_subparsers(dest="cmd", required=True)
    cc = sub.add_parser("client-credentials")
    cc.add_argument("--client-id", default="mcp-service")
    cc.add_argument("--client-secret", default="mcp-service-secret")
    cc.add_argument("--scope", default="mcp:read mcp:write mcp:admin")
    pk = sub.add_parser("pkce")
    pk.add_argument("--user", required=True)
    pk.add_argument("--password", required=True)
    pk.add_argument("--client-id", default="mcp-client")
    pk.add_argument("--scope", default="openid mcp:read mcp:write")
    pk.add_argument("--redirect-uri", default="http://127.0.0.1:53682/callback")
    pk.add_argument("--resource")
    rg = sub.add_parser("register")
    rg.add_argument("--redirect-uri", default="http://127.0.0.1:53682/callback")
    rg.add_argument("--name", default="keycloak_flow.py")
    rg.add_argument("--scope", help='e.g. "openid mcp:read mcp:write" (default: none sent)')
    br = sub.add_parser("browser")
    br.add_argument("url")
    br.add_argument("--user", default=os.environ.get("KEYCLOAK_USER", "demo"))
    br.add_argument("--password", default=os.environ.get("KEYCLOAK_PASSWORD", "demo123"))
    sub.add_parser("verify")
    args = p.parse_args(argv)
    issuer = args.issuer.rstrip("/")
    try:
        if args.cmd == "client-credentials":
            out = client_credentials(issuer, args.client_id, args.client_secret, args.scope)
        elif args.cmd == "pkce":
            out = pkce(issuer, args.client_id, args.user, args.password, args.scope,
                       args.redirect_uri, args.resource)
        elif args.cmd == "browser":
            out = browser(args.url, args.user, args.password)
        elif args.cmd == "register":
            out = register(issuer, args.redirect_uri, args.name, args.scope)
        else:
            out = verify(issuer)
            for c in out["checks"]:
                print(f"{'ok  ' if c['ok'] else 'FAIL'} {c['check']}", file=sys.stderr)
    except FlowError as e:
        print(f"keycloak_flow.py {args.cmd}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(out, indent=None if args.cmd != "verify" else 2))
    return 0 if out.get("ok", True) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
