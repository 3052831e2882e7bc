#!/usr/bin/env python3
"""The hosts' software as the CLI answers it, in web_dom.py's "pkg" facts:
flowsleuth hosts -c -o json (argv[1]: host, name, version, arch, flows) joined with
flowsleuth inventory -c -o csv (argv[2]: its column newest for that client and
package); OUTDATED is 1 exactly when inventory names a newer version.
  pkg ADDR NAME VERSION ARCH FLOWS NEWEST|- OUTDATED
"""
import csv
import json
import sys

newest = {}
for r in csv.DictReader(open(sys.argv[2])):
    newest[(r["client"], r["name"], r["version"], r["arch"])] = r["newest"]
for line in open(sys.argv[1]):
    h = json.loads(line)
    for p in h["software"]:
        n = newest[(h["host"], p["name"], p["version"], p["arch"])]
        print("pkg %s %s %s %s %d %s %d" % (h["host"], p["name"], p["version"], p["arch"],
                                            p["flows"], n or "-", 1 if n else 0))
