#!/usr/bin/env python3
"""Headless user agent for the MCP server's own authorization server (façade or built-in AS).

`facade_flow.py browser URL`: opens URL (an /authorize URL a client like mcp-remote wants a
browser for), approves the consent page by posting its form (tx, csrf, decision=approve), follows
every redirect by hand (the in-repo test IdP logs the test user in without UI) and finally
requests the client's own redirect URI (its loopback listener), delivering the code. Standard
library only; one line per hop on stdout.
"""
import re
import sys
import urllib.error
import urllib.parse
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def fetch(url, data=None):
    req = urllib.request.Request(url, data=data)
    try:
        with OPENER.open(req, timeout=20) as res:
            return res.status, res.headers, res.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")


def browser(url):
    start_host = urllib.parse.urlsplit(url).netloc
    for _ in range(12):
        print("GET", url.split("?")[0], flush=True)
        status, headers, body = fetch(url)
        if status in (301, 302, 303, 307):
            url = urllib.parse.urljoin(url, headers["Location"])
            continue
        if status == 200 and 'name="csrf"' in body:
            field = lambda n: re.search(r'name="%s" value="([^"]*)"' % n, body).group(1)
            action = urllib.parse.urljoin(url, re.search(r'action="([^"]*)"', body).group(1))
            form = urllib.parse.urlencode({"tx": field("tx"), "csrf": field("csrf"), "decision": "approve"})
            print("POST", action, flush=True)
            status, headers, body = fetch(action, form.encode())
            if status != 302:
                raise SystemExit("consent answered %s: %s" % (status, body[:200]))
            url = urllib.parse.urljoin(action, headers["Location"])
            continue
        if urllib.parse.urlsplit(url).netloc != start_host or status == 200:
            print("done", status, flush=True)
            return
        raise SystemExit("unexpected answer %s at %s: %s" % (status, url, body[:200]))
    raise SystemExit("too many hops")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "browser":
        raise SystemExit("usage: facade_flow.py browser URL")
    browser(sys.argv[2])
