#!/usr/bin/env python3
"""vmcloak's benchmark (make bench): each figure beside its baseline measured in the same run.

Rows (docs/benchmarks.md says what each measures and how), on the built-in linux guest with
user networking under the accelerator vmcloak picks (auto):
  1. init --linux, start to recorded image, against the goal of 30 s; its phases when printed;
  2. the memory file of vmcloak's default snapshot against VMCloak's way on the same image
     (--boot-each, VMCLOAK_BENCH_NO_MEMPREP=1, lz4 -1), and each one's raw stream;
  3. vmcloak restore against the physical limit: QEMU started paused with the VM's start_args
     and quit over QMP, plus the bare decompression of the memory file;
  4. snapshot --count 4 -j 1, per VM after the first, vmcloak's way against VMCloak's way;
     and --count 4 -j 2;
  5. vmcloak's own peak RSS (VmHWM of the vmcloak process) for snapshot --count 8 -j 4,
     --count 2 -j 2 and restore; QEMU's per VM for reference.
Every figure is a median of several runs with min-max; the tables are Markdown, ready for
docs/benchmarks.md. Knobs (environment): BENCH_RUNS=N sets every repeat count to N,
BENCH_QUICK=1 the fewest repeats and no --count 8 (the RSS goal's numerator is then
--count 4 -j 2), BENCH_COMPRESSORS=1 adds the table per compressor at 512 MiB, BENCH_KEEP=1
keeps the temporary home. Columns: vmcloak (this build), the baseline (named in the header),
ratio = vmcloak ÷ baseline (medians).
Usage: bench/bench.py [BUILD_DIR]
"""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True     # restore-limit.py is loaded from the source tree

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
VMCLOAK = os.path.join(BUILD, "vmcloak")
HERE = os.path.dirname(os.path.abspath(__file__))
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
RUNS_ENV = os.environ.get("BENCH_RUNS", "")


def runs(default, quick):
    """The repeat count of one measurement: BENCH_RUNS when set, else quick or default."""
    if RUNS_ENV.isdigit() and int(RUNS_ENV) > 0:
        return int(RUNS_ENV)
    return quick if QUICK else default


N_INIT = runs(3, 1)
N_RESTORE = runs(7, 3)
N_SNAP = runs(3, 1)     # snapshot --count 1, each way (the memory-file row's VMs are the first)
N_FLEET = runs(2, 1)    # snapshot --count 4 -j 1, each way
INIT_GOAL_S = 30.0

HOME = tempfile.mkdtemp(prefix="vmcloak-bench.", dir=os.environ.get("TMPDIR", "/tmp"))
ENV = dict(os.environ, VMCLOAK_HOME=HOME)
ENV.pop("VMCLOAK_BENCH_NO_MEMPREP", None)
VC_ENV = dict(ENV, VMCLOAK_BENCH_NO_MEMPREP="1")
VC_ARGS = ["--boot-each", "--compress", "lz4", "--compress-level", "1"]
VC_NOTE = ""
OURS = "vmcloak (this build)"
BASE_VC = "baseline: VMCloak's way (--boot-each, no memory prep, lz4 -1)"
RATIO = "ratio (vmcloak ÷ baseline)"
started = []            # Popen objects of everything this bench started (each its own session)


# ---- processes: everything started dies with the bench ----

def own_pids():
    """PIDs of processes whose command line names this bench's temporary home (its QEMUs)."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                if HOME.encode() + b"/" in f.read():
                    pids.append(int(p))
        except OSError:
            pass
    return pids


def cleanup():
    for p in started:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
    for pid in own_pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if os.environ.get("BENCH_KEEP"):
        print(f"(kept {HOME})")
    else:
        shutil.rmtree(HOME, ignore_errors=True)


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def status_kib(pid, key):
    """A /proc/PID/status field in KiB (VmHWM, VmRSS), or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def qemu_pids():
    out = []
    for pid in own_pids():
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().startswith("qemu-system"):
                    out.append(pid)
        except OSError:
            pass
    return out


class Run:
    """One finished command: wall seconds, output (stdout + stderr), peak RSS in KiB of the
    process itself and of each QEMU it ran."""

    def __init__(self, wall, out, rc, hwm, qemu_hwm):
        self.wall, self.out, self.rc, self.hwm, self.qemu_hwm = wall, out, rc, hwm, qemu_hwm


