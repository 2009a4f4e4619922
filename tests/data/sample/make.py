#!/usr/bin/env python3
"""Writes the bundled sample: the same Defender rows in three file shapes.

Hand-built rows (no public Defender data with RMM activity exists): ServerEye activity on
three devices, known-good ServerEye maintenance that the pack's exclusions suppress,
near-misses that must not match, and unrelated noise. Run from this folder; output is
deterministic. The evaluation clock for this sample is 2024-05-15T12:00:00Z.
"""
import json

rows = []
def add(table, **cols):
    cols["Type"] = table
    rows.append(cols)

SIGNER = "Krämer IT Solutions GmbH"
# File signatures.
for i, (dev, name, ts, signer) in enumerate([
    ("a1f0", "WS-FINANCE-07", "2024-05-14T08:12:03.1234567Z", SIGNER),
    ("a1f0", "WS-FINANCE-07", "2024-05-14T09:40:11Z", SIGNER.upper()),
    ("b2e1", "SRV-FILE-02", "2024-05-13T22:01:00.5Z", SIGNER + " & Co. KG"),
    ("b2e1", "SRV-FILE-02", "2024-05-01T10:00:00Z", SIGNER),          # outside the 5d window
    ("c3d2", "WS-HR-11", "2024-05-14T10:00:00Z", "Der" + SIGNER),     # glued: no match
    ("c3d2", "WS-HR-11", "2024-05-14T10:05:00Z", "Microsoft Corporation"),
]):
    add("DeviceFileCertificateInfo", Timestamp=ts, DeviceId=dev, DeviceName=name,
        SHA1=f"{i:02x}" * 20, IsSigned=True, Signer=signer, Issuer="DigiCert SHA2 Assured ID Code Signing CA",
        ReportId=1000 + i, IsTrusted=True)
# Processes.
proc = [
    ("a1f0", "WS-FINANCE-07", "2024-05-14T08:12:05Z", "ServerEye.Service.exe", r"C:\Program Files (x86)\Server-Eye\ServerEye.Service.exe", "services.exe", SIGNER, "ServerEye", "NT AUTHORITY\\SYSTEM"),
    ("a1f0", "WS-FINANCE-07", "2024-05-14T12:30:00Z", "ServerEye.Agent.exe", r"C:\Program Files (x86)\Server-Eye\ServerEye.Agent.exe", "ServerEye.Service.exe", SIGNER, "Server-Eye Agent", "jdoe@contoso.com"),
    ("b2e1", "SRV-FILE-02", "2024-05-13T22:01:02Z", "ServerEye.Agent.exe", r"C:\Program Files (x86)\Server-Eye\ServerEye.Agent.exe", "services.exe", SIGNER, "ServerEye", ""),
    # ServerEye's own SystemUpdate task: suppressed by the maintenance exclusion.
    ("b2e1", "SRV-FILE-02", "2024-05-14T03:00:00Z", "ServerEye.exe", r"C:\Program Files (x86)\Server-Eye\SystemUpdate\ServerEye.exe", "ServerEye.Service.exe", SIGNER, "ServerEye", ""),
    # Inventory collector: suppressed by the inventory exclusion.
    ("b2e1", "SRV-FILE-02", "2024-05-14T03:10:00Z", "ServerEye.Inventory.exe", r"C:\Program Files (x86)\Server-Eye\ServerEye.Inventory.exe", "ServerEye.Service.exe", SIGNER, "ServerEye", ""),
    # Near miss: product glued.
    ("c3d2", "WS-HR-11", "2024-05-14T11:00:00Z", "se.exe", r"C:\Users\x\se.exe", "explorer.exe", SIGNER, "ServerEyes", "mallory@contoso.com"),
    ("c3d2", "WS-HR-11", "2024-05-14T11:01:00Z", "chrome.exe", r"C:\Program Files\Google\Chrome\Application\chrome.exe", "explorer.exe", "Google LLC", "Google Chrome", "mallory@contoso.com"),
]
for i, (dev, name, ts, fn, path, parent, company, product, upn) in enumerate(proc):
    add("DeviceProcessEvents", Timestamp=ts, DeviceId=dev, DeviceName=name, ActionType="ProcessCreated",
        FileName=fn, FolderPath=path, ProcessCommandLine=f'"{fn}" --run', AccountUpn=upn,
        InitiatingProcessFileName=parent, ProcessVersionInfoCompanyName=company,
        ProcessVersionInfoProductName=product, ReportId=2000 + i,
        AdditionalFields=json.dumps({"ProcessStartKey": 1234 + i}))
# Network connections.
net = [
    ("a1f0", "WS-FINANCE-07", "2024-05-14T08:12:09Z", "occ.server-eye.de", "ServerEye.Service.exe", r"C:\Program Files (x86)\Server-Eye\ServerEye.Service.exe", SIGNER, "ServerEye", "system"),
    ("a1f0", "WS-FINANCE-07", "2024-05-14T09:12:09Z", "https://occ.server-eye.de:443/api", "ServerEye.Service.exe", r"C:\Program Files (x86)\Server-Eye\ServerEye.Service.exe", SIGNER, "ServerEye", "system"),
    ("c3d2", "WS-HR-11", "2024-05-14T11:02:00Z", "myserver-eye.de", "se.exe", r"C:\Users\x\se.exe", SIGNER, "ServerEye", "mallory@contoso.com"),
    ("c3d2", "WS-HR-11", "2024-05-14T11:03:00Z", "www.google.com", "chrome.exe", r"C:\Program Files\Google\Chrome\Application\chrome.exe", "Google LLC", "Google Chrome", "mallory@contoso.com"),
]
for i, (dev, name, ts, url, fn, path, company, product, upn) in enumerate(net):
    add("DeviceNetworkEvents", Timestamp=ts, DeviceId=dev, DeviceName=name, ActionType="ConnectionSuccess",
        RemoteUrl=url, RemotePort=443, RemoteIP="203.0.113.%d" % (10 + i), InitiatingProcessFileName=fn,
        InitiatingProcessFolderPath=path, InitiatingProcessVersionInfoCompanyName=company,
        InitiatingProcessVersionInfoProductName=product, InitiatingProcessAccountUpn=upn, ReportId=3000 + i)

rows.sort(key=lambda r: r["Timestamp"])
with open("defender-flat.jsonl", "w", encoding="utf-8", newline="\n") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
# Storage account: category names the table; key order differs; CRLF; \u-escaped non-ASCII.
with open("defender-storage.jsonl", "w", encoding="utf-8", newline="") as f:
    for r in rows:
        props = {k: v for k, v in r.items() if k != "Type"}
        rec = {"properties": props, "time": "2024-05-15T00:00:00Z", "tenantId": "00000000-0000-0000-0000-000000000000",
               "category": "AdvancedHunting-" + r["Type"]}
        f.write(json.dumps(rec) + "\r\n")
# Event Hub: messages of up to 4 records.
with open("defender-eventhub.jsonl", "w", encoding="utf-8", newline="\n") as f:
    for i in range(0, len(rows), 4):
        recs = [{"time": "2024-05-15T00:00:00Z", "tenantId": "t", "category": "AdvancedHunting-" + r["Type"],
                 "properties": {k: v for k, v in r.items() if k != "Type"}} for r in rows[i:i + 4]]
        f.write(json.dumps({"records": recs}, ensure_ascii=False) + "\n")
