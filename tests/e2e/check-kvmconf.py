#!/usr/bin/python3
"""Check a kvm.conf the way CAPEv2's kvm machinery reads it (or, with --cuckoo3, a kvm.yaml the way
Cuckoo3's kvm machinery reads it), and with --libvirt URI (or --domains: the file's own dsn) that
every machine is a domain that host lists, with the snapshot the machinery will revert in running state.

CAPEv2 (kevoreilly/CAPEv2): lib/cuckoo/common/config.py (configparser with ENV: defaults, then
getboolean/getint tried on every value), Machinery.set_options/_initialize in
lib/cuckoo/common/abstracts.py (machines split on ',', label/platform/ip/arch required, tags split on
','), LibVirtMachinery._list (listAllDomains(0)) and start() (the named snapshot, else the current one,
else the newest by creationTime; revertToSnapshot(snap, 0) must leave it running), modules/machinery/
kvm.py (dsn required). Cuckoo3 (cert-ee/cuckoo3): machineries/cuckoo/machineries/config.py
typeloaders["kvm.yaml"].

Usage: check-kvmconf.py [--cuckoo3] [--libvirt URI | --domains] [--expect NAME]... FILE
Prints one line per problem on stderr and exits 1; else prints "ok: N machines ..." and exits 0.
"""
import argparse
import configparser
import ipaddress
import os
import sys
import xml.etree.ElementTree as ET

CAPE_PLATFORMS = {"windows", "linux", "darwin"}
CAPE_ARCHS = {"x86", "x64"}
CAPE_WINDOWS_OS_TAGS = {"winxp", "win7", "win8", "win10", "win11"}

problems = []


def problem(msg):
    problems.append(msg)


def cape_read(path):
    """lib/cuckoo/common/config.py _BaseConfig._read_files, for one file."""
    config = configparser.ConfigParser({f"ENV:{k}": v.replace("%", "%%") for k, v in os.environ.items()})
    with open(path, encoding="utf-8") as f:
        config.read_file(f)
    sections = {}
    for section in config.sections():
        d = {}
        for name, value in config.items(section):
            if name.startswith("env:"):
                continue
            try:
                if value in {"0", "1"}:
                    raise ValueError
                value = config.getboolean(section, name)
            except ValueError:
                try:
                    value = config.getint(section, name)
                except ValueError:
                    value = config.get(section, name)
            d[name] = value
        sections[section] = d
    return sections


def check_cape(path):
    """Returns (dsn, [(id, label, snapshot)])."""
    try:
        conf = cape_read(path)
    except (configparser.Error, UnicodeDecodeError) as e:
        problem(f"{path}: configparser refuses it: {e}")
        return None, []
    kvm = conf.get("kvm")
    if kvm is None:
        problem(f"{path}: no [kvm] section")
        return None, []
    dsn = kvm.get("dsn")
    if not dsn or not isinstance(dsn, str):
        problem(f"{path}: [kvm] has no dsn (CAPE: 'KVM DSN is missing')")
    machines = kvm.get("machines")
    if machines is None:
        problem(f"{path}: [kvm] has no machines")
        return dsn, []
    if not isinstance(machines, list):
        machines = str(machines).strip().split(",")
    if not isinstance(kvm.get("interface"), str):
        problem(f"{path}: [kvm] interface is missing or not a name: {kvm.get('interface')!r}")
    out = []
    for mid in machines:
        mid = mid.strip()
        m = conf.get(mid)
        if m is None:
            problem(f"{path}: machine {mid!r} has no section (CAPE skips it: 'Configuration details ... missing')")
            continue
        for key in ("label", "platform", "ip", "arch"):
            if key not in m:
                problem(f"{path}: [{mid}] has no {key}")
        label = m.get("label")
        if not isinstance(label, str) or not label.strip():
            problem(f"{path}: [{mid}] label {label!r} is not a domain name as CAPE reads it")
        if m.get("platform") not in CAPE_PLATFORMS:
            problem(f"{path}: [{mid}] platform {m.get('platform')!r} is none of {sorted(CAPE_PLATFORMS)}")
        if m.get("arch") not in CAPE_ARCHS:
            problem(f"{path}: [{mid}] arch {m.get('arch')!r} is none of {sorted(CAPE_ARCHS)}")
        try:
            ipaddress.IPv4Address(str(m.get("ip")).strip())
        except ValueError:
            problem(f"{path}: [{mid}] ip {m.get('ip')!r} is no IPv4 address")
        tags = m.get("tags")
        tag_list = [t for t in str(tags).replace(" ", "").split(",") if t] if tags is not None else []
        if tags is not None and not isinstance(tags, str):
            problem(f"{path}: [{mid}] tags {tags!r} are read as a {type(tags).__name__}, not a list")
        if m.get("platform") == "windows" and not CAPE_WINDOWS_OS_TAGS & set(tag_list):
            problem(f"{path}: [{mid}] a Windows machine needs one of the OS tags {sorted(CAPE_WINDOWS_OS_TAGS)} "
                    f"(tags: {tags!r})")
        if m.get("arch") == "x64" and "x64" not in tag_list:
            problem(f"{path}: [{mid}] an x64 machine without the x64 tag gets no x64 task")
        iface = m.get("interface", kvm.get("interface"))
        if not isinstance(iface, str) or not iface:
            problem(f"{path}: [{mid}] has no capture interface (its own or [kvm]'s)")
        port = m.get("resultserver_port")
        if port is not None and (not isinstance(port, int) or not 0 < port < 65536):
            problem(f"{path}: [{mid}] resultserver_port {port!r} is no port")
        rip = m.get("resultserver_ip")
        if rip is not None:
            try:
                ipaddress.IPv4Address(str(rip))
            except ValueError:
                problem(f"{path}: [{mid}] resultserver_ip {rip!r} is no IPv4 address")
        snap = m.get("snapshot")
        if snap is not None and not isinstance(snap, str):
            problem(f"{path}: [{mid}] snapshot {snap!r} is read as a {type(snap).__name__}")
        out.append((mid, label if isinstance(label, str) else str(label), snap))
    return dsn, out