def run(args, env=ENV, check=True, sample=False):
    """Run a command in its own session, its output captured; sample=True watches the
    VmHWM of the process itself every 20 ms (getrusage of children would count QEMU) and
    that of each QEMU it starts every 200 ms."""
    out = tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    started.append(p)
    hwm, qhwm, n = 0, {}, 0
    while sample and p.poll() is None:
        v = status_kib(p.pid, "VmHWM")
        if v:
            hwm = max(hwm, v)
        if n % 10 == 0:
            for q in qemu_pids():
                v = status_kib(q, "VmHWM")
                if v and v > 1024:      # not yet exec'd into QEMU
                    qhwm[q] = max(qhwm.get(q, 0), v)
        n += 1
        time.sleep(0.02)
    rc = p.wait()
    wall = time.monotonic() - t0
    started.remove(p)
    out.seek(0)
    text = out.read().decode(errors="replace")
    if check and rc != 0:
        sys.exit(f"bench: {' '.join(args)} failed (exit {rc}):\n{text}")
    return Run(wall, text, rc, hwm, qhwm)


def vmcloak(*args, env=ENV, **kw):
    r = run([VMCLOAK, *args], env=env, **kw)
    if args[0] in ("init", "snapshot", "restore") and "--help" not in args:
        extra = " (VMCloak's way)" if env.get("VMCLOAK_BENCH_NO_MEMPREP") else ""
        print(f"bench: {' '.join(args)}{extra}: {r.wall:.2f} s", file=sys.stderr, flush=True)
    return r


# ---- figures ----

class Fig:
    """Samples of one figure; median with min-max."""

    def __init__(self, samples, unit="s"):
        self.s, self.unit = [x for x in samples if x is not None], unit

    @property
    def med(self):
        return statistics.median(self.s) if self.s else float("nan")

    def __str__(self):
        if not self.s:
            return "n/a"
        f = "{:.2f}" if self.unit == "s" else "{:.1f}"
        m = f.format(self.med) + " " + self.unit
        if len(self.s) > 1:
            m += f" ({f.format(min(self.s))}–{f.format(max(self.s))}, n={len(self.s)})"
        return m


def ratio(a, b):
    return a / b if b else float("nan")


def table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    print(flush=True)


def machineinfo(vm):
    with open(os.path.join(HOME, "vms", "qemu", vm, "machineinfo.json")) as f:
        return json.load(f)["machine"]


def memfile(vm):
    mi = machineinfo(vm)
    return os.path.join(HOME, "vms", "qemu", vm, mi["memory_snapshot"]), mi.get("memory_snapshot_compression", "lz4")


DECOMPRESS = {"lz4": ["lz4", "-d", "-c"], "gzip": ["gzip", "-d", "-c"], "zstd": ["zstd", "-d", "-c", "-q"],
              "none": ["cat"]}


def raw_size(path, comp):
    """Bytes of the migration stream inside a memory file (decompressed, counted)."""
    with subprocess.Popen(DECOMPRESS[comp] + [path], stdout=subprocess.PIPE) as p:
        n = 0
        while chunk := p.stdout.read(1 << 20):
            n += len(chunk)
    return n


def decompress_time(path, comp):
    t0 = time.monotonic()
    with open(os.devnull, "wb") as null:
        subprocess.run(DECOMPRESS[comp] + [path], stdout=null, check=True)
    return time.monotonic() - t0


def qemu_paused_quit(vm, workdir):
    """Seconds from starting QEMU with the VM's start_args (a fresh overlay of its disk, -S, a
    QMP socket) until it exits after 'quit' is sent as soon as QMP greets: the floor of any
    restore, as Cuckoo3 starts the same command line."""
    mi = machineinfo(vm)
    vmdir = os.path.join(HOME, "vms", "qemu", vm)
    overlay = os.path.join(workdir, "limit.qcow2")
    sock = os.path.join(workdir, "limit.qmp")
    for f in (overlay, sock):
        if os.path.exists(f):
            os.unlink(f)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                    os.path.join(vmdir, mi["disk"]), overlay], check=True)
    args = [a.replace("%DISPOSABLE_DISK_PATH%", overlay) for a in mi["start_args"]]
    qemu = os.environ.get("VMCLOAK_QEMU") or "qemu-system-x86_64"
    argv = [qemu, *args, "-S", "-qmp", f"unix:{sock},server=on,wait=off"]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
    started.append(p)
    try:
        s = socket.socket(socket.AF_UNIX)
        while True:
            try:
                s.connect(sock)
                break
            except OSError:
                if p.poll() is not None:
                    sys.exit(f"bench: QEMU with {vm}'s start_args exited: {p.stderr.read().decode()}\n{argv}")
                time.sleep(0.002)
        f = s.makefile("rwb", buffering=0)
        json.loads(f.readline())                     # the greeting
        s.sendall(b'{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n')
        p.wait(timeout=30)
        s.close()
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        started.remove(p)
    return time.monotonic() - t0


