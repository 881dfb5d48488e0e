#!/usr/bin/env python3
"""Writes 051-large-256kib.json: one event whose data is 256 KiB (262,144 bytes) of binary
data, byte i = (i * 251 + 17) mod 256, as `data_base64`. Run from this folder:
`python3 make-large-data.py`. The output is committed; rerunning gives the same bytes."""
import base64

SIZE = 256 * 1024
data = bytes((i * 251 + 17) % 256 for i in range(SIZE))
with open("051-large-256kib.json", "w", encoding="ascii") as out:
    out.write(
        "{\n"
        '  "specversion": "1.0",\n'
        '  "id": "large-256kib",\n'
        '  "source": "/data",\n'
        '  "type": "com.example.data.large",\n'
        '  "datacontenttype": "application/octet-stream",\n'
        '  "data_base64": "' + base64.b64encode(data).decode("ascii") + '"\n'
        "}\n"
    )
