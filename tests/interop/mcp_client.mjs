#!/usr/bin/env node
// Interop client: drives an MCP server with the official TypeScript SDK (@modelcontextprotocol/sdk,
// pinned in tests/interop/package.json) and prints one JSON summary for a Rust test to assert on.
// Run `npm ci` in tests/interop first (scripts/test-all.sh does).
//
// Usage:
//   node mcp_client.mjs stdio [OPTIONS] -- COMMAND [ARG...]    spawn COMMAND, talk over stdin/stdout
//   node mcp_client.mjs http URL [OPTIONS]                     Streamable HTTP endpoint
//
// OPTIONS
//   --call NAME[=JSON]       call tool NAME with a JSON object of arguments (repeatable, in order)
//   --read URI               read resource URI (repeatable)
//   --prompt NAME[=JSON]     get prompt NAME with a JSON object of string arguments (repeatable)
//   --log-level LEVEL        send logging/setLevel LEVEL first and record notifications/message
//   --progress               send a progress token with every tool call and record progress
//   --timeout SECS           per-request timeout (default 30)
//  HTTP authorization (one of):
//   --bearer TOKEN                   static "Authorization: Bearer TOKEN" (or env MCP_BEARER_TOKEN)
//   --client-credentials ID:SECRET   OAuth client credentials through the SDK's auth support (the
//                                    discovery chain 401 -> PRM -> AS metadata -> token)
//   --oauth-scope "S1 S2"            scope for --client-credentials
//   --issuer URL                     expected authorization server issuer for --client-credentials
//
// Output (stdout, one JSON object; the SDK speaks the handshake era, up to 2025-11-25):
//   {"ok", "error", "protocolVersion", "serverInfo", "capabilities", "instructions", "setLevel",
//    "tools", "resources", "resourceTemplates", "prompts",
//    "calls": [{"name", "arguments", "result", "error"}], "reads": [{"uri", "result", "error"}],
//    "prompted": [{"name", "arguments", "result", "error"}],
//    "notifications": {"progress": [{"call", "progress", "total", "message", "progressToken"}],
//                      "log": [{"level", "logger", "data"}], "other": [{"method", "params"}]}}
//   error = {"code", "message", "data"} for JSON-RPC errors, {"exception", "message", "status"?}
//   otherwise. Same shape as mcp_client.py.
// Exit code: 0 if connected and no request failed with an error (isError:true results are not
// errors), 1 otherwise, 2 on usage errors.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { McpError, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

