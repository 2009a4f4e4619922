#!/usr/bin/env python3
"""Write flat Sysmon JSON lines for the Sigma peers bench (deterministic, stdlib only).

One event per line, in the flat layout NXLog and the OTRF data sets use: the System fields
(`EventID`, `Channel`, `Provider`, `Computer`, `EventRecordID`, `TimeCreated`) and the event
data fields at the top level, in Sysmon's field order. Background events are built from
lists of ordinary Windows activity for the Sysmon event IDs a SIEM sees most (1, 3, 5, 7, 10,
11, 12, 13, 22); a fraction (`--match-rate`) are copies of the Sysmon events of SigmaHQ's
regression tests (each written to make its rule fire), with a new record id, time and host.
So the file has realistic shapes, many near misses (`powershell.exe`, `rundll32.exe`,
`\\AppData\\Local\\Temp\\` appear in benign rows too) and a known share of real positives.

`EventRecordID` is the line number from 1: the key the comparison uses for "which event".
The only randomness is `random.Random(seed)`; the same arguments give the same bytes.

usage: gen_sysmon.py --out FILE [--size-mb 1024] [--seed 7] [--match-rate 0.001]
                     [--regression DIR]
"""

import argparse
import datetime
import json
import pathlib
import random
import sys

SYSMON = "Microsoft-Windows-Sysmon/Operational"
HOSTS = [f"WKS-{i:03d}.corp.example" for i in range(40)] + [
    f"SRV-{n}.corp.example" for n in ("DC01", "DC02", "FS01", "SQL01", "WEB01", "EXCH01")
]
USERS = ["CORP\\alice", "CORP\\bob", "CORP\\carol", "CORP\\svc_backup", "NT AUTHORITY\\SYSTEM",
         "NT AUTHORITY\\LOCAL SERVICE", "NT AUTHORITY\\NETWORK SERVICE", "CORP\\dave.admin"]
# (image, command line template, company, description, original file name, product)
PROCS = [
    ("C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\system32\\svchost.exe -k {svc} -p -s {svcname}",
     "Microsoft Corporation", "Host Process for Windows Services", "svchost.exe", "Microsoft® Windows® Operating System"),
    ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
     "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer --lang=en-US --renderer-client-id={n} --launch-time-ticks={big} --mojo-platform-channel-handle={n2} /prefetch:1",
     "Google LLC", "Google Chrome", "chrome.exe", "Google Chrome"),
    ("C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
     "\"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe\" --type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US --service-sandbox-type=none --field-trial-handle={n2}",
     "Microsoft Corporation", "Microsoft Edge", "msedge.exe", "Microsoft Edge"),
    ("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
     "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -NoProfile -ExecutionPolicy RemoteSigned -File \"C:\\ProgramData\\Corp\\Scripts\\{script}.ps1\"",
     "Microsoft Corporation", "Windows PowerShell", "PowerShell.EXE", "Microsoft® Windows® Operating System"),
    ("C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\system32\\cmd.exe /c \"C:\\ProgramData\\Corp\\Scripts\\{script}.cmd\"",
     "Microsoft Corporation", "Windows Command Processor", "Cmd.Exe", "Microsoft® Windows® Operating System"),
    ("C:\\Windows\\System32\\conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
     "Microsoft Corporation", "Console Window Host", "CONHOST.EXE", "Microsoft® Windows® Operating System"),
    ("C:\\Windows\\System32\\rundll32.exe", "C:\\Windows\\system32\\rundll32.exe C:\\Windows\\system32\\shell32.dll,SHCreateLocalServerRunDll {{{guid}}} -Embedding",
     "Microsoft Corporation", "Windows host process (Rundll32)", "RUNDLL32.EXE", "Microsoft® Windows® Operating System"),
    ("C:\\Windows\\System32\\taskhostw.exe", "taskhostw.exe Install $(Arg0)",
     "Microsoft Corporation", "Host Process for Windows Tasks", "taskhostw.exe", "Microsoft® Windows® Operating System"),
    ("C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE", "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE\"",
     "Microsoft Corporation", "Microsoft Outlook", "Outlook.exe", "Microsoft Outlook"),
    ("C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE", "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE\" /n \"C:\\Users\\{user}\\Documents\\{doc}.docx\"",
     "Microsoft Corporation", "Microsoft Word", "WinWord.exe", "Microsoft Office"),
    ("C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE",
     "Microsoft Corporation", "Windows Explorer", "EXPLORER.EXE", "Microsoft® Windows® Operating System"),
    ("C:\\Users\\{user}\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe",
     "\"C:\\Users\\{user}\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe\" --type=gpu-process --field-trial-handle={n2}",
     "Microsoft Corporation", "Microsoft Teams", "Teams.exe", "Microsoft Teams"),
    ("C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding",
     "Microsoft Corporation", "WMI Provider Host", "Wmiprvse.exe", "Microsoft® Windows® Operating System"),
    ("C:\\Windows\\System32\\SearchProtocolHost.exe",
     "\"C:\\Windows\\system32\\SearchProtocolHost.exe\" Global\\UsGthrFltPipeMssGthrPipe{n} Global\\UsGthrCtrlFltPipeMssGthrPipe{n} 1 -2147483646 \"Software\\Microsoft\\Windows Search\" \"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)\" \"C:\\ProgramData\\Microsoft\\Search\\Data\\Temp\\usgthrsvc\" \"DownLevelDaemon\"",
     "Microsoft Corporation", "Microsoft Windows Search Protocol Host", "SearchProtocolHost.exe", "Windows® Search"),
    ("C:\\Program Files\\7-Zip\\7z.exe", "\"C:\\Program Files\\7-Zip\\7z.exe\" x \"C:\\Users\\{user}\\Downloads\\{doc}.zip\" -o\"C:\\Users\\{user}\\Downloads\\{doc}\"",
     "Igor Pavlov", "7-Zip Console", "7z.exe", "7-Zip"),
    ("C:\\Windows\\System32\\msiexec.exe", "C:\\Windows\\system32\\msiexec.exe /V",
     "Microsoft Corporation", "Windows® installer", "msiexec.exe", "Windows Installer - Unicode"),
    ("C:\\Program Files\\Git\\cmd\\git.exe", "git.exe fetch --prune origin",
     "The Git Development Community", "Git for Windows", "git.exe", "Git"),
    ("C:\\Windows\\System32\\backgroundTaskHost.exe",
     "\"C:\\Windows\\system32\\backgroundTaskHost.exe\" -ServerName:BackgroundTaskHost.WebAccountProvider",
     "Microsoft Corporation", "Background Task Host", "backgroundTaskHost.exe", "Microsoft® Windows® Operating System"),
]
SVCS = [("netsvcs", "Schedule"), ("LocalServiceNetworkRestricted", "Dhcp"), ("NetworkService", "Dnscache"),
        ("LocalSystemNetworkRestricted", "SysMain"), ("appmodel", "StateRepository"), ("wusvcs", "WpnService")]
