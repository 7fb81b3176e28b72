#!/usr/bin/env python3
"""Count the TAP subtests of one or more meson testlog.json files and print the one
closing line 'N passed, N failed, N skipped'. Exit 1 when anything failed."""
import json
import re
import sys

passed = failed = skipped = 0
problems = []
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            name, result = t["name"], t["result"]
            ok = bad = skip = 0
            planned = None
            for l in (t.get("stdout") or "").splitlines():
                m = re.match(r"^(not ok|ok)\b(.*)$", l)
                if m:
                    if re.search(r"#\s*SKIP", m.group(2), re.I):
                        skip += 1
                    elif m.group(1) == "ok":
                        ok += 1
                    else:
                        bad += 1
                        problems.append(f"{name}: {l}")
                    continue
                m = re.match(r"^1\.\.(\d+)", l)
                if m:
                    planned = int(m.group(1))
            seen = ok + bad + skip
            if result == "SKIP" and seen == 0:
                skip += 1
            elif result not in ("OK", "EXPECTEDFAIL", "SKIP"):
                # A crash or timeout: the cases that never reported are failures too.
                missing = max((planned or 0) - seen, 0 if bad else 1)
                bad += missing
                problems.append(f"{name}: {result} (exit {t.get('returncode')}, {missing} case(s) did not report)")
            passed += ok
            failed += bad
            skipped += skip
for p in problems:
    print("FAILED:", p)
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
