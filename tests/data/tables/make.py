#!/usr/bin/env python3
"""Writes untyped.jsonl: the bundled sample's rows (../sample/defender-flat.jsonl) without
their Type column, as a Defender export of several tables with no table column gives them,
plus rows whose table cannot be told from their columns. Run from this folder; deterministic.
"""
import json

out = []
with open("../sample/defender-flat.jsonl", encoding="utf-8") as f:
    for i, line in enumerate(f):
        row = json.loads(line)
        table = row.pop("Type")
        if table == "DeviceNetworkEvents":
            # Without a column only DeviceNetworkEvents has, a connection could as well be a
            # DeviceEvents row (which has RemoteIP, RemotePort, RemoteUrl too); real exports of
            # the table always fill Protocol.
            row["Protocol"] = "Tcp"
        if i == 2:
            # A union export's type-suffixed column, and a null Type: still inferred.
            row["ReportId_long"] = row.pop("ReportId")
            row["Type"] = None
        out.append(row)
# A connection without Protocol: DeviceNetworkEvents and DeviceEvents both fit.
out.append({"Timestamp": "2024-05-14T11:00:00Z", "DeviceName": "WS-FINANCE-07",
            "ActionType": "ConnectionSuccess", "RemoteIP": "203.0.113.7", "RemotePort": 443,
            "RemoteUrl": "update.server-eye.de", "InitiatingProcessFileName": "ServerEye.exe",
            "ReportId": 4000})
# Columns of Defender for Identity's event tables, no ActionType: fits all three of them.
out.append({"Timestamp": "2024-05-14T11:00:00Z", "DeviceName": "WS-FINANCE-07",
            "DestinationDeviceName": "DC-01", "ReportId": 4001})
with open("untyped.jsonl", "w", encoding="utf-8") as f:
    for row in out:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
