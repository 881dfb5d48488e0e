#!/usr/bin/env python3
"""An independent MQTT peer: paho-mqtt (PyPI `paho-mqtt`, 2.x), raw MQTT with the CloudEvents
MQTT binding done by hand, as the spec writes it (REFERENCE.md section 3.2).

Used by Tests/CloudEventsConformanceTests/PeerInteropTests.swift; its environment comes
from Scripts/peers. VERSION is 5 or 3.1.1. Two commands:

    mqtt_peer.py publish HOST PORT TOPIC VERSION MODE     MODE: binary | structured
        Publishes the peer event once at QoS 1 and waits for the PUBACK; prints the event
        as one JSON line ({"attributes": ..., "data": ...}) and exits 0.
        MQTT 5 binary: one User Property per attribute except datacontenttype, named exactly
        as the attribute (no prefix), Content Type property = datacontenttype, payload = the
        data. MQTT 5 structured: Content Type application/cloudevents+json, payload the JSON
        event. MQTT 3.1.1: structured JSON payload only (no properties exist).

    mqtt_peer.py subscribe HOST PORT TOPIC VERSION COUNT
        Subscribes at QoS 1, prints {"subscribed": true} once the SUBACK arrived, then each
        received message as one JSON line with the raw PUBLISH fields: topic, content type,
        user properties in wire order (a list of [name, value] pairs), payload as text (or
        hex when not UTF-8); exits after COUNT messages (or with 2 after 60 s).
"""

import json
import sys
import threading
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

# The event the peer publishes (time as its canonical RFC 3339 string: MQTT carries text).
PEER_ATTRIBUTES = {
    "specversion": "1.0",
    "id": "mqtt-peer-1",
    "source": "/peers/paho",
    "type": "io.cloudevents.peer.paho",
    "subject": "a subject with spaces, 100% and caf\u00e9 \u2713",
    "time": "2026-12-03T09:30:15Z",
    "datacontenttype": "application/json",
    "peerext": "extension value",
}
PEER_DATA = {"greeting": "hello from paho", "n": 7}
STRUCTURED_MEDIA_TYPE = "application/cloudevents+json"
# A bound on waits that end as soon as what they wait for happens: generous, because the
# test suites run these peers on a loaded 2-core machine beside a thousand other tests.
TIMEOUT_SECONDS = 300


def make_client(version):
    """A paho client for VERSION, with a random client id and a clean start."""
    protocol = {"5": mqtt.MQTTv5, "3.1.1": mqtt.MQTTv311}[version]
    client_id = f"ce-peer-{uuid.uuid4().hex[:12]}"
    if protocol == mqtt.MQTTv5:
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol, clean_session=True)


def connect(client, host, port, version):
    if version == "5":
        client.connect(host, port, keepalive=30, clean_start=True)
    else:
        client.connect(host, port, keepalive=30)


def publish(host, port, topic, version, mode):
    if version == "3.1.1" and mode != "structured":
        print("MQTT 3.1.1 has structured mode only", file=sys.stderr)
        return 64
    structured = dict(PEER_ATTRIBUTES, data=PEER_DATA)
    properties = None
    if mode == "binary":
        # Binary: the Content Type property carries datacontenttype; every other attribute
        # is a User Property named exactly as the attribute; the payload is the data.
        properties = Properties(PacketTypes.PUBLISH)
        properties.ContentType = PEER_ATTRIBUTES["datacontenttype"]
        properties.UserProperty = [
            (name, value) for name, value in PEER_ATTRIBUTES.items() if name != "datacontenttype"
        ]
        payload = json.dumps(PEER_DATA).encode()
    else:
        payload = json.dumps(structured).encode()
        if version == "5":
            properties = Properties(PacketTypes.PUBLISH)
            properties.ContentType = STRUCTURED_MEDIA_TYPE

    client = make_client(version)
    connect(client, host, port, version)
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=1, properties=properties)
        info.wait_for_publish(timeout=TIMEOUT_SECONDS)
        if not info.is_published():
            print("no PUBACK within the time limit", file=sys.stderr)
            return 2
    finally:
        client.disconnect()
        client.loop_stop()
    print(json.dumps({"attributes": PEER_ATTRIBUTES, "data": PEER_DATA}), flush=True)
    return 0


def subscribe(host, port, topic, version, count):
    done = threading.Event()
    received = []
    lock = threading.Lock()

    def on_connect(client, userdata, flags, reason_code, properties):
        client.subscribe(topic, qos=1)

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        print(json.dumps({"subscribed": True}), flush=True)

    def on_message(client, userdata, message):
        # The raw PUBLISH fields, read from paho's properties object (no CloudEvents decoding).
        props = message.properties
        content_type = getattr(props, "ContentType", None) if props is not None else None
        user_properties = getattr(props, "UserProperty", []) if props is not None else []
        try:
            payload = {"text": message.payload.decode("utf-8")}
        except UnicodeDecodeError:
            payload = {"hex": message.payload.hex()}
        line = {
            "topic": message.topic,
            "content_type": content_type,
            "user_properties": [[name, value] for name, value in user_properties],
            "payload": payload,
        }
        with lock:
            print(json.dumps(line), flush=True)
            received.append(line)
            if len(received) >= count:
                done.set()

    client = make_client(version)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    connect(client, host, port, version)
    client.loop_start()
    try:
        finished = done.wait(timeout=TIMEOUT_SECONDS)
    finally:
        client.disconnect()
        client.loop_stop()
    return 0 if finished else 2


def main(argv):
    if len(argv) == 7 and argv[1] == "publish":
        return publish(argv[2], int(argv[3]), argv[4], argv[5], argv[6])
    if len(argv) == 7 and argv[1] == "subscribe":
        return subscribe(argv[2], int(argv[3]), argv[4], argv[5], int(argv[6]))
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
