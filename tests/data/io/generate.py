#!/usr/bin/env python3
"""Regenerates the io reader fixtures: the same three rows in every supported shape.

Run from this directory: python3 generate.py. Nested values are written compactly in every
shape so that the raw JSON text of a dynamic cell is the same whichever file it comes from.
"""
import csv, gzip, io, json

ROWS = [
    {"Timestamp": "2021-08-02T13:11:39.7724491Z", "DeviceName": "adfs01.simulandlabs.com",
     "FileName": "powershell.exe",
     "FolderPath": "c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
     "ProcessId": 5692, "IsElevated": True, "AdditionalFields": "{\"Key\":\"v, w\"}",
     "Extra": {"nested": [1, 2]}, "Unwanted": {"deep": ["x"]}},
    {"Timestamp": "2021-08-02T13:11:40Z", "DeviceName": "k\u00e4se-pc", "FileName": "cmd.exe",
     "FolderPath": "", "ProcessId": "-1.5e3", "IsElevated": False, "AdditionalFields": None,
     "Extra": [], "Unwanted": 1},
    {"Timestamp": "2021-08-02T13:11:41.1Z", "DeviceName": "ws3", "FileName": "say \"hi\"\n.exe",
     "FolderPath": "\U0001F600", "ProcessId": 0, "IsElevated": None,
     "AdditionalFields": "", "Extra": None, "Unwanted": None},
]
CATEGORY = "AdvancedHunting-DeviceProcessEvents"


def compact(v):
    # ProcessId of row 2 is a number whose text must survive exactly: emit it raw.
    if isinstance(v, str) and v == "-1.5e3":
        return v
    return json.dumps(v, separators=(",", ":"), ensure_ascii=True)


def flat(row):
    return "{" + ",".join(f"{json.dumps(k)}:{compact(v)}" for k, v in row.items()) + "}"


def pretty(row, indent):
    pad = " " * indent
    body = ",\n".join(f"{pad}  {json.dumps(k)}: {compact(v)}" for k, v in row.items())
    return f"{pad}{{\n{body}\n{pad}}}"


def storage(i, row):
    head = '{"time":"2021-08-02T13:12:00.000Z","tenantId":"t-1","operationName":"Publish"'
    if i == 0:
        # A decoy top-level key before `properties` must not end up in the row.
        return head + f',"DeviceName":"decoy","category":"{CATEGORY}","properties":{flat(row)}}}'
    if i == 1:
        # `category` after `properties`: key order is arbitrary.
        return head + f',"properties":{flat(row)},"category":"{CATEGORY}"}}'
    return '{"category":"' + CATEGORY + '","properties":' + flat(row) + ',"DeviceName":"decoy"}'


def write(name, text, newline="\n"):
    with open(name, "w", encoding="utf-8", newline=newline) as f:
        f.write(text)


write("rows.ndjson", "\n".join(flat(r) for r in ROWS) + "\n")
storage_text = "\r\n".join(storage(i, r) for i, r in enumerate(ROWS)) + "\r\n"
write("rows.storage.json", storage_text, newline="")
records = [storage(i, r) for i, r in enumerate(ROWS)]
write("rows.eventhub.json",
      '{"records":[' + ",".join(records[:2]) + ']}\n{"records":[' + records[2] + "]}\n")
write("rows.array.json", "[\n" + ",\n".join(pretty(r, 2) for r in ROWS) + "\n]\n")
schema = ",\n".join(f'    {{"Name": "{k}", "Type": "string"}}' for k in ROWS[0])
write("rows.hunting.json",
      '{\n  "Schema": [\n' + schema + '\n  ],\n  "Results": [\n'
      + ",\n".join(pretty(r, 4) for r in ROWS) + "\n  ]\n}\n")
buf = io.StringIO()
w = csv.writer(buf)  # CRLF line ends, minimal quoting
cols = [k for k in ROWS[0] if k != "Unwanted"]
w.writerow(cols)
for r in ROWS:
    cells = []
    for k in cols:
        v = r[k]
        if v is None:
            cells.append("")
        elif isinstance(v, bool):
            cells.append("true" if v else "false")
        elif isinstance(v, (dict, list)):
            cells.append(compact(v))
        else:
            cells.append(str(v))
    w.writerow(cells)
write("rows.csv", buf.getvalue(), newline="")
# gzip, with a name that does not say so: detection is by magic bytes.
with open("rows.storage.json.gz", "wb") as f:
    f.write(gzip.compress(storage_text.encode(), mtime=0))
# Many records, then the stream cut off part way.
many = "".join(flat(dict(ROWS[0], ProcessId=i)) + "\n" for i in range(2000))
blob = gzip.compress(many.encode(), mtime=0)
with open("truncated.ndjson.gz", "wb") as f:
    f.write(blob[: len(blob) * 2 // 3])