def limit_start_quit(vm, workdir):
    """(a) of the restore limit: bench/restore-limit.py's qemu_paused_quit (branch speed) when
    that file is here, else ours; the same measurement."""
    tool = os.path.join(HERE, "restore-limit.py")
    if os.path.exists(tool):
        try:
            import importlib.util
            spec = importlib.util.spec_from_file_location("restore_limit", tool)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            mi = machineinfo(vm)
            return mod.qemu_paused_quit(mi["start_args"], os.path.join(HOME, "vms", "qemu", vm, mi["disk"]), workdir)
        except (ImportError, AttributeError, TypeError, KeyError):
            pass
    return qemu_paused_quit(vm, workdir)


def restore_times(vm, n, sample=False, between=None):
    """n restores: 'running after' and 'agent answering after' as vmcloak prints them, the
    command's wall time, and its Run objects; between() runs after each (interleaved, so the
    limit is measured under the same load)."""
    running, agent, wall, rs = [], [], [], []
    for _ in range(n):
        if between:
            between()
        r = vmcloak("restore", vm, sample=sample)
        m = re.search(r"running after ([0-9.]+) s, agent answering after ([0-9.]+) s", r.out)
        if not m:
            sys.exit(f"bench: restore {vm} printed no timing:\n{r.out}")
        running.append(float(m.group(1)))
        agent.append(float(m.group(2)))
        wall.append(r.wall)
        rs.append(r)
    return Fig(running), Fig(agent), Fig(wall), rs


def delvm(*names):
    for n in names:
        vmcloak("delvm", n, check=False)


def fleet_names(prefix, count):
    return [prefix] if count == 1 else [f"{prefix}{i}" for i in range(1, count + 1)]


def snapshot(image, vm, *extra, count=1, jobs=1, env=ENV, sample=False, keep=False, sizes=None):
    """One snapshot run (--count, -j); with sizes (a list), (file bytes, raw stream bytes) of
    each VM's memory file are appended to it; its VMs are deleted afterwards unless keep."""
    args = ["snapshot", *extra]
    if count > 1:
        args += ["--count", str(count), "-j", str(jobs)]
    r = vmcloak(*args, image, vm, env=env, sample=sample)
    for name in fleet_names(vm, count) if sizes is not None else []:
        f, comp = memfile(name)
        sizes.append((os.path.getsize(f), raw_size(f, comp)))
    if not keep:
        delvm(*fleet_names(vm, count))
    return r


PHASE_BEGIN = re.compile(r"^([A-Z][^:\n]*) \.\.\.\s*$")
PHASE_END = re.compile(r"^([A-Z][^:\n]*): .*\(([0-9]+\.[0-9]+) s\)\s*$")


def init_phases(out):
    """init's phases as it prints them without a terminal (src/core/progress.c: "LABEL ..." at
    the start, "LABEL: done (16.5 s)" at the end, one decimal; updates in between print whole
    seconds): [(label, depth, seconds)] in the order they start, depth 0 for a phase and 1 or
    more for a sub-step started while another phase was still open (its time is part of that
    phase's, e.g. "Building the linux install media" inside "Building the install media")."""
    open_, found = [], {}
    for line in out.splitlines():
        if m := PHASE_BEGIN.match(line):
            found.setdefault(m.group(1), [len(open_), None])
            open_.append(m.group(1))
        elif (m := PHASE_END.match(line)) and m.group(1) in found:
            found[m.group(1)][1] = float(m.group(2))
            if m.group(1) in open_:
                del open_[open_.index(m.group(1)):]
    return [(k, d, t) for k, (d, t) in found.items() if t is not None]


