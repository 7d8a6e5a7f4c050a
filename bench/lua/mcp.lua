-- wrk script for the mcp-rs benchmark: one tools/call of `sum` per request, each
-- with its own JSON-RPC id, and every reply checked.
--
-- Configured through the environment:
--   MCP_MODE         session | sse | stateless | v2026 | raw   (default session)
--                    (sse: session + a progressToken per request, so that our server,
--                    whose `sum` reports progress, answers with an SSE stream)
--   MCP_SESSION      Mcp-Session-Id to send (session mode)
--   MCP_TOKEN        bearer token (protected rows)
--   MCP_EXPECT_BODY  raw mode: the exact body every reply must have
--
-- A reply counts as correct when the status is 200 and the body (JSON or SSE)
-- carries a JSON-RPC result whose id is one this thread sent and has not seen
-- answered yet, with the text "3" and no isError:true. Anything else is an
-- error. `done` prints one machine-readable line:
--   RESULT requests=N duration_us=N rps=X p50_us=N p99_us=N errors=N bad_replies=N

local mode = os.getenv("MCP_MODE") or "session"
local session = os.getenv("MCP_SESSION")
local token = os.getenv("MCP_TOKEN")
local expect_body = os.getenv("MCP_EXPECT_BODY")

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  next_id = (tid or 0) * 1000000000 + 1
  pending = {}
  bad = 0
  shown = 0
  path = wrk.path
  if path == nil or path == "" or path == "/" then path = "/mcp" end

  headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
  }
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  if mode == "session" or mode == "sse" then
    if not session or session == "" then
      io.stderr:write("mcp.lua: MCP_MODE=session needs MCP_SESSION\n")
      os.exit(2)
    end
    headers["Mcp-Session-Id"] = session
    headers["MCP-Protocol-Version"] = "2025-11-25"
    if mode == "sse" then
      template = '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"_meta":{"progressToken":%d},'
        .. '"name":"sum","arguments":{"a":1,"b":2}}}'
    else
      template = '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"sum","arguments":{"a":1,"b":2}}}'
    end
  elseif mode == "stateless" or mode == "raw" then
    headers["MCP-Protocol-Version"] = "2025-11-25"
    template = '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"sum","arguments":{"a":1,"b":2}}}'
  elseif mode == "v2026" then
    headers["MCP-Protocol-Version"] = "2026-07-28"
    headers["Mcp-Method"] = "tools/call"
    headers["Mcp-Name"] = "sum"
    template = '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"_meta":{'
      .. '"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
      .. '"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1.0.0"},'
      .. '"io.modelcontextprotocol/clientCapabilities":{}},'
      .. '"name":"sum","arguments":{"a":1,"b":2}}}'
  else
    io.stderr:write("mcp.lua: unknown MCP_MODE " .. mode .. "\n")
    os.exit(2)
  end
end

function request()
  local id = next_id
  next_id = next_id + 1
  pending[id] = true
  return wrk.format("POST", path, headers, string.format(template, id, id))
end

local function wrong(status, body, why)
  bad = bad + 1
  if shown < 3 then
    shown = shown + 1
    io.stderr:write(string.format("mcp.lua: wrong reply (%s): HTTP %d %s\n", why, status,
      string.sub(body or "", 1, 300)))
  end
end

function response(status, hdrs, body)
  if status ~= 200 then
    return wrong(status, body, "status")
  end
  if mode == "raw" then
    if body ~= expect_body then return wrong(status, body, "body") end
    return
  end
  local id = tonumber(string.match(body, '"id"%s*:%s*(%d+)'))
  if id == nil or not pending[id] then
    return wrong(status, body, "id")
  end
  pending[id] = nil
  if not string.find(body, '"result"%s*:') then return wrong(status, body, "no result") end
  if mode == "sse" and not string.find(body, "^data:") and not string.find(body, "\ndata:") then
    return wrong(status, body, "not SSE")
  end
  if not string.find(body, '"text"%s*:%s*"3"') then return wrong(status, body, "text") end
  if string.find(body, '"isError"%s*:%s*true') then return wrong(status, body, "isError") end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, t in ipairs(threads) do
    bad_total = bad_total + (t:get("bad") or 0)
  end
  local e = summary.errors
  local transport = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d errors=%d bad_replies=%d\n",
    summary.requests, summary.duration, summary.requests / secs,
    latency:percentile(50), latency:percentile(99), bad_total + transport, bad_total))
end
