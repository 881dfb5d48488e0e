#!/usr/bin/env python3
"""An independent AMQP 1.0 peer: python-qpid-proton (PyPI `python-qpid-proton`, 0.40) with the
CloudEvents Python SDK (PyPI `cloudevents`, 2.x core API), which has no AMQP binding: the
binding is done by hand as the spec maps it (REFERENCE.md section 3.3).

Used by Tests/CloudEventsConformanceTests/PeerInteropTests.swift; its environment comes from
Scripts/peers. URL is the broker's `amqp://user:password@host:port` (SASL PLAIN). Two commands:

    amqp_peer.py send URL ADDRESS MODE        MODE: binary | structured | binary-colon-strings
        Sends the peer event once and waits for the outcome; prints the event as one JSON line
        ({"attributes": ..., "data": ...}, every attribute as its canonical string), then
        {"outcome": "accepted" | "rejected" | "released" | "modified", "description": ...};
        exits 0 on accepted.
        binary: properties.content-type = datacontenttype (a symbol); every other attribute an
        application property `cloudEvents_<name>` with the AMQP type of section 3.3's table
        (string, long, boolean, binary, timestamp in ms); the data as one Data section.
        binary-colon-strings: the `cloudEvents:` prefix and every value as its canonical
        string (what the spec lets a sender forward). structured: content-type
        application/cloudevents+json, the SDK's JSON event as one Data section.

    amqp_peer.py receive URL ADDRESS COUNT
        Attaches a receiver, prints {"attached": true} once the link is open, then each message
        as one JSON line with its raw parts: content_type and its AMQP type, the application
        properties in wire order as [name, amqp type, value as JSON], the body's section kind
        and bytes (text, or hex when not UTF-8), and the event the SDK read from it ("event":
        attributes as canonical strings, data); accepts each and exits after COUNT messages
        (or with 2 after 60 s).
"""

import base64
import json
import sys
import uuid
from datetime import datetime, timezone
from urllib.parse import urlparse

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from proton import Message, Terminus, byte, int32, short, symbol, timestamp, ubyte, uint, ulong, ushort
from proton.handlers import MessagingHandler
from proton.reactor import Container

# The event the peer sends, with an Integer, a Boolean and a Binary extension so that the
# typed values travel. Times in whole milliseconds: AMQP's timestamp carries no more.
PEER_TIME = datetime(2026, 12, 3, 9, 30, 15, 250000, tzinfo=timezone.utc)
PEER_ATTRIBUTES = {
    "specversion": "1.0",
    "id": "amqp-peer-1",
    "source": "/peers/qpid-proton",
    "type": "io.cloudevents.peer.proton",
    "subject": 'a "subject" with spaces, 100% and caf\u00e9 \u2713',
    "time": PEER_TIME,
    "datacontenttype": "application/json",
    "peerext": "extension value",
    "peercount": 42,
    "peerflag": True,
    "peerbytes": b"\x00\xff binary",
}
PEER_DATA = {"greeting": "hello from qpid-proton", "n": 7, "nested": {"ok": True}}
STRUCTURED_MEDIA_TYPE = "application/cloudevents+json"
# A bound on waits that end as soon as what they wait for happens: generous, because the
# test suites run these peers on a loaded 2-core machine beside a thousand other tests.
TIMEOUT_SECONDS = 300


def canonical(value):
    """A CloudEvents attribute value as its canonical string (REFERENCE section 1.3)."""
    if isinstance(value, timestamp):
        value = datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        text = value.astimezone(timezone.utc).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def typed(value):
    """A CloudEvents value as the AMQP type of section 3.3's table."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)  # proton writes a Python int as an AMQP long
    if isinstance(value, datetime):
        return timestamp(int(value.timestamp() * 1000))
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return str(value)


def amqp_type(value):
    """The AMQP type name of a value proton decoded (subclasses before their bases)."""
    for kind, name in (
        (bool, "boolean"), (timestamp, "timestamp"), (ulong, "ulong"), (uint, "uint"), (ushort, "ushort"),
        (ubyte, "ubyte"), (int32, "int"), (short, "short"), (byte, "byte"), (int, "long"), (symbol, "symbol"),
        (str, "string"), ((bytes, memoryview), "binary"), (float, "double"), (uuid.UUID, "uuid"), (type(None), "null"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def json_value(value):
    """A decoded AMQP value as JSON: binary as {"hex": ...}, everything else as itself."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"hex": bytes(value).hex()}
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def event_line(attributes, data):
    """The event as the tests compare it: attributes as canonical strings, JSON data."""
    return {"attributes": {name: canonical(value) for name, value in attributes.items()}, "data": data}