def compress_default(comp):
    """vmcloak's default level of a compressor as `snapshot --help` prints it for --compress-level
    ("[default: lz4 7 (VMCloak used 1), gzip 3, zstd 3]"), or None when it says none."""
    text = vmcloak("snapshot", "--help", check=False).out
    m = re.search(r"--compress-level.*\[default: ([^\]]*)\]", text)
    n = m and re.search(rf"\b{re.escape(comp)} ([0-9]+)\b", m.group(1))
    return n.group(1) if n else None


def mib(b):
    return b / 1048576


def goal_line(name, value, goal, detail=""):
    met = "met" if value == value and value <= goal else "NOT met"
    print(f"- {name}: {value:.2f} (goal ≤ {goal:g}) — {met}{detail}")


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if not os.access(VMCLOAK, os.X_OK):
        sys.exit(f"bench: no {VMCLOAK} (run 'make' first)")
    cache = os.environ.get("VMCLOAK_DEMO_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vmcloak-demo")
    os.makedirs(cache, exist_ok=True)
    os.symlink(cache, os.path.join(HOME, "cache"))
    work = os.path.join(HOME, "bench")
    os.mkdir(work)
    t_start = time.monotonic()
    global VC_ARGS, VC_NOTE
    if "--boot-each" not in vmcloak("snapshot", "--help", check=False).out:
        VC_ARGS = VC_ARGS[1:]
        VC_NOTE = " [this vmcloak has no --boot-each: VMCloak's way approximated, fleets boot once]"

    # The machine.
    doc = json.loads(vmcloak("doctor", "--json", check=False).out or "{}")
    checks = {c.get("id"): c for c in doc.get("checks", [])}
    accel = "kvm" if checks.get("kvm", {}).get("status") == "ok" else "tcg"
    qver = subprocess.run([os.environ.get("VMCLOAK_QEMU") or "qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout.split()[3]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    ram = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")) / 1048576
    print(f"vmcloak benchmark — {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, {os.cpu_count()} cores, "
          f"{ram:.0f} GiB RAM, {cpu}, QEMU {qver}, accelerator: {accel} (auto)")
    print(f"repeats: init {N_INIT}, restore {N_RESTORE}, snapshot {N_SNAP}, fleet {N_FLEET}"
          f"{' (BENCH_QUICK: no --count 8 -j 4, so the RSS goal divides --count 4 -j 2 instead)' if QUICK else ''}\n",
          flush=True)

    # 1. init --linux.
    inits = []
    for i in range(N_INIT):
        name = "bimg" if i == 0 else f"bimg{i}"
        r = vmcloak("init", "--linux", "--net", "user", name, "bnet", sample=(i == 0))
        inits.append(r)
        if i:
            vmcloak("delimg", name, check=False)
    init = Fig([r.wall for r in inits])
    phases, rest = {}, []   # (label, depth) -> seconds per run; init's time outside its phases
    for r in inits:
        ph = init_phases(r.out)
        for k, depth, v in ph:
            phases.setdefault((k, depth), []).append(v)
        if ph:
            rest.append(r.wall - sum(v for _, depth, v in ph if depth == 0))
    img = "bimg"

    # 2. Memory file: the default snapshot against VMCloak's way, the same image. Their wall
    # times are the first samples of snapshot --count 1 (row 4).
    sz_ours, sz_vc, szf_ours, szf_vc = [], [], [], []
    r_ours = snapshot(img, "mours", keep=True, sample=True, sizes=sz_ours)
    r_vc = snapshot(img, "mvc", *VC_ARGS, env=VC_ENV, keep=True, sizes=sz_vc)
    comp_o, comp_v = memfile("mours")[1], memfile("mvc")[1]

    # 3. Restore against QEMU paused start + quit and the bare decompression.
    f, comp = memfile("mours")
    la, lb = [], []

    def limit():
        la.append(limit_start_quit("mours", work))
        lb.append(decompress_time(f, comp))
    running, agent, rwall, rruns = restore_times("mours", N_RESTORE, sample=True, between=limit)
    limit_a, limit_b = Fig(la), Fig(lb)
    f_vc, comp_vc = memfile("mvc")
    vc_running, vc_agent, _, _ = restore_times("mvc", N_RESTORE)
    delvm("mours", "mvc")

    # 4. Fleets: --count 1 and --count 4 -j 1 each way; then --count 4 -j 2 of ours.
    t1_ours, t1_vc = [r_ours.wall], [r_vc.wall]
    for _ in range(N_SNAP - 1):
        t1_ours.append(snapshot(img, "sours", sizes=sz_ours).wall)
        t1_vc.append(snapshot(img, "svc", *VC_ARGS, env=VC_ENV, sizes=sz_vc).wall)
    t4_ours, t4_vc, rss4 = [], [], []
    for _ in range(N_FLEET):
        r = snapshot(img, "fours", count=4, jobs=1, sample=True, sizes=szf_ours)
        t4_ours.append(r.wall)
        rss4.append(r)
        t4_vc.append(snapshot(img, "fvc", *VC_ARGS, count=4, jobs=1, env=VC_ENV, sizes=szf_vc).wall)
    r_j2 = snapshot(img, "jours", count=4, jobs=2, sample=True)
    T1o, T1v, T4o, T4v = Fig(t1_ours), Fig(t1_vc), Fig(t4_ours), Fig(t4_vc)
    per_ours = Fig([(a - T1o.med) / 3 for a in t4_ours])
    per_vc = Fig([(a - T1v.med) / 3 for a in t4_vc])

    # 5. vmcloak's own peak RSS.
    r_c2 = snapshot(img, "rtwo", count=2, jobs=2, sample=True)
    r_c8 = None if QUICK else snapshot(img, "reight", count=8, jobs=4, sample=True)

    # ---- the tables ----
    print(f"### init --linux --net user (start to recorded image), goal {INIT_GOAL_S:g} s\n")
    rows = [["init --linux", str(init), f"{INIT_GOAL_S:g} s", f"{ratio(init.med, INIT_GOAL_S):.2f}"]]
    for (k, depth), v in phases.items():
        label = f"phase: {k}" if depth == 0 else "· " * depth + f"sub-step of the phase above: {k}"
        rows.append([label, str(Fig(v)), "", ""])
    if phases:
        rows.append(["rest of init outside the phases (start-up, checks, recording)", str(Fig(rest)), "", ""])
    table(["figure", "vmcloak (this build; median, min–max)", f"baseline: goal {INIT_GOAL_S:g} s", RATIO], rows)

    def mibs(sizes, i):
        return Fig([mib(x[i]) for x in sizes], "MiB")
    so, sv = mibs(sz_ours, 0), mibs(sz_vc, 0)
    rso, rsv = mibs(sz_ours, 1), mibs(sz_vc, 1)
    fo, fv = mibs(szf_ours, 0), mibs(szf_vc, 0)
    print("### memory file, same image: vmcloak's default vs VMCloak's way "
          f"(--boot-each, VMCLOAK_BENCH_NO_MEMPREP=1, lz4 -1){VC_NOTE}\n")
    lvl_o = compress_default(comp_o)
    lvl_o = f"{comp_o} -{lvl_o} (default level)" if lvl_o else f"{comp_o} at its default level"
    lvl_v = VC_ARGS[VC_ARGS.index("--compress-level") + 1]
    table(["figure", OURS, BASE_VC, RATIO], [
        [f"memory file of a 1-VM snapshot (compressor: ours {lvl_o} / baseline {comp_v} -{lvl_v})",
         str(so), str(sv), f"{ratio(so.med, sv.med):.2f}"],
        ["raw stream (decompressed)", str(rso), str(rsv), f"{ratio(rso.med, rsv.med):.2f}"],
        ["memory file of each VM of --count 4 -j 1", str(fo), str(fv), f"{ratio(fo.med, fv.med):.2f}"],
    ])

    limit = limit_a.med + limit_b.med
    print("### restore (vmcloak restore) vs the limit: QEMU paused start + quit (a), bare decompression (b)\n")
    table(["figure", OURS, "baseline: limit (a)+(b)", RATIO], [
        ["restore: agent answering", str(agent), f"(a)+(b) = {limit:.2f} s", f"{ratio(agent.med, limit):.2f}"],
        ["restore: running", str(running), f"(a)+(b) = {limit:.2f} s", f"{ratio(running.med, limit):.2f}"],
        ["restore: whole command (wall)", str(rwall), "", ""],
        ["(a) QEMU start_args -S, QMP quit", str(limit_a), "", ""],
        [f"(b) {DECOMPRESS[comp][0]} -d of the memory file", str(limit_b), "", ""],
        ["restore of the VMCloak-way VM: agent", str(vc_agent), "", ""],
    ])

    print("### fleets: snapshot --count 4 -j 1, per VM after the first = (T(4) − T(1)) / 3\n")
    table(["figure", OURS, BASE_VC, RATIO], [
        ["snapshot --count 1", str(T1o), str(T1v), f"{ratio(T1o.med, T1v.med):.2f}"],
        ["snapshot --count 4 -j 1", str(T4o), str(T4v), f"{ratio(T4o.med, T4v.med):.2f}"],
        ["per VM after the first", str(per_ours), str(per_vc), f"{ratio(per_ours.med, per_vc.med):.2f}"],
        ["snapshot --count 4 -j 2", str(Fig([r_j2.wall])), "", ""],
    ])

    print("### memory of vmcloak itself: peak RSS (VmHWM) of the vmcloak process\n")

    def rss_row(label, rr):
        q = [v for r in rr for v in r.qemu_hwm.values()]
        return [label, str(Fig([r.hwm / 1024 for r in rr], "MiB")),
                str(Fig([v / 1024 for v in q], "MiB")) if q else "n/a"]

    rows = [rss_row("init --linux", inits[:1]),
            rss_row("snapshot (count 1)", [r_ours]),
            rss_row("snapshot --count 2 -j 2", [r_c2]),
            rss_row("snapshot --count 4 -j 1", rss4),
            rss_row("snapshot --count 4 -j 2", [r_j2])]
    if r_c8:
        rows.append(rss_row("snapshot --count 8 -j 4", [r_c8]))
    rows.append(rss_row("restore", rruns))
    table(["command", "vmcloak peak RSS", "QEMU peak RSS per VM (reference)"], rows)

    print("Goals:")
    goal_line("init --linux / 30 s", ratio(init.med, INIT_GOAL_S), 1.0, f" ({init.med:.1f} s)")
    goal_line("memory file / VMCloak's way", ratio(so.med, sv.med), 0.35, f" ({so.med:.1f} vs {sv.med:.1f} MiB)")
    goal_line("restore / (QEMU paused start+quit + decompression)", ratio(agent.med, limit), 1.2,
              f" ({agent.med:.2f} s vs {limit_a.med:.2f} + {limit_b.med:.2f} s)")
    goal_line("fleet per VM after the first / VMCloak's way", ratio(per_ours.med, per_vc.med), 0.3,
              f" ({per_ours.med:.1f} vs {per_vc.med:.1f} s)")
    big = r_c8 or r_j2
    label = "count 8 -j 4" if r_c8 else "count 4 -j 2"
    goal_line(f"vmcloak peak RSS {label} / count 2 -j 2 (flat taken as ≤ 1.25)", ratio(big.hwm, r_c2.hwm), 1.25,
              f" ({big.hwm / 1024:.1f} vs {r_c2.hwm / 1024:.1f} MiB)"
              + ("; BENCH_QUICK: numerator is count 4 -j 2 instead of the goal's count 8 -j 4,"
                 " run without BENCH_QUICK for the real figure" if QUICK else ""))
    print(f"\n(bench took {(time.monotonic() - t_start) / 60:.1f} min)", flush=True)

    if os.environ.get("BENCH_COMPRESSORS", "") not in ("", "0"):
        compressors(img)


def compressors(img):
    """The optional table per compressor and level at 512 MiB (BENCH_COMPRESSORS=1)."""
    print("\n### per compressor, 512 MiB guest RAM (BENCH_COMPRESSORS=1)\n")
    rows = []
    for i, (comp, lvl) in enumerate([("none", None), ("lz4", 1), ("lz4", 9), ("gzip", 3), ("zstd", 3)]):
        vm = f"c{i}"
        extra = ["--ramsize", "512", "--compress", comp] + (["--compress-level", str(lvl)] if lvl else [])
        r = snapshot(img, vm, *extra, keep=True)
        f, c = memfile(vm)
        _, agent, _, _ = restore_times(vm, N_RESTORE)
        dec = Fig([decompress_time(f, c) for _ in range(N_RESTORE)])
        rows.append([f"{comp}{f' -{lvl}' if lvl else ''}", f"{r.wall:.2f} s", f"{mib(os.path.getsize(f)):.1f} MiB",
                     f"{mib(raw_size(f, c)):.1f} MiB", str(agent), str(dec)])
        delvm(vm)
    table(["compressor", "snapshot", "memory file", "raw stream", "restore->agent", "bare decompress"], rows)


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