SCRIPTS = ["logon", "inventory", "map_drives", "backup_check", "printer_setup", "av_update"]
DOCS = ["Quarterly Report", "minutes_2026-11", "invoice_4471", "design-review", "budget", "roadmap"]
DLLS = ["C:\\Windows\\System32\\ntdll.dll", "C:\\Windows\\System32\\kernel32.dll", "C:\\Windows\\System32\\KernelBase.dll",
        "C:\\Windows\\System32\\user32.dll", "C:\\Windows\\System32\\advapi32.dll", "C:\\Windows\\System32\\combase.dll",
        "C:\\Windows\\System32\\ws2_32.dll", "C:\\Windows\\System32\\crypt32.dll", "C:\\Windows\\System32\\wintrust.dll",
        "C:\\Windows\\System32\\amsi.dll", "C:\\Windows\\System32\\clbcatq.dll", "C:\\Windows\\System32\\wldp.dll",
        "C:\\Windows\\System32\\dbghelp.dll", "C:\\Windows\\System32\\dnsapi.dll", "C:\\Windows\\System32\\winhttp.dll",
        "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\clr.dll",
        "C:\\Windows\\assembly\\NativeImages_v4.0.30319_64\\System\\8c3d8e2a6f5c5e0b1f5c2d1d6c3e0f9a\\System.ni.dll"]
DOMAINS = ["www.google.com", "login.microsoftonline.com", "outlook.office365.com", "teams.microsoft.com",
           "update.googleapis.com", "ctldl.windowsupdate.com", "settings-win.data.microsoft.com",
           "github.com", "corp.example", "fs01.corp.example", "graph.microsoft.com", "edge.microsoft.com",
           "api.slack.com", "zoom.us", "cdn.jsdelivr.net", "pypi.org", "wpad.corp.example"]
FILE_DIRS = ["C:\\Users\\{user}\\AppData\\Local\\Temp\\", "C:\\Users\\{user}\\Downloads\\",
             "C:\\Users\\{user}\\AppData\\Local\\Google\\Chrome\\User Data\\Default\\Cache\\Cache_Data\\",
             "C:\\Windows\\Prefetch\\", "C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\History\\Service\\",
             "C:\\Users\\{user}\\Documents\\", "C:\\Windows\\Temp\\"]
FILE_NAMES = ["f_{n:06x}", "{doc}.docx", "{doc}.xlsx", "~DF{n:04X}.TMP", "CHROME.EXE-{n:08X}.pf", "tmp{n:04x}.tmp",
              "{doc}.pdf", "data_{n}.json"]