def peer_message(mode):
    event = CloudEvent(attributes=dict(PEER_ATTRIBUTES), data=PEER_DATA)
    message = Message()
    message.inferred = True  # bytes go in a Data section, not an amqp-value
    message.durable = True
    if mode == "structured":
        # The SDK's JSON writer cannot write a bytes extension: give it the Base64 string,
        # which is what the JSON format carries for a Binary extension anyway.
        attributes = dict(PEER_ATTRIBUTES, peerbytes=canonical(PEER_ATTRIBUTES["peerbytes"]))
        message.content_type = symbol(STRUCTURED_MEDIA_TYPE)
        message.body = JSONFormat().write(CloudEvent(attributes=attributes, data=PEER_DATA))
        return message
    colon = mode == "binary-colon-strings"
    prefix = "cloudEvents:" if colon else "cloudEvents_"
    message.content_type = symbol(PEER_ATTRIBUTES["datacontenttype"])
    message.properties = {
        prefix + name: (canonical(value) if colon else typed(value))
        for name, value in event.get_attributes().items()
        if name != "datacontenttype" and value is not None
    }
    message.body = JSONFormat().write_data(event.get_data(), PEER_ATTRIBUTES["datacontenttype"])
    return message


def connect(container, url):
    parsed = urlparse(url)
    return container.connect(
        url=f"{parsed.hostname}:{parsed.port or 5672}", user=parsed.username, password=parsed.password,
        allowed_mechs="PLAIN" if parsed.username else "ANONYMOUS", allow_insecure_mechs=True)


class Sender(MessagingHandler):
    def __init__(self, url, address, mode):
        super().__init__(auto_settle=True)
        self.url, self.address, self.mode = url, address, mode
        self.sent = False
        self.outcome = None

    def on_start(self, event):
        event.container.schedule(TIMEOUT_SECONDS, self)
        self.connection = connect(event.container, self.url)
        sender = event.container.create_sender(self.connection, self.address)
        # Durable termini, as the Swift binding attaches by default: RabbitMQ then declares a
        # durable queue, and refuses a transient link to it (inequivalent arg 'durable').
        sender.target.durability = Terminus.CONFIGURATION

    def on_sendable(self, event):
        if not self.sent:
            self.sent = True
            event.sender.send(peer_message(self.mode))

    def finish(self, event, outcome):
        condition = event.delivery.remote.condition if event.delivery else None
        self.outcome = {"outcome": outcome, "description": condition.description if condition else None}
        event.connection.close()

    def on_accepted(self, event):
        self.finish(event, "accepted")

    def on_rejected(self, event):
        self.finish(event, "rejected")

    def on_released(self, event):
        self.finish(event, "modified" if event.delivery.remote_state == event.delivery.MODIFIED else "released")

    def on_timer_task(self, event):
        if self.outcome is None:
            self.outcome = {"outcome": "timeout", "description": f"no outcome within {TIMEOUT_SECONDS} s"}
            self.connection.close()
        event.container.stop()

    def on_connection_closed(self, event):
        event.container.stop()

    def on_transport_error(self, event):
        condition = event.transport.condition
        print(f"transport error: {condition.name if condition else ''} {condition.description if condition else ''}",
              file=sys.stderr)
        event.container.stop()


