#!/usr/bin/env python3
"""An independent NATS peer: nats-py (PyPI `nats-py`, 2.x, pure Python) with the CloudEvents
Python SDK (PyPI `cloudevents`, 2.x core API), which has no NATS binding: the binding is done by
hand as the spec maps it on main (REFERENCE.md section 3.4, NATS 2.2+ headers).

Used by Tests/CloudEventsNATSTests/NATSPeerInteropTests.swift; its environment comes from
Scripts/peers. URL is the server's `nats://host:port`. Two commands:

    nats_peer.py publish URL SUBJECT MODE     MODE: binary | structured | structured-no-headers
        Publishes the peer event once and flushes; prints the event as one JSON line
        ({"attributes": ..., "data": ...}, every attribute as its canonical string) and exits 0.
        binary: EVERY attribute, datacontenttype included, as a header `ce-<name>` (lowercase)
        whose value is the canonical string percent-encoded as HTTP's (space, '"', '%' and
        everything outside U+0021-U+007E, uppercase hex); no Content-Type; the payload the data.
        structured: a `Content-Type: application/cloudevents+json` header, the SDK's JSON event
        as the payload. structured-no-headers: the JSON event and no header block (PUB), as the
        1.0.2 binding (before NATS headers) sends it.

    nats_peer.py subscribe URL SUBJECT COUNT
        Subscribes, prints {"subscribed": true} once the server has the subscription, then each
        message as one JSON line with its raw parts: subject, headers as [name, value] pairs
        (as nats-py hands them over), the payload as text (or hex when not UTF-8), and the
        event read from it as section 3.4 maps it ("event": attributes as canonical strings,
        data; or {"error": ...}); exits 0 after COUNT messages (or 2 after 60 s).
"""

import asyncio
import json
import sys
from datetime import datetime, timezone

import nats
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

PEER_TIME = datetime(2026, 12, 3, 9, 30, 15, 250000, tzinfo=timezone.utc)
PEER_ATTRIBUTES = {
    "specversion": "1.0",
    "id": "nats-peer-1",
    "source": "/peers/nats-py",
    "type": "io.cloudevents.peer.natspy",
    "subject": 'a "subject" with spaces, 100% and caf\u00e9 \u2713 \U0001F600',
    "time": PEER_TIME,
    "datacontenttype": "application/json",
    "peerext": "extension value",
    "peercount": 42,
}
PEER_DATA = {"greeting": "hello from nats-py", "n": 7, "nested": {"ok": True}}
STRUCTURED_MEDIA_TYPE = "application/cloudevents+json"
# A bound on waits that end as soon as what they wait for happens: generous, because the
# test suites run these peers on a loaded 2-core machine beside a thousand other tests.
TIMEOUT_SECONDS = 300