REG_KEYS = ["HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Sessions\\{n}",
            "HKU\\S-1-5-21-1004336348-1177238915-682003330-{n4}\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs\\.docx",
            "HKLM\\System\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\S-1-5-21-1004336348-1177238915-682003330-{n4}\\\\Device\\HarddiskVolume3\\Windows\\System32\\cmd.exe",
            "HKU\\S-1-5-21-1004336348-1177238915-682003330-{n4}\\Software\\Microsoft\\Office\\16.0\\Common\\Roaming\\Identities",
            "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\SignatureLocation",
            "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU\\NoAutoUpdate"]
# (event id, weight): a workstation fleet's Sysmon mix, image loads dominating
MIX = [(7, 30), (1, 14), (3, 14), (11, 12), (13, 10), (12, 4), (10, 5), (5, 6), (22, 5)]


def flatten(doc):
    """One evtx_dump-style object ({"Event": {"System":..,"EventData":..}}) as a flat row."""
    ev = doc["Event"]
    sysf = ev["System"]
    eid = sysf["EventID"]
    if isinstance(eid, dict):
        eid = eid.get("#text")
    row = {
        "EventID": int(eid),
        "Channel": sysf.get("Channel"),
        "Provider": (sysf.get("Provider") or {}).get("#attributes", {}).get("Name"),
        "Computer": sysf.get("Computer"),
        "EventRecordID": sysf.get("EventRecordID"),
        "TimeCreated": ((sysf.get("TimeCreated") or {}).get("#attributes") or {}).get("SystemTime"),
    }
    data = ev.get("EventData") or {}
    if isinstance(data, dict):
        for k, v in data.items():
            if k != "#attributes" and k not in row:
                row[k] = v
    return row


def read_concatenated(path):
    """The objects of a file of concatenated JSON documents (evtx_dump's output)."""
    text = pathlib.Path(path).read_text(encoding="utf-8")
    dec = json.JSONDecoder()
    i, out = 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


