#!/usr/bin/env python3
"""What the non-zero pages of a memory file are: per RAM block, and (with the guest's /proc/iomem)
per guest-physical region, each with its raw size and what lz4 -9 / gzip -3 make of it.

Usage: memfile-pages.py MEMFILE [IOMEM]
  MEMFILE  a memory.snapshot written with --compress none (QEMU's raw migration stream, "QEVM")
  IOMEM    the guest's /proc/iomem (as root), e.g. saved by
           vmcloak restore VM --exec 'cat /proc/iomem' > iomem.txt
Reads only the RAM section of the stream (QEMU 7.x precopy, no multifd, no compression
capabilities: what vmcloak's snapshot writes); the last record of a page wins.
Used for docs/benchmarks.md ("Memory file levers").
"""
import collections
import shutil
import struct
import subprocess
import sys

FLAG_ZERO, FLAG_MEM_SIZE, FLAG_PAGE, FLAG_EOS, FLAG_CONTINUE, FLAG_MULTIFD_FLUSH = 0x02, 0x04, 0x08, 0x10, 0x20, 0x200
SEC_START, SEC_PART, SEC_END, SEC_FULL, CONFIGURATION, FOOTER = 0x01, 0x02, 0x03, 0x04, 0x07, 0x7E
PAGE = 4096


class Stream:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, n):
        v = self.d[self.p:self.p + n]
        if len(v) != n:
            raise SystemExit("memfile-pages: the stream ends inside a record (truncated file?)")
        self.p += n
        return v

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def name(self):
        return self.take(self.u8()).decode()


def read_ram(path):
    """{block: size}, {block: {offset: page bytes or None for a zero page}}"""
    with open(path, "rb") as f:
        s = Stream(f.read())
    if s.d[:4] != b"QEVM":
        raise SystemExit("memfile-pages: %s is not a raw QEMU migration stream (snapshot with --compress none, "
                         "or decompress it first)" % path)
    s.take(8)  # magic, version
    blocks, pages, sections, cur = {}, collections.defaultdict(dict), {}, None

    def ram_records():
        nonlocal cur
        while True:
            a = s.u64()
            flags, addr = a & (PAGE - 1), a & ~(PAGE - 1)
            if flags & FLAG_MEM_SIZE:
                left = addr
                while left > 0:
                    n = s.name()
                    blocks[n] = s.u64()
                    left -= blocks[n]
                continue
            if flags & FLAG_EOS:
                return
            if flags & FLAG_MULTIFD_FLUSH:
                continue
            if not flags & FLAG_CONTINUE:
                cur = s.name()
            if flags & FLAG_ZERO:
                s.u8()
                pages[cur][addr] = None
            elif flags & FLAG_PAGE:
                pages[cur][addr] = s.take(PAGE)
            else:
                raise SystemExit("memfile-pages: RAM record with flags 0x%x: not a stream this script reads" % flags)

    while s.p < len(s.d):
        t = s.u8()
        if t == CONFIGURATION:
            s.take(s.u32())
        elif t in (SEC_START, SEC_FULL):
            sid, n = s.u32(), s.name()
            s.u32(), s.u32()  # instance, version
            sections[sid] = n
            if n != "ram":
                break  # device state follows the RAM: done
            ram_records()
        elif t in (SEC_PART, SEC_END):
            if sections.get(s.u32()) != "ram":
                break
            ram_records()
        elif t == FOOTER:
            s.u32()
        else:
            break
    return blocks, pages


def compressed(buf, argv):
    if not shutil.which(argv[0]):
        return float("nan")
    return len(subprocess.run(argv, input=buf, capture_output=True, check=True).stdout)


def mib(n):
    return n / 2**20


def show(label, bufs):
    buf = b"".join(bufs)
    print("  %-30s %7.2f %7.2f %7.2f" % (label, mib(len(buf)), mib(compressed(buf, ["lz4", "-9", "-c"])),
                                       mib(compressed(buf, ["gzip", "-3", "-c"]))))


def read_iomem(path):
    """[(start, end inclusive, depth, name)]"""
    out = []
    with open(path) as f:
        for line in f:
            r, sep, name = line.rstrip("\n").partition(" : ")
            if not sep or "-" not in r:
                continue
            lo, hi = r.strip().split("-")
            out.append((int(lo, 16), int(hi, 16), (len(r) - len(r.lstrip())) // 2, name.strip()))
    return out


def main():
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    blocks, pages = read_ram(sys.argv[1])
    print("non-zero pages, MiB:               raw   lz4-9  gzip-3")
    for b in blocks:
        nz = [v for v in pages[b].values() if v is not None]
        if nz:
            show(b, nz)
    if len(sys.argv) == 3:
        # pc.ram offsets are guest-physical addresses below 4 GiB (one block for guests < 3 GiB).
        regions = read_iomem(sys.argv[2])
        by = collections.defaultdict(list)
        for a, v in sorted(pages["pc.ram"].items()):
            if v is None:
                continue
            best = max((r for r in regions if r[0] <= a <= r[1]), key=lambda r: r[2], default=None)
            by[best[3] if best else "?"].append(v)
        print("pc.ram by /proc/iomem region:")
        for name, bufs in sorted(by.items(), key=lambda kv: -len(kv[1])):
            show(name, bufs)


if __name__ == "__main__":
    main()