def send(url, address, mode):
    if mode not in ("binary", "structured", "binary-colon-strings"):
        print(__doc__, file=sys.stderr)
        return 64
    printable = {name: value for name, value in PEER_ATTRIBUTES.items()}
    print(json.dumps(event_line(printable, PEER_DATA)), flush=True)
    handler = Sender(url, address, mode)
    Container(handler).run()
    outcome = handler.outcome or {"outcome": "none", "description": "the connection ended first"}
    print(json.dumps(outcome), flush=True)
    return 0 if outcome["outcome"] == "accepted" else 1


def read_event(message):
    """The event the SDK reads from a message as section 3.3 maps it, or {"error": ...}."""
    content_type = str(message.content_type) if message.content_type else None
    body = message.body
    if not message.inferred and body is not None:
        return {"error": "the body is an amqp-value section, which the binding does not define"}
    try:
        if content_type and content_type.lower().startswith("application/cloudevents"):
            event = JSONFormat().read(CloudEvent, bytes(body))
            attributes = {n: v for n, v in event.get_attributes().items() if v is not None}
            data = event.get_data()
            return event_line(attributes, {"hex": bytes(data).hex()} if isinstance(data, (bytes, bytearray)) else data)
        attributes = {}
        for key, value in (message.properties or {}).items():
            for prefix in ("cloudEvents_", "cloudEvents:"):
                if key.startswith(prefix):
                    attributes[key[len(prefix):]] = value
        if content_type:
            attributes["datacontenttype"] = content_type
        data = None
        if body is not None:
            data = JSONFormat().read_data(bytes(body), content_type)
            if isinstance(data, (bytes, bytearray)):
                data = {"hex": bytes(data).hex()}
        return event_line(attributes, data)
    except Exception as error:  # the line reports it; the Swift test fails on it
        return {"error": f"{type(error).__name__}: {error}"}


class Receiver(MessagingHandler):
    def __init__(self, url, address, count):
        super().__init__(auto_accept=False)
        self.url, self.address, self.count = url, address, count
        self.received = 0
        self.finished = False

    def on_start(self, event):
        event.container.schedule(TIMEOUT_SECONDS, self)
        self.connection = connect(event.container, self.url)
        receiver = event.container.create_receiver(self.connection, self.address)
        receiver.source.durability = Terminus.CONFIGURATION

    def on_link_opened(self, event):
        if event.receiver:
            print(json.dumps({"attached": True}), flush=True)

    def on_message(self, event):
        message = event.message
        body = message.body
        if isinstance(body, memoryview):
            body = bytes(body)
        if isinstance(body, (bytes, bytearray)) and message.inferred:
            try:
                body_json = {"section": "data", "text": bytes(body).decode("utf-8")}
            except UnicodeDecodeError:
                body_json = {"section": "data", "hex": bytes(body).hex()}
        elif isinstance(body, (bytes, bytearray)):
            body_json = {"section": "amqp-value", "hex": bytes(body).hex()}
        else:
            body_json = {"section": "amqp-value" if body is not None else "none", "value": repr(body)}
        line = {
            "content_type": str(message.content_type) if message.content_type else None,
            "content_type_type": amqp_type(message.content_type) if message.content_type else None,
            "properties": [[key, amqp_type(value), json_value(value)] for key, value in (message.properties or {}).items()],
            "body": body_json,
            "event": read_event(message),
        }
        print(json.dumps(line), flush=True)
        self.accept(event.delivery)
        self.received += 1
        if self.received >= self.count:
            self.finished = True
            event.connection.close()

    def on_timer_task(self, event):
        self.connection.close()
        event.container.stop()

    def on_connection_closed(self, event):
        event.container.stop()

    def on_transport_error(self, event):
        condition = event.transport.condition
        print(f"transport error: {condition.name if condition else ''} {condition.description if condition else ''}",
              file=sys.stderr)
        event.container.stop()


def receive(url, address, count):
    handler = Receiver(url, address, count)
    Container(handler).run()
    return 0 if handler.finished else 2


def main(argv):
    if len(argv) == 5 and argv[1] == "send":
        return send(argv[2], argv[3], argv[4])
    if len(argv) == 5 and argv[1] == "receive":
        return receive(argv[2], argv[3], int(argv[4]))
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
