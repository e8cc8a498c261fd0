"""HTTPS front of the ARM stand-in: routing, authentication, ARM error bodies, request log.

Run it as ``python -m tests.arm_standin.server --config <file.json>`` from the repository root
(``tests/lib/arm_standin.py`` does that).  The config holds the port, the certificate files, the
tenant, the one service principal it accepts, the subscription, the resource groups and
virtual networks that exist, and the long-running-operation pacing.

Routes under ``/_standin/`` are test-only administration (reset, add resource groups and
subnets, set a share's usage, reserve a name, read the request log); they are not ARM.
"""

from __future__ import annotations

import argparse
import json
import re
import ssl
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.arm_standin.state import ArmError, ArmState, Reply

SUB = r"/subscriptions/(?P<sub>[^/]+)"
RG = SUB + r"/resourceGroups/(?P<rg>[^/]+)"
ACCOUNT = RG + r"/providers/Microsoft\.Storage/storageAccounts/(?P<account>[^/]+)"
SHARE = ACCOUNT + r"/fileServices/default/shares/(?P<share>[^/]+)"
SUBNET = RG + r"/providers/Microsoft\.Network/virtualNetworks/(?P<vnet>[^/]+)/subnets/(?P<subnet>[^/]+)"


def _route(pattern: str) -> re.Pattern:
    return re.compile("^" + pattern + "/?$", re.IGNORECASE)


# (method, pattern, handler name) -- ARM routes need api-version and a bearer token.
ARM_ROUTES = [
    ("POST", _route(SUB + r"/providers/Microsoft\.Storage/checkNameAvailability"), "check_name"),
    ("GET", _route(SUB + r"/providers/Microsoft\.Storage/locations/(?P<loc>[^/]+)/asyncoperations/(?P<op>[^/]+)"),
     "poll_account"),
    ("GET", _route(SUB + r"/providers/Microsoft\.Network/locations/(?P<loc>[^/]+)/operations/(?P<op>[^/]+)"),
     "poll_network"),
    ("POST", _route(ACCOUNT + r"/listKeys"), "list_keys"),
    ("GET", _route(ACCOUNT + r"/fileServices/default/usages/default"), "file_usage"),
    ("GET", _route(SHARE), "get_share"),
    ("PUT", _route(SHARE), "put_share"),
    ("PATCH", _route(SHARE), "patch_share"),
    ("DELETE", _route(SHARE), "delete_share"),
    ("GET", _route(ACCOUNT), "get_account"),
    ("PUT", _route(ACCOUNT), "put_account"),
    ("PATCH", _route(ACCOUNT), "patch_account"),
    ("DELETE", _route(ACCOUNT), "delete_account"),
    ("GET", _route(SUBNET), "get_subnet"),
    ("PUT", _route(SUBNET), "put_subnet"),
]

# Resource type named in ARM's NoRegisteredProviderFound answer, by handler.
RESOURCE_TYPES = {
    "check_name": "checkNameAvailability", "poll_account": "locations/asyncoperations",
    "list_keys": "storageAccounts", "file_usage": "storageAccounts/fileServices/usages",
    "get_share": "storageAccounts/fileServices/shares", "put_share": "storageAccounts/fileServices/shares",
    "patch_share": "storageAccounts/fileServices/shares", "delete_share": "storageAccounts/fileServices/shares",
}
# The file data plane (FileREST) of an account, path style: /file/{account}/{share}?restype=directory&comp=list
FILE_LIST = re.compile(r"^/file/(?P<account>[a-z0-9]{3,24})/(?P<share>[^/]+)/?$")

