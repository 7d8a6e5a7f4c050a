#!/usr/bin/env node
// Authorization-code interop client: the official TypeScript SDK (@modelcontextprotocol/sdk,
// pinned in package.json) through an MCP server's own authorization server (the façade or the
// built-in AS): discovery → DCR (public client, PKCE) → /authorize → consent (approved by posting
// the form, as a user would click "Allow") → upstream login (the in-repo test IdP logs in without
// UI) → callback → code → token → MCP calls; then a refresh (the access token is thrown away, the
// SDK refreshes on the next 401) and more calls. Prints one JSON summary:
//   {"ok", "error", "registeredClient", "consentPages", "calls": [{"name", "result", "error"}],
//    "refreshed", "tokens": {"first": {"refresh_token"}, "second": {"refresh_token"}}}
// Usage: node oauth_code_client.mjs URL [--call NAME]... [--redirect-port PORT]
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const argv = process.argv.slice(2);
const url = argv.shift();
const calls = [];
let port = 8976;
while (argv.length) {
  const a = argv.shift();
  if (a === '--call') calls.push(argv.shift());
  else if (a === '--redirect-port') port = Number(argv.shift());
  else { process.stderr.write(`unknown argument ${a}\n`); process.exit(2); }
}
const redirectUrl = `http://127.0.0.1:${port}/callback`;
const out = { ok: false, error: null, registeredClient: null, consentPages: 0, calls: [], refreshed: false, tokens: {} };

// A headless user agent: follows redirects by hand, approves the consent page, and stops at the
// client's redirect URI, returning the code.
async function browse(start) {
  let next = start.toString();
  for (let hops = 0; hops < 10; hops++) {
    if (next.startsWith(redirectUrl)) {
      const u = new URL(next);
      if (u.searchParams.get('error')) throw new Error(`authorization failed: ${u.searchParams.get('error')}`);
      return u.searchParams.get('code');
    }
    const res = await fetch(next, { redirect: 'manual' });
    if (res.status === 200) {
      const page = await res.text();
      const field = (n) => page.match(new RegExp(`name="${n}" value="([^"]*)"`))?.[1];
      if (!field('tx')) throw new Error(`unexpected page at ${next}`);
      out.consentPages += 1;
      const action = new URL(page.match(/action="([^"]*)"/)[1], next);
      const body = new URLSearchParams({ tx: field('tx'), csrf: field('csrf'), decision: 'approve' });
      const post = await fetch(action, { method: 'POST', body, redirect: 'manual' });
      if (post.status !== 302) throw new Error(`consent answered ${post.status}`);
      next = new URL(post.headers.get('location'), action).toString();
      continue;
    }
    if (res.status !== 302 && res.status !== 303) throw new Error(`${next} answered ${res.status}: ${await res.text()}`);
    next = new URL(res.headers.get('location'), next).toString();
  }
  throw new Error('too many redirects');
}

let pendingCode = null;
const provider = {
  client: undefined, saved: undefined, verifier: undefined,
  get redirectUrl() { return redirectUrl; },
  get clientMetadata() {
    return { client_name: 'mcp-rs interop (node, auth code)', redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  },
  clientInformation() { return this.client; },
  saveClientInformation(info) { this.client = info; out.registeredClient = info.client_id; },
  tokens() { return this.saved; },
  saveTokens(t) {
    this.saved = t;
    if (!out.tokens.first) out.tokens.first = { refresh_token: t.refresh_token ?? null };
    else out.tokens.second = { refresh_token: t.refresh_token ?? null };
  },
  async redirectToAuthorization(u) { pendingCode = await browse(u); },
  saveCodeVerifier(v) { this.verifier = v; },
  codeVerifier() { return this.verifier; },
};

async function connect() {
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  const client = new Client({ name: 'mcp-rs-interop-node-code', version: '1.0.0' }, { capabilities: {} });
  try {
    await client.connect(transport);
  } catch (e) {
    if (!(e instanceof UnauthorizedError) || !pendingCode) throw e;
    await transport.finishAuth(pendingCode);
    pendingCode = null;
    return connect();
  }
  return client;
}

async function callAll(client) {
  for (const name of calls) {
    const entry = { name, result: null, error: null };
    try { entry.result = await client.callTool({ name, arguments: {} }); } catch (e) { entry.error = String(e?.message ?? e); }
    out.calls.push(entry);
  }
}

try {
  let client = await connect();
  await callAll(client);
  await client.close();
  // Refresh: the access token is lost; the SDK must use the refresh token on the next 401.
  provider.saved = { ...provider.saved, access_token: 'expired-or-revoked' };
  client = await connect();
  out.refreshed = out.tokens.second !== undefined;
  await callAll(client);
  await client.close();
  out.ok = out.calls.every((c) => c.error === null && !c.result?.isError);
} catch (e) {
  out.error = String(e?.stack ?? e);
}
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(out.ok ? 0 : 1);
