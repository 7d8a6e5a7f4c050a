#!/usr/bin/env python3
"""Interop client: drives an MCP server with the official Python SDK (`mcp`, pinned in
tests/interop/requirements.txt) and prints one JSON summary for a Rust test to assert on.

Usage:
  mcp_client.py stdio [OPTIONS] -- COMMAND [ARG...]     spawn COMMAND, talk over its stdin/stdout
  mcp_client.py http URL [OPTIONS]                      Streamable HTTP endpoint, e.g. http://127.0.0.1:8000/mcp

OPTIONS
  --mode legacy|auto|2026-07-28   protocol negotiation (default legacy = initialize handshake;
                                  auto = server/discover then fall back; a version = stateless era)
  --call NAME[=JSON]              call tool NAME with JSON object arguments (repeatable, in order)
  --read URI                      read resource URI (repeatable)
  --prompt NAME[=JSON]            get prompt NAME with JSON object of string arguments (repeatable)
  --log-level LEVEL               ask for log notifications at LEVEL (logging/setLevel in the
                                  handshake era, the _meta opt-in in the stateless era)
  --progress                      send a progress token with every tool call and record progress
  --timeout SECS                  per-request timeout (default 30)
 HTTP authorization (one of):
  --bearer TOKEN                  static "Authorization: Bearer TOKEN" (or env MCP_BEARER_TOKEN)
  --client-credentials ID:SECRET  OAuth client credentials through the SDK's auth support: the
                                  full discovery chain 401 -> protected resource metadata ->
                                  authorization server metadata -> token
  --oauth-user USER:PASSWORD      OAuth authorization code + PKCE through the SDK, with dynamic
                                  client registration; the browser step is played headlessly
                                  against Keycloak's login form (see keycloak_flow.py)
  --oauth-scope "S1 S2"           scope to ask for (default: what the server's metadata offers)
  --issuer URL                    the authorization server's issuer for --client-credentials:
                                  credentials are only sent there

Output (stdout, one JSON object; diagnostics on stderr):
  {"ok": bool, "error": null | "...", "protocolVersion": "...", "serverInfo": {...},
   "capabilities": {...}, "instructions": ..., "setLevel": {"error": ERR | null} (with --log-level, handshake era),
   "tools": [Tool...], "resources": [Resource...], "resourceTemplates": [...], "prompts": [Prompt...],
   "calls":   [{"name", "arguments", "result": CallToolResult | null, "error": ERR | null}],
   "reads":   [{"uri", "result": ReadResourceResult | null, "error": ERR | null}],
   "prompted":[{"name", "arguments", "result": GetPromptResult | null, "error": ERR | null}],
   "notifications": {"progress": [{"call", "progress", "total", "message"}],
                     "log": [{"level", "logger", "data"}], "other": [{"method", "params"}]}}
  ERR = {"code": int, "message": str, "data": any} for JSON-RPC errors, {"exception": "...",
  "message": "..."} for anything else (HTTP status errors, timeouts). Lists the server does not
  offer (no capability) are null. Results are the wire JSON (camelCase, by alias).
Exit code: 0 if the connection worked and no call failed with an error (a tool result with
isError:true is not an error), 1 otherwise, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
import urllib.parse
import warnings
from typing import Any

import anyio
import httpx2
import mcp.types as types
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

# The logging feature is deprecated at 2026-07-28 but still part of the handshake era we test.
warnings.filterwarnings("ignore", message=".*logging capability is deprecated.*")

HERE = os.path.dirname(os.path.abspath(__file__))
REDIRECT_URI = "http://127.0.0.1:53682/callback"


class MemoryTokenStorage(TokenStorage):
    """Keeps tokens and the registered client in memory for one run."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def dump(model: Any) -> Any:
    if model is None:
        return None
    if hasattr(model, "model_dump"):
        return model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return model