def positives(regression):
    rows = []
    for p in sorted(pathlib.Path(regression).rglob("*.json")):
        for doc in read_concatenated(p):
            row = flatten(doc)
            if row["Channel"] == SYSMON:
                rows.append(row)
    return rows


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.t = datetime.datetime(2026, 11, 2, 8, 0, 0, tzinfo=datetime.timezone.utc)

    def guid(self):
        r = self.r
        return "%08X-%04X-%04X-%04X-%012X" % (r.getrandbits(32), r.getrandbits(16), r.getrandbits(16),
                                             r.getrandbits(16), r.getrandbits(48))

    def fill(self, template, user):
        r = self.r
        svc, svcname = r.choice(SVCS)
        return template.format(user=user.split("\\")[-1], svc=svc, svcname=svcname, n=r.randrange(1, 40000),
                               n2=r.randrange(1000, 9000), n4=r.randrange(1000, 1200), big=r.getrandbits(40),
                               script=r.choice(SCRIPTS), doc=r.choice(DOCS), guid=self.guid())

    def hashes(self):
        r = self.r
        return "SHA1=%040X,MD5=%032X,SHA256=%064X,IMPHASH=%032X" % (
            r.getrandbits(160), r.getrandbits(128), r.getrandbits(256), r.getrandbits(128))

    def event(self, eid, host):
        r = self.r
        user = r.choice(USERS)
        proc = r.choice(PROCS)
        image = self.fill(proc[0], user)
        utc = self.t.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (self.t.microsecond // 1000)
        base = {"RuleName": "-", "UtcTime": utc, "ProcessGuid": "{%s}" % self.guid(), "ProcessId": r.randrange(4, 20000)}
        if eid == 1:
            parent = r.choice(PROCS)
            d = dict(base, Image=image, FileVersion="10.0.%d.%d (WinBuild.160101.0800)" % (r.choice([19041, 22621, 26100]), r.randrange(1, 5000)),
                     Description=proc[3], Product=proc[5], Company=proc[2], OriginalFileName=proc[4],
                     CommandLine=self.fill(proc[1], user), CurrentDirectory="C:\\Windows\\system32\\", User=user,
                     LogonGuid="{%s}" % self.guid(), LogonId="0x%X" % r.getrandbits(24), TerminalSessionId=r.randrange(0, 3),
                     IntegrityLevel=r.choice(["Medium", "High", "System"]), Hashes=self.hashes(),
                     ParentProcessGuid="{%s}" % self.guid(), ParentProcessId=r.randrange(4, 20000),
                     ParentImage=self.fill(parent[0], user), ParentCommandLine=self.fill(parent[1], user), ParentUser=user)
        elif eid == 3:
            dst = r.choice(DOMAINS)
            d = dict(base, Image=image, User=user, Protocol="tcp", Initiated="true", SourceIsIpv6="false",
                     SourceIp="10.%d.%d.%d" % (r.randrange(256), r.randrange(256), r.randrange(1, 255)),
                     SourceHostname=host, SourcePort=r.randrange(49152, 65535), SourcePortName="-",
                     DestinationIsIpv6="false", DestinationIp="%d.%d.%d.%d" % (r.choice([13, 20, 52, 104, 142, 172]), r.randrange(256), r.randrange(256), r.randrange(1, 255)),
                     DestinationHostname=dst, DestinationPort=r.choice([443, 443, 443, 80, 53, 445, 389]),
                     DestinationPortName=r.choice(["https", "-", "http"]))
        elif eid == 5:
            d = dict(base, Image=image, User=user)
        elif eid == 7:
            dll = r.choice(DLLS)
            name = dll.rsplit("\\", 1)[-1]
            d = dict(base, Image=image, ImageLoaded=dll, FileVersion="10.0.19041.%d (WinBuild.160101.0800)" % r.randrange(1, 5000),
                     Description=name, Product="Microsoft® Windows® Operating System", Company="Microsoft Corporation",
                     OriginalFileName=name, Hashes=self.hashes(), Signed="true", Signature="Microsoft Windows",
                     SignatureStatus="Valid", User=user)
        elif eid == 10:
            tgt = r.choice(PROCS)
            d = dict(base, SourceProcessGUID=base["ProcessGuid"], SourceProcessId=base["ProcessId"], SourceThreadId=r.randrange(4, 20000),
                     SourceImage=image, TargetProcessGUID="{%s}" % self.guid(), TargetProcessId=r.randrange(4, 20000),
                     TargetImage=self.fill(tgt[0], user), GrantedAccess=r.choice(["0x1000", "0x1400", "0x101000", "0x1fffff", "0x100000"]),
                     CallTrace="C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|UNKNOWN(00007FF8%08X)" % r.getrandbits(32),
                     SourceUser=user, TargetUser=user)
            del d["ProcessGuid"], d["ProcessId"]
        elif eid == 11:
            d = dict(base, Image=image,
                     TargetFilename=self.fill(r.choice(FILE_DIRS), user) + self.fill(r.choice(FILE_NAMES), user),
                     CreationUtcTime=utc, User=user)
        elif eid in (12, 13):
            d = dict(base, EventType="SetValue" if eid == 13 else r.choice(["CreateKey", "DeleteKey"]), Image=image,
                     TargetObject=self.fill(r.choice(REG_KEYS), user), User=user)
            if eid == 13:
                d["Details"] = r.choice(["DWORD (0x00000001)", "DWORD (0x00000000)", "Binary Data",
                                         "C:\\Program Files\\Windows Defender\\MpCmdRun.exe", "QWORD (0x01db2c3e-0x5f6a1b20)"])
        else:  # 22
            q = r.choice(DOMAINS)
            d = dict(base, QueryName=q, QueryStatus="0", QueryResults="type:  5 %s;::ffff:%d.%d.%d.%d;" % (q, 13, r.randrange(256), r.randrange(256), r.randrange(256)),
                     Image=image, User=user)
        return d

    def lines(self, size, rate, pos):
        r = self.r
        weights = [w for _, w in MIX]
        eids = [e for e, _ in MIX]
        written, n = 0, 0
        while written < size:
            n += 1
            self.t += datetime.timedelta(microseconds=r.randrange(1, 20000))
            host = r.choice(HOSTS)
            stamp = self.t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            if pos and r.random() < rate:
                row = dict(r.choice(pos))
                row.update(Computer=host, EventRecordID=n, TimeCreated=stamp)
            else:
                eid = r.choices(eids, weights)[0]
                row = {"EventID": eid, "Channel": SYSMON, "Provider": "Microsoft-Windows-Sysmon",
                       "Computer": host, "EventRecordID": n, "TimeCreated": stamp}
                row.update(self.event(eid, host))
            line = json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"
            written += len(line.encode("utf-8"))
            yield line


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--size-mb", type=float, default=1024)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--match-rate", type=float, default=0.001)
    ap.add_argument("--regression", default=str(pathlib.Path(__file__).resolve().parents[2] / "tests/data/sigma/regression_data"))
    a = ap.parse_args()
    pos = positives(a.regression)
    g = Gen(a.seed)
    n = 0
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        for line in g.lines(int(a.size_mb * 1024 * 1024), a.match_rate, pos):
            f.write(line)
            n += 1
    print(f"gen_sysmon: {n} events, {len(pos)} positive templates, rate {a.match_rate}, seed {a.seed} -> {a.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