function usage(msg) {
  process.stderr.write(`mcp_client.mjs: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const a = { calls: [], reads: [], prompts: [], progress: false, timeout: 30, command: [] };
  a.transport = argv.shift();
  if (a.transport !== 'stdio' && a.transport !== 'http') usage('first argument must be stdio or http');
  if (a.transport === 'http') {
    a.url = argv.shift();
    if (!a.url) usage('http needs a URL');
  }
  while (argv.length) {
    const arg = argv.shift();
    const val = () => (argv.length ? argv.shift() : usage(`${arg} needs a value`));
    switch (arg) {
      case '--call': a.calls.push(val()); break;
      case '--read': a.reads.push(val()); break;
      case '--prompt': a.prompts.push(val()); break;
      case '--log-level': a.logLevel = val(); break;
      case '--progress': a.progress = true; break;
      case '--timeout': a.timeout = Number(val()); break;
      case '--bearer': a.bearer = val(); break;
      case '--client-credentials': a.clientCredentials = val(); break;
      case '--oauth-scope': a.scope = val(); break;
      case '--issuer': a.issuer = val(); break;
      case '--': a.command = argv.splice(0); break;
      default: usage(`unknown argument ${arg}`);
    }
  }
  if (a.transport === 'stdio' && !a.command.length) usage('stdio needs -- COMMAND [ARG...]');
  return a;
}

function named(spec) {
  const i = spec.indexOf('=');
  if (i < 0) return [spec, {}];
  let v;
  try { v = JSON.parse(spec.slice(i + 1)); } catch (e) { usage(`bad JSON for ${spec.slice(0, i)}: ${e.message}`); }
  if (!v || typeof v !== 'object' || Array.isArray(v)) usage(`arguments for ${spec.slice(0, i)} must be a JSON object`);
  return [spec.slice(0, i), v];
}

function err(e) {
  if (e instanceof McpError) {
    const o = { code: e.code, message: e.message.replace(/^MCP error -?\d+: /, '') };
    if (e.data !== undefined) o.data = e.data;
    return o;
  }
  const o = { exception: e?.constructor?.name ?? 'Error', message: String(e?.message ?? e) };
  if (e instanceof StreamableHTTPError && e.code !== undefined) o.status = e.code;
  return o;
}

const args = parseArgs(process.argv.slice(2));
const out = {
  ok: false, error: null, protocolVersion: null, serverInfo: null, capabilities: null, instructions: null,
  tools: null, resources: null, resourceTemplates: null, prompts: null, calls: [], reads: [], prompted: [],
  notifications: { progress: [], log: [], other: [] },
};

let transport;
if (args.transport === 'stdio') {
  transport = new StdioClientTransport({ command: args.command[0], args: args.command.slice(1), stderr: 'inherit' });
} else {
  const opts = {};
  const bearer = args.bearer ?? process.env.MCP_BEARER_TOKEN;
  if (bearer) {
    opts.requestInit = { headers: { Authorization: `Bearer ${bearer}` } };
  } else if (args.clientCredentials) {
    const i = args.clientCredentials.indexOf(':');
    if (i < 0) usage('--client-credentials takes ID:SECRET');
    const o = { clientId: args.clientCredentials.slice(0, i), clientSecret: args.clientCredentials.slice(i + 1),
      clientName: 'mcp-rs interop (node)' };
    if (args.scope) o.scope = args.scope;
    if (args.issuer) o.expectedIssuer = args.issuer;
    opts.authProvider = new ClientCredentialsProvider(o);
  }
  transport = new StreamableHTTPClientTransport(new URL(args.url), opts);
}

// The SDK tells the transport the negotiated version; record it (stdio has no setter of its own).
let negotiated = null;
const setVersion = transport.setProtocolVersion?.bind(transport);
transport.setProtocolVersion = (v) => { negotiated = v; setVersion?.(v); };

const client = new Client({ name: 'mcp-rs-interop-node', version: '1.0.0' }, { capabilities: {} });
client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
  out.notifications.log.push({ level: n.params.level, logger: n.params.logger ?? null, data: n.params.data });
});
client.fallbackNotificationHandler = async (n) => {
  if (n.method !== 'notifications/progress') out.notifications.other.push({ method: n.method, params: n.params ?? null });
};

const reqOpts = { timeout: args.timeout * 1000 };
let anyError = false;
async function attempt(entry, fn) {
  try {
    entry.result = await fn();
  } catch (e) {
    entry.error = err(e);
    anyError = true;
  }
  return entry;
}

try {
  try {
    await client.connect(transport, reqOpts);
  } catch (e) {
    // With an authProvider the SDK obtains a token after the first 401 and asks for a reconnect.
    if (args.clientCredentials && /unauthorized/i.test(String(e?.message ?? e))) {
      await client.connect(transport, reqOpts);
    } else {
      throw e;
    }
  }
  out.protocolVersion = negotiated;
  out.serverInfo = client.getServerVersion() ?? null;
  const caps = client.getServerCapabilities() ?? {};
  out.capabilities = caps;
  out.instructions = client.getInstructions() ?? null;
  if (args.logLevel) out.setLevel = await attempt({ error: null }, () => client.setLoggingLevel(args.logLevel)).then((x) => ({ error: x.error }));
  if (caps.tools) out.tools = (await client.listTools(undefined, reqOpts)).tools;
  if (caps.resources) {
    out.resources = (await client.listResources(undefined, reqOpts)).resources;
    out.resourceTemplates = (await client.listResourceTemplates(undefined, reqOpts)).resourceTemplates;
  }
  if (caps.prompts) out.prompts = (await client.listPrompts(undefined, reqOpts)).prompts;
  // Progress is recorded as it arrives on the transport, not through the SDK's onprogress: the
  // SDK handles a response synchronously but notifications a tick later, so progress that
  // arrives in the same read as the response (common over stdio) would be dropped as "unknown
  // token". onprogress is still set, so that the SDK sends a progressToken.
  let currentCall = null;
  const inner = transport.onmessage;
  transport.onmessage = (msg, extra) => {
    if (msg?.method === 'notifications/progress' && msg.params) {
      const p = msg.params;
      out.notifications.progress.push({ call: currentCall, progress: p.progress, total: p.total ?? null,
        message: p.message ?? null, progressToken: p.progressToken });
    }
    inner?.(msg, extra);
  };
  for (const spec of args.calls) {
    const [name, argumentsObj] = named(spec);
    const o = { ...reqOpts };
    if (args.progress) o.onprogress = () => {};
    currentCall = name;
    out.calls.push(await attempt({ name, arguments: argumentsObj, result: null, error: null },
      () => client.callTool({ name, arguments: argumentsObj }, undefined, o)));
  }
  for (const uri of args.reads) {
    out.reads.push(await attempt({ uri, result: null, error: null }, () => client.readResource({ uri }, reqOpts)));
  }
  for (const spec of args.prompts) {
    const [name, a] = named(spec);
    const strArgs = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, String(v)]));
    out.prompted.push(await attempt({ name, arguments: a, result: null, error: null },
      () => client.getPrompt({ name, arguments: strArgs }, reqOpts)));
  }
  await new Promise((r) => setTimeout(r, 200));
  out.ok = !anyError;
} catch (e) {
  out.error = err(e);
  if (process.env.MCP_INTEROP_DEBUG) console.error(e);
} finally {
  try { await client.close(); } catch { /* closing a failed transport */ }
}
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(out.ok ? 0 : 1);