def check_cuckoo3(path):
    """machineries config.py typeloaders['kvm.yaml'] (types and required keys)."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except yaml.YAMLError as e:
        problem(f"{path}: not YAML: {e}")
        return None, []
    if not isinstance(doc, dict):
        problem(f"{path}: not a mapping")
        return None, []
    dsn = doc.get("dsn")
    if not isinstance(dsn, str) or not dsn:
        problem(f"{path}: dsn is missing or not a string")
    if not isinstance(doc.get("interface"), str):
        problem(f"{path}: interface is missing or not a string")
    machines = doc.get("machines")
    if not isinstance(machines, dict) or not machines:
        problem(f"{path}: machines is not a non-empty mapping")
        return dsn, []
    out = []
    for mid, m in machines.items():
        if not isinstance(mid, str) or not isinstance(m, dict):
            problem(f"{path}: machine {mid!r} is not NAME: mapping")
            continue
        for key in ("label", "ip", "platform", "os_version", "architecture"):
            if not isinstance(m.get(key), str) or not m.get(key):
                problem(f"{path}: {mid}.{key} is missing or not a string: {m.get(key)!r}")
        if m.get("platform") not in ("windows", "linux"):
            problem(f"{path}: {mid}.platform {m.get('platform')!r}")
        if m.get("architecture") not in ("amd64", "x86"):
            problem(f"{path}: {mid}.architecture {m.get('architecture')!r}")
        port = m.get("agent_port", 8000)
        if not isinstance(port, int) or not 0 < port < 65536:
            problem(f"{path}: {mid}.agent_port {port!r} is no port")
        for key in ("snapshot", "interface", "mac_address"):
            if key in m and not isinstance(m[key], str):
                problem(f"{path}: {mid}.{key} {m[key]!r} is not a string")
        if not isinstance(m.get("tags", []), list):
            problem(f"{path}: {mid}.tags is not a list")
        try:
            ipaddress.IPv4Address(str(m.get("ip")))
        except ValueError:
            problem(f"{path}: {mid}.ip {m.get('ip')!r} is no IPv4 address")
        out.append((mid, m.get("label"), m.get("snapshot")))
    return dsn, out


def snapshot_running(snap):
    return ET.fromstring(snap.getXMLDesc(0)).findtext("./state") == "running"


def check_libvirt(uri, machines):
    import libvirt

    libvirt.registerErrorHandler(lambda *_: None, None)
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as e:
        problem(f"cannot connect to {uri}: {e}")
        return
    try:
        listed = {d.name(): d for d in conn.listAllDomains(0)}
        for mid, label, snapname in machines:
            dom = listed.get(label)
            if dom is None:
                problem(f"{mid}: {uri} lists no domain {label!r}")
                continue
            if not dom.isPersistent():
                problem(f"{mid}: domain {label!r} is transient (CAPE needs a defined domain)")
            names = dom.snapshotListNames(0)
            if snapname:
                if snapname not in names:
                    problem(f"{mid}: domain {label!r} has no snapshot {snapname!r} (it has {names})")
                    continue
                snap = dom.snapshotLookupByName(snapname, 0)
            elif dom.hasCurrentSnapshot(0):
                snap = dom.snapshotCurrent(0)
            else:
                alls = dom.listAllSnapshots(0)
                if not alls:
                    problem(f"{mid}: domain {label!r} has no snapshot")
                    continue
                snap = sorted(alls, key=lambda s: ET.fromstring(s.getXMLDesc(0)).findtext("./creationTime"))[-1]
            if not snapshot_running(snap):
                problem(f"{mid}: snapshot {snap.getName()!r} of {label!r} is not in running state (CAPE: "
                        f"'Your snapshot MUST BE in running state!')")
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--cuckoo3", action="store_true", help="FILE is Cuckoo3's kvm.yaml")
    ap.add_argument("--libvirt", metavar="URI", help="check each label against the libvirt host at URI")
    ap.add_argument("--domains", action="store_true", help="check each label against the host the file's dsn names")
    ap.add_argument("--expect", metavar="NAME", action="append", default=[],
                    help="the machines the file must name (all of them, any order)")
    a = ap.parse_args()
    dsn, machines = (check_cuckoo3 if a.cuckoo3 else check_cape)(a.file)
    if a.expect and sorted(a.expect) != sorted(m[0] for m in machines):
        problem(f"{a.file}: machines {sorted(m[0] for m in machines)}, expected {sorted(a.expect)}")
    uri = a.libvirt or (dsn if a.domains else None)
    if uri and not problems:
        check_libvirt(uri, machines)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print(f"ok: {len(machines)} machine{'s' if len(machines) != 1 else ''} ({', '.join(m[0] for m in machines)})"
          f"{' on ' + uri if uri else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
