// Loopback proxy for conformance/run.sh --bearer: forwards every request to UPSTREAM unchanged
// (method, path, headers including Host and Origin, body, streamed response) and adds
// "Authorization: Bearer $MCP_BEARER_TOKEN". The suite itself cannot send auth headers.
// Usage: MCP_BEARER_TOKEN=... node bearer-proxy.mjs http://127.0.0.1:PORT
// Prints "listening on http://127.0.0.1:<port>" when ready.
import http from 'node:http';

const upstream = new URL(process.argv[2] ?? '');
const token = process.env.MCP_BEARER_TOKEN;
if (!token) {
  console.error('MCP_BEARER_TOKEN is not set');
  process.exit(2);
}
if (!['127.0.0.1', 'localhost', '[::1]'].includes(upstream.hostname)) {
  console.error(`refusing non-loopback upstream ${upstream}`);
  process.exit(2);
}
const server = http.createServer((req, res) => {
  const headers = { ...req.headers, authorization: `Bearer ${token}` };
  const out = http.request(
    { host: upstream.hostname.replace(/^\[|\]$/g, ''), port: upstream.port, method: req.method, path: req.url, headers },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.rawHeaders);
      up.pipe(res);
    },
  );
  out.on('error', (e) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`bearer-proxy: ${e.message}`);
  });
  req.pipe(out);
  res.on('close', () => out.destroy());
});
server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
