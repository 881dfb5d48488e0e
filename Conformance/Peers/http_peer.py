#!/usr/bin/env python3
"""An independent HTTP peer: the CloudEvents Python SDK (PyPI `cloudevents`, its 2.x core API).

Used by Tests/CloudEventsConformanceTests/PeerInteropTests.swift; its environment comes
from Scripts/peers. Two commands:

    http_peer.py send URL MODE [DATA]     MODE: binary | structured; DATA: json (default) | bytes
        Builds the peer event (a subject with spaces, quotes, '%' and non-ASCII, an
        extension, and JSON data, or bytes that are not UTF-8 with application/octet-stream)
        with the SDK, encodes it with the SDK's HTTP binding, POSTs it to URL, prints the
        event it sent as one JSON line, then {"status": STATUS}, and exits 0 on a 2xx answer
        (1 otherwise).

    http_peer.py receive PORT COUNT
        Serves on 127.0.0.1:PORT (0: any free port; the first line printed is
        {"listening": PORT}), parses each POST with the SDK's from_http, prints each event as
        one JSON line (attributes and data; bytes as {"hex": ...}), answers 202, and exits after COUNT events
        (or with 2 after 60 s).

Only the standard library besides the SDK: urllib.request and http.server.
"""

import json
import sys
import threading
import urllib.error
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cloudevents.core.bindings.http import HTTPMessage, from_http, to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

# The event the peer sends: values that break naive header handling on purpose.
PEER_ATTRIBUTES = {
    "id": "peer-1",
    "source": "/peers/python",
    "type": "io.cloudevents.peer.python",
    "subject": 'a "subject" with spaces, 100% and caf\u00e9 \u2713',
    "time": datetime(2026, 12, 3, 9, 30, 15, tzinfo=timezone.utc),
    "datacontenttype": "application/json",
    "peerext": "extension value",
}
PEER_DATA = {"greeting": "hello from Python", "n": 42, "nested": {"ok": True}}
# A bound on waits that end as soon as what they wait for happens: generous, because the
# test suites run these peers on a loaded 2-core machine beside a thousand other tests.
TIMEOUT_SECONDS = 300
# Bytes that are not UTF-8, so that the SDK keeps them as bytes (data_base64 in structured mode).
PEER_BYTES = bytes([0x00, 0x01, 0xFE, 0xFF, 0x80]) + b" binary"


def event_json(event):
    """One event as a JSON-ready dict: every attribute (time as RFC 3339) and data."""
    attributes = {}
    for name, value in event.get_attributes().items():
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.isoformat().replace("+00:00", "Z")
        attributes[name] = value
    data = event.get_data()
    if isinstance(data, (bytes, bytearray)):
        data = {"hex": bytes(data).hex()}
    return {"attributes": attributes, "data": data}


def send(url, mode, data_kind="json"):
    attributes = dict(PEER_ATTRIBUTES)
    data = PEER_DATA
    if data_kind == "bytes":
        attributes["datacontenttype"] = "application/octet-stream"
        data = PEER_BYTES
    event = CloudEvent(attributes=attributes, data=data)
    encode = {"binary": to_binary, "structured": to_structured}[mode]
    message = encode(event, JSONFormat())
    request = urllib.request.Request(url, data=message.body, headers=message.headers, method="POST")
    print(json.dumps(event_json(event)), flush=True)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    print(json.dumps({"status": status}), flush=True)
    return 0 if 200 <= status < 300 else 1


def receive(port, count):
    done = threading.Event()
    received = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                event = from_http(HTTPMessage(headers=headers, body=body), JSONFormat())
            except Exception as error:  # the SDK refused our message: say why, answer 400
                print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)
                self.send_response(400)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            with lock:
                print(json.dumps(event_json(event)), flush=True)
                received.append(event)
                if len(received) >= count:
                    done.set()
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):  # keep stdout for the JSON lines
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(json.dumps({"listening": server.server_address[1]}), flush=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    finished = done.wait(timeout=TIMEOUT_SECONDS)
    server.shutdown()
    return 0 if finished else 2


def main(argv):
    if len(argv) in (4, 5) and argv[1] == "send":
        return send(*argv[2:])
    if len(argv) == 4 and argv[1] == "receive":
        return receive(int(argv[2]), int(argv[3]))
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