def canonical(value):
    """A CloudEvents attribute value as its canonical string (REFERENCE section 1.3)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        text = value.astimezone(timezone.utc).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")
    return str(value)


def percent_encode(text):
    """Section 3.1's header-value encoding, which 3.4 reuses: every UTF-8 byte of space, '"',
    '%' and anything outside U+0021-U+007E as %XX (uppercase hex); the rest as itself."""
    out = []
    for character in text:
        code = ord(character)
        if 0x21 <= code <= 0x7E and character not in ('"', "%"):
            out.append(character)
        else:
            out.extend(f"%{byte:02X}" for byte in character.encode("utf-8"))
    return "".join(out)


def percent_decode(text):
    """Exactly one strict percent-decoding pass; the bytes must be valid UTF-8."""
    raw = text.encode("utf-8")
    out = bytearray()
    index = 0
    while index < len(raw):
        if raw[index] == 0x25:
            pair = raw[index + 1:index + 3]
            if len(pair) != 2 or not all(chr(b) in "0123456789abcdefABCDEF" for b in pair):
                raise ValueError(f"malformed percent-escape at byte {index} of {text!r}")
            out.append(int(pair, 16))
            index += 3
        else:
            out.append(raw[index])
            index += 1
    return out.decode("utf-8")  # strict: raises on invalid UTF-8


def event_line(attributes, data):
    return {"attributes": {name: canonical(value) for name, value in attributes.items()}, "data": data}


def peer_message(mode):
    """The (headers, payload) of the peer event in MODE."""
    if mode in ("structured", "structured-no-headers"):
        payload = JSONFormat().write(CloudEvent(attributes=dict(PEER_ATTRIBUTES), data=PEER_DATA))
        headers = {"Content-Type": STRUCTURED_MEDIA_TYPE} if mode == "structured" else None
        return headers, payload
    headers = {"ce-" + name: percent_encode(canonical(value)) for name, value in PEER_ATTRIBUTES.items()}
    payload = JSONFormat().write_data(PEER_DATA, PEER_ATTRIBUTES["datacontenttype"])
    return headers, payload


async def publish(url, subject, mode):
    if mode not in ("binary", "structured", "structured-no-headers"):
        print(__doc__, file=sys.stderr)
        return 64
    print(json.dumps(event_line(PEER_ATTRIBUTES, PEER_DATA)), flush=True)
    headers, payload = peer_message(mode)
    client = await nats.connect(url, connect_timeout=TIMEOUT_SECONDS, allow_reconnect=False)
    await client.publish(subject, payload, headers=headers)
    await client.flush(timeout=TIMEOUT_SECONDS)
    await client.close()
    return 0


def read_event(headers, payload):
    """The event a message carries as section 3.4 maps it, or {"error": ...}."""
    try:
        content_type = None
        for name, value in (headers or {}).items():
            if name.lower() == "content-type":
                content_type = value
        if headers is None or (content_type or "").lower().startswith("application/cloudevents"):
            event = JSONFormat().read(CloudEvent, payload)
            attributes = {n: v for n, v in event.get_attributes().items() if v is not None}
            data = event.get_data()
            if isinstance(data, (bytes, bytearray)):
                data = {"hex": bytes(data).hex()}
            return event_line(attributes, data)
        attributes = {}
        for name, value in headers.items():
            if name.lower().startswith("ce-"):
                attribute = name[3:].lower()
                if attribute in attributes:
                    raise ValueError(f"attribute {attribute!r} appears more than once")
                attributes[attribute] = percent_decode(value)
        for required in ("specversion", "id", "source", "type"):
            if not attributes.get(required):
                raise ValueError(f"attribute {required!r} is missing")
        data = JSONFormat().read_data(payload, attributes.get("datacontenttype"))
        if isinstance(data, (bytes, bytearray)):
            data = {"hex": bytes(data).hex()}
        return event_line(attributes, data)
    except Exception as error:  # the line reports it; the Swift test fails on it
        return {"error": f"{type(error).__name__}: {error}"}


async def subscribe(url, subject, count):
    client = await nats.connect(url, connect_timeout=TIMEOUT_SECONDS, allow_reconnect=False)
    queue = asyncio.Queue()

    async def handler(message):
        await queue.put(message)

    await client.subscribe(subject, cb=handler)
    await client.flush(timeout=TIMEOUT_SECONDS)
    print(json.dumps({"subscribed": True}), flush=True)
    received = 0
    try:
        while received < count:
            message = await asyncio.wait_for(queue.get(), TIMEOUT_SECONDS)
            payload = bytes(message.data)
            try:
                payload_json = {"text": payload.decode("utf-8")}
            except UnicodeDecodeError:
                payload_json = {"hex": payload.hex()}
            headers = message.headers
            line = {
                "subject": message.subject,
                "headers": None if headers is None else [[name, value] for name, value in headers.items()],
                "payload": payload_json,
                "event": read_event(headers, payload),
            }
            print(json.dumps(line), flush=True)
            received += 1
    except asyncio.TimeoutError:
        return 2
    finally:
        await client.close()
    return 0


def main(argv):
    if len(argv) == 5 and argv[1] == "publish":
        return asyncio.run(publish(argv[2], argv[3], argv[4]))
    if len(argv) == 5 and argv[1] == "subscribe":
        return asyncio.run(subscribe(argv[2], argv[3], int(argv[4])))
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