AAD_ROUTES = [
    ("GET", _route(r"/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration"), "openid"),
    ("POST", _route(r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token"), "token"),
    ("GET", _route(r"/metadata/endpoints"), "metadata"),
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "arm-standin/1.0"
    state: ArmState  # set on the class by serve()
    log_file = None

    # ------------------------------------------------------------ plumbing
    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass  # one line per request is written by _log(); bodies are never logged

    def _log(self, status: int) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        api_version = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}.get("api-version")
        entry = {"method": self.command, "path": path, "status": status, "api_version": api_version}
        with self.state.lock:
            if not path.startswith("/_standin/"):
                self.state.requests.append(entry)
        if self.log_file:
            self.log_file.write(f"{time.strftime('%H:%M:%S')} {self.command} {path} {status}\n")
            self.log_file.flush()

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, reply: Reply) -> None:
        body = reply.body
        # The file data plane answers in XML (a str); ARM in JSON.
        data = body.encode() if isinstance(body, str) else (b"" if body is None else json.dumps(body).encode())
        self.send_response(reply.status)
        headers = {"x-ms-request-id": str(uuid.uuid4()), "x-ms-correlation-request-id": str(uuid.uuid4()),
                   "Cache-Control": "no-cache"}
        if reply.body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers.update(reply.headers)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)
        self._log(reply.status)

    def _error(self, exc: ArmError) -> None:
        self._send(Reply(exc.status, exc.body(), {"x-ms-failure-cause": "gateway", **exc.headers}))

    def _json(self, raw: bytes) -> dict:
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError:
            raise ArmError(400, "InvalidRequestContent",
                           "The request content was invalid and could not be deserialized.")
        if not isinstance(value, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content must be a JSON object.")
        return value

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
        raw = self._read_body()
        try:
            if path.startswith("/_standin/"):
                return self._send(self._admin(path, raw, query))
            file_list = FILE_LIST.match(path)
            if file_list and self.command == "GET" and query.get("comp") == "list":
                return self._data_plane(file_list.groupdict(), path, parts.query)
            for method, pattern, name in AAD_ROUTES:
                match = pattern.match(path)
                if match and method == self.command:
                    return self._send(getattr(self, "aad_" + name)(match.groupdict(), raw))
            for method, pattern, name in ARM_ROUTES:
                match = pattern.match(path)
                if not match:
                    continue
                if method != self.command:
                    continue
                api_version = query.get("api-version")
                if not api_version:
                    raise ArmError(400, "MissingApiVersionParameter",
                                   "The api-version query parameter (?api-version=) is required for all requests.")
                with self.state.lock:
                    self.state.authenticate(self.headers.get("Authorization"))
                    args = match.groupdict()
                    provider = "Microsoft.Network" if "/microsoft.network/" in path.lower() else "Microsoft.Storage"
                    self.state.check_api_version(provider, api_version,
                                                 self.state.location_of(args.get("sub"), args.get("rg"), args.get("account")),
                                                 RESOURCE_TYPES.get(name, "virtualNetworks/subnets" if provider ==
                                                                    "Microsoft.Network" else "storageAccounts"))
                    reply = getattr(self, "arm_" + name)(args, raw, query, api_version)
                    return self._send(self.state.render(reply, api_version))
            if any(p.match(path) for _m, p, _n in ARM_ROUTES):
                raise ArmError(405, "MethodNotAllowed",
                               f"The requested resource does not support http method '{self.command}'.")
            raise ArmError(404, "InvalidResourceType",
                           f"The stand-in does not implement '{self.command} {path}' (it is not Azure Resource "
                           "Manager, only the operations the collection's modules call).")
        except ArmError as exc:
            self._error(exc)
        except Exception as exc:  # a bug in the stand-in: answer like ARM would, and say so in the log
            self._error(ArmError(500, "InternalServerError", f"stand-in failure: {exc!r}"))

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _dispatch  # noqa: N815

    # ------------------------------------------------------------ Entra ID (AAD) and cloud metadata
    def aad_openid(self, args: dict, _raw: bytes) -> Reply:
        return self.state.openid_configuration(args["tenant"])

    def aad_token(self, args: dict, raw: bytes) -> Reply:
        form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        return self.state.issue_token(args["tenant"], form)

    def aad_metadata(self, _args: dict, _raw: bytes) -> Reply:
        return self.state.metadata_endpoints()

    # ------------------------------------------------------------ ARM
    def arm_check_name(self, a, raw, _q, _v):
        return self.state.check_name_availability(a["sub"], self._json(raw))

    def arm_poll_account(self, a, _raw, _q, v):
        return self.state.poll_account_operation(a["sub"], a["op"], v)

    def arm_poll_network(self, a, _raw, _q, _v):
        return self.state.poll_network_operation(a["sub"], a["op"])

    def arm_list_keys(self, a, _raw, q, _v):
        return self.state.list_keys(a["sub"], a["rg"], a["account"], q.get("$expand"))

    def arm_file_usage(self, a, _raw, _q, _v):
        return self.state.file_service_usage(a["sub"], a["rg"], a["account"])

    def arm_get_account(self, a, _raw, _q, _v):
        return self.state.get_account(a["sub"], a["rg"], a["account"])

    def arm_put_account(self, a, raw, _q, v):
        return self.state.put_account(a["sub"], a["rg"], a["account"], self._json(raw), v)

    def arm_patch_account(self, a, raw, _q, v):
        return self.state.patch_account(a["sub"], a["rg"], a["account"], self._json(raw), v)

    def arm_delete_account(self, a, _raw, _q, _v):
        return self.state.delete_account(a["sub"], a["rg"], a["account"])

    def arm_get_share(self, a, _raw, q, _v):
        return self.state.get_share(a["sub"], a["rg"], a["account"], a["share"], q.get("$expand"))

    def arm_put_share(self, a, raw, _q, _v):
        return self.state.put_share(a["sub"], a["rg"], a["account"], a["share"], self._json(raw))

    def arm_patch_share(self, a, raw, _q, _v):
        return self.state.patch_share(a["sub"], a["rg"], a["account"], a["share"], self._json(raw))

    def arm_delete_share(self, a, _raw, _q, _v):
        return self.state.delete_share(a["sub"], a["rg"], a["account"], a["share"])

    def arm_get_subnet(self, a, _raw, _q, _v):
        return self.state.get_subnet(a["sub"], a["rg"], a["vnet"], a["subnet"])

    def arm_put_subnet(self, a, raw, _q, v):
        return self.state.put_subnet(a["sub"], a["rg"], a["vnet"], a["subnet"], self._json(raw), v)

    # ------------------------------------------------------------ file data plane
    def _data_plane(self, args: dict, path: str, raw_query: str) -> None:
        query = {k: ",".join(sorted(v)) for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        try:
            with self.state.lock:
                reply = self.state.list_share_root(args["account"], args["share"], self.command, dict(self.headers),
                                                   query, path, self.client_address[0])
        except ArmError as exc:
            body = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{exc.code}</Code><Message>{exc.message}'
                    f"</Message></Error>")
            reply = Reply(exc.status, body, {"Content-Type": "application/xml", "x-ms-error-code": exc.code})
        self._send(reply)

    # ------------------------------------------------------------ test-only administration
    def _admin(self, path: str, raw: bytes, _query: dict) -> Reply:
        state = self.state
        body = self._json(raw) if raw else {}
        key = (self.command, path.rstrip("/"))
        with state.lock:
            if key == ("POST", "/_standin/reset"):
                state.reset()
                return Reply(200, {"reset": True})
            if key == ("POST", "/_standin/resource-groups"):
                return Reply(200, state.add_resource_group(body["name"], body.get("location", "eastus"),
                                                           body.get("subscription_id")))
            if key == ("POST", "/_standin/virtual-networks"):
                return Reply(200, state.add_virtual_network(body))
            if key == ("POST", "/_standin/share-usage"):
                state.set_share_usage(body["resource_group"], body["account"], body["share"], body["bytes"])
                return Reply(200, {"ok": True})
            if key == ("POST", "/_standin/share-files"):
                state.set_share_files(body["resource_group"], body["account"], body["share"], body["files"])
                return Reply(200, {"ok": True})
            if key == ("POST", "/_standin/taken-names"):
                state.take_name(body["name"])
                return Reply(200, {"ok": True})
            if key == ("GET", "/_standin/requests"):
                return Reply(200, list(state.requests))
            if key == ("POST", "/_standin/requests/clear"):
                state.requests.clear()
                return Reply(200, {"ok": True})
            if key == ("GET", "/_standin/issued-keys"):
                return Reply(200, list(state.issued_keys))
        raise ArmError(404, "InvalidResourceType", f"unknown stand-in admin route {self.command} {path}")


def serve(config: dict) -> None:
    port = int(config["port"])
    base_url = f"https://127.0.0.1:{port}"
    Handler.state = ArmState(config, base_url)
    if config.get("log"):
        Handler.log_file = open(config["log"], "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the server
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config["cert"], config["key"])
    # The TLS handshake happens in the request thread, so one slow client cannot stall accept().
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    print(f"ARM stand-in listening on {base_url}", flush=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stand-in for Azure Resource Manager (tests only).")
    parser.add_argument("--config", required=True, help="JSON configuration written by tests/lib/arm_standin.py")
    args = parser.parse_args(argv)
    with open(args.config, encoding="utf-8") as fh:
        serve(json.load(fh))
    return 0


if __name__ == "__main__":
    sys.exit(main())