def err(e: BaseException) -> dict:
    if isinstance(e, MCPError):
        out = {"code": e.code, "message": e.message}
        if e.data is not None:
            out["data"] = e.data
        return out
    # anyio/ExceptionGroup wrapping: report the innermost meaningful exception
    while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
        e = e.exceptions[0]
    if isinstance(e, MCPError):
        return err(e)
    out = {"exception": type(e).__name__, "message": str(e)}
    if isinstance(e, httpx2.HTTPStatusError):
        out["status"] = e.response.status_code
        out["wwwAuthenticate"] = e.response.headers.get("www-authenticate")
    return out


def parse_named(spec: str) -> tuple[str, dict]:
    name, sep, raw = spec.partition("=")
    if not sep:
        return name, {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as e:
        raise SystemExit(f"mcp_client.py: bad JSON for {name}: {e}") from None
    if not isinstance(value, dict):
        raise SystemExit(f"mcp_client.py: arguments for {name} must be a JSON object")
    return name, value


def headless_oauth(url: str, user: str, password: str, scope: str | None) -> OAuthClientProvider:
    sys.path.insert(0, HERE)
    import keycloak_flow  # noqa: PLC0415  (sibling helper, standard library only)

    box: dict[str, str] = {}

    async def redirect_handler(authorization_url: str) -> None:
        final = await anyio.to_thread.run_sync(
            keycloak_flow.browser_login, authorization_url, user, password, REDIRECT_URI)
        box["final"] = final

    async def callback_handler() -> AuthorizationCodeResult:
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(box.pop("final")).query)
        if "error" in q:
            raise RuntimeError(f"authorization error: {q['error'][0]} {q.get('error_description', [''])[0]}")
        return AuthorizationCodeResult(code=q["code"][0], state=q.get("state", [None])[0],
                                       iss=q.get("iss", [None])[0])

    metadata = OAuthClientMetadata(
        client_name="mcp-rs interop (python)",
        redirect_uris=[REDIRECT_URI],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
        scope=scope,
    )
    return OAuthClientProvider(server_url=url, client_metadata=metadata, storage=MemoryTokenStorage(),
                               redirect_handler=redirect_handler, callback_handler=callback_handler)


def build_auth(args) -> tuple[httpx2.Auth | None, dict[str, str]]:
    bearer = args.bearer or os.environ.get("MCP_BEARER_TOKEN")
    if bearer:
        return None, {"Authorization": f"Bearer {bearer}"}
    if args.client_credentials:
        cid, sep, secret = args.client_credentials.partition(":")
        if not sep:
            raise SystemExit("mcp_client.py: --client-credentials takes ID:SECRET")
        return ClientCredentialsOAuthProvider(server_url=args.url, storage=MemoryTokenStorage(), client_id=cid,
                                              client_secret=secret, scope=args.oauth_scope,
                                              issuer=args.issuer), {}
    if args.oauth_user:
        user, sep, password = args.oauth_user.partition(":")
        if not sep:
            raise SystemExit("mcp_client.py: --oauth-user takes USER:PASSWORD")
        return headless_oauth(args.url, user, password, args.oauth_scope), {}
    return None, {}


