#!/usr/bin/env python3
"""Restore against its physical limit, for one snapshot VM directory.

The limit (issue 15) = QEMU started with machineinfo.json's start_args (the disk = a fresh
overlay, made before the clock starts), paused (-S), QMP connected, then `quit`: wall time
until QEMU exits; plus `<decompressor> -d -c memory.snapshot > /dev/null`. With --vmcloak,
`vmcloak restore NAME` runs interleaved with the limit runs (same load), and its printed
"running after" / "agent answering after" figures are collected.

Usage: bench/restore-limit.py VMDIR [-n 7] [--vmcloak build/vmcloak]
       (VMCLOAK_HOME must be the home VMDIR lives in when --vmcloak is given; VMCLOAK_QEMU,
       when set, names the QEMU binary, as for vmcloak)
Prints medians and min..max of each part, and restore / limit as a ratio.
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time


def qemu_paused_quit(start_args, disk, tmp):
    ov = os.path.join(tmp, "limit.qcow2")
    if os.path.exists(ov):
        os.unlink(ov)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", disk, ov], check=True)
    sock = os.path.join(tmp, "qmp.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    qemu = os.environ.get("VMCLOAK_QEMU") or "qemu-system-x86_64"   # as vmcloak itself (src/qemu/probe.c)
    argv = [qemu] + [a.replace("%DISPOSABLE_DISK_PATH%", ov) for a in start_args]
    argv += ["-S", "-qmp", "unix:%s,server=on,wait=off" % sock]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    s = socket.socket(socket.AF_UNIX)
    while True:
        try:
            s.connect(sock)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if p.poll() is not None:
                raise SystemExit("QEMU exited during start-up: %s" % " ".join(argv))
            time.sleep(0.001)
    f = s.makefile("rwb")
    f.readline()  # greeting
    for cmd in ("qmp_capabilities", "quit"):
        f.write(json.dumps({"execute": cmd}).encode() + b"\n")
        f.flush()
        f.readline()
    p.wait()
    t = time.monotonic() - t0
    s.close()
    return t


def decompress(mem, comp):
    prog = {"lz4": ["lz4", "-d", "-c"], "gzip": ["gzip", "-d", "-c"], "zstd": ["zstd", "-d", "-c", "-q"]}.get(comp, ["cat"])
    t0 = time.monotonic()
    subprocess.run(prog + [mem], stdout=subprocess.DEVNULL, check=True)
    return time.monotonic() - t0


def restore(vmcloak, name):
    out = subprocess.run([vmcloak, "restore", name], capture_output=True, text=True).stdout
    m = re.search(r"running after ([0-9.]+) s, agent answering after ([0-9.]+) s", out)
    if not m:
        raise SystemExit("vmcloak restore %s printed no timing: %s" % (name, out))
    return float(m.group(1)), float(m.group(2))


def summary(label, xs):
    return "%-26s median %.3f s  (%.3f..%.3f, n=%d)" % (label, statistics.median(xs), min(xs), max(xs), len(xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vmdir")
    ap.add_argument("-n", type=int, default=7)
    ap.add_argument("--vmcloak", help="also run `VMCLOAK restore NAME`, interleaved")
    a = ap.parse_args()
    mi = json.load(open(os.path.join(a.vmdir, "machineinfo.json")))["machine"]
    disk = os.path.abspath(os.path.join(a.vmdir, mi["disk"]))
    mem = os.path.join(a.vmdir, mi["memory_snapshot"])
    tmp = tempfile.mkdtemp(prefix="restore-limit.")
    q, d, run, agent = [], [], [], []
    try:
        for _ in range(a.n):
            q.append(qemu_paused_quit(mi["start_args"], disk, tmp))
            d.append(decompress(mem, mi.get("memory_snapshot_compression", "raw")))
            if a.vmcloak:
                r = restore(a.vmcloak, mi["name"])
                run.append(r[0])
                agent.append(r[1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lim = [x + y for x, y in zip(q, d)]
    print(summary("QEMU paused start + quit", q))
    print(summary("bare decompression", d))
    print(summary("limit (sum)", lim))
    if a.vmcloak:
        print(summary("restore: running after", run))
        print(summary("restore: agent answering", agent))
        print("ratio agent answering / limit (medians): %.2f" % (statistics.median(agent) / statistics.median(lim)))


if __name__ == "__main__":
    main()