async def run(args) -> dict:
    out: dict[str, Any] = {
        "ok": False, "error": None, "protocolVersion": None, "serverInfo": None, "capabilities": None,
        "instructions": None, "tools": None, "resources": None, "resourceTemplates": None, "prompts": None,
        "calls": [], "reads": [], "prompted": [],
        "notifications": {"progress": [], "log": [], "other": []},
    }
    notes = out["notifications"]

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        notes["log"].append({"level": params.level, "logger": params.logger, "data": params.data})

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            notes["other"].append({"method": "<transport error>", "params": str(message)})
            return
        root = getattr(message, "root", message)
        method = getattr(root, "method", None)
        if method and method not in ("notifications/message", "notifications/progress"):
            notes["other"].append({"method": method, "params": dump(getattr(root, "params", None))})

    if args.transport == "stdio":
        if not args.command:
            raise SystemExit("mcp_client.py stdio: give the server command after --")
        server: Any = StdioServerParameters(command=args.command[0], args=args.command[1:])
    else:
        auth, headers = build_auth(args)
        http_client = httpx2.AsyncClient(headers=headers, auth=auth,
                                         timeout=httpx2.Timeout(args.timeout, read=max(args.timeout, 300)))
        server = streamable_http_client(args.url, http_client=http_client)

    any_error = False
    try:
        async with Client(server, mode=args.mode, logging_callback=on_log, message_handler=on_message,
                          read_timeout_seconds=args.timeout, log_level=args.log_level if args.mode != "legacy" else None,
                          client_info=types.Implementation(name="mcp-rs-interop-python", version="1.0.0"),
                          cache=None) as client:
            out["protocolVersion"] = client.protocol_version
            out["serverInfo"] = dump(client.server_info)
            caps = client.server_capabilities
            out["capabilities"] = dump(caps)
            out["instructions"] = client.instructions
            if args.log_level and args.mode == "legacy":
                try:
                    await client.set_logging_level(args.log_level)
                    out["setLevel"] = {"error": None}
                except Exception as e:  # noqa: BLE001
                    out["setLevel"] = {"error": err(e)}
                    any_error = True
            if caps.tools is not None:
                out["tools"] = [dump(t) for t in (await client.list_tools()).tools]
            if caps.resources is not None:
                out["resources"] = [dump(r) for r in (await client.list_resources()).resources]
                out["resourceTemplates"] = [dump(r) for r in
                                            (await client.list_resource_templates()).resource_templates]
            if caps.prompts is not None:
                out["prompts"] = [dump(p) for p in (await client.list_prompts()).prompts]
            for spec in args.call:
                name, arguments = parse_named(spec)
                entry: dict[str, Any] = {"name": name, "arguments": arguments, "result": None, "error": None}

                async def progress(p: float, total: float | None, message: str | None, _n: str = name) -> None:
                    notes["progress"].append({"call": _n, "progress": p, "total": total, "message": message})

                try:
                    entry["result"] = dump(await client.call_tool(
                        name, arguments, progress_callback=progress if args.progress else None))
                except Exception as e:  # noqa: BLE001  (reported in the JSON)
                    entry["error"] = err(e)
                    any_error = True
                out["calls"].append(entry)
            for uri in args.read:
                entry = {"uri": uri, "result": None, "error": None}
                try:
                    entry["result"] = dump(await client.read_resource(uri))
                except Exception as e:  # noqa: BLE001
                    entry["error"] = err(e)
                    any_error = True
                out["reads"].append(entry)
            for spec in args.prompt:
                name, arguments = parse_named(spec)
                entry = {"name": name, "arguments": arguments, "result": None, "error": None}
                try:
                    entry["result"] = dump(await client.get_prompt(name, {k: str(v) for k, v in arguments.items()}))
                except Exception as e:  # noqa: BLE001
                    entry["error"] = err(e)
                    any_error = True
                out["prompted"].append(entry)
            # Give notifications sent just before the last response a moment to be delivered.
            await anyio.sleep(0.2)
        out["ok"] = not any_error
    except BaseException as e:  # noqa: BLE001  (connection-level failure: reported, exit 1)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        out["error"] = err(e)
        if os.environ.get("MCP_INTEROP_DEBUG"):
            traceback.print_exception(e, file=sys.stderr)
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description="MCP interop client (official Python SDK)")
    sub = p.add_subparsers(dest="transport", required=True)
    for name in ("stdio", "http"):
        sp = sub.add_parser(name)
        if name == "http":
            sp.add_argument("url")
            sp.add_argument("--bearer")
            sp.add_argument("--client-credentials")
            sp.add_argument("--oauth-user")
            sp.add_argument("--oauth-scope")
            sp.add_argument("--issuer")
        sp.add_argument("--mode", default="legacy")
        sp.add_argument("--call", action="append", default=[])
        sp.add_argument("--read", action="append", default=[])
        sp.add_argument("--prompt", action="append", default=[])
        sp.add_argument("--log-level")
        sp.add_argument("--progress", action="store_true")
        sp.add_argument("--timeout", type=float, default=30.0)
        if name == "stdio":
            sp.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.transport == "stdio" and args.command and args.command[0] == "--":
        args.command = args.command[1:]
    out = anyio.run(run, args)
    print(json.dumps(out))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
