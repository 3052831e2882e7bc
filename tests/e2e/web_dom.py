#!/usr/bin/env python3
"""Read the DOM Chromium dumped (--dump-dom) of flowsleuth's report or served page and
print what it shows, one fact a line, for the web tests (112, 113) to compare with the
CLI's answers:
  drawn VALUE                       body's data-drawn (1 when every chart was drawn)
  total METRIC VALUE                the summary's exact totals (flows, bytes, packets)
  series ID BINS POINTS             a series chart: its bins and the points of its line
  top SPEC KEY FLOWS PACKETS BYTES  a bar of a top-10 chart (KEY "other" for the rest)
  top-hidden SPEC                   a top-10 left out (an AS table of flows without AS)
  heat CELLS FLOWS NONZERO          the heat map: cells, their flows summed, cells > 0
  host ADDR FLOWS BYTES             a row of the hosts table
  pkg ADDR NAME VERSION ARCH FLOWS NEWEST|- OUTDATED
                                    a package of a host's software (OUTDATED: 1 when
                                    marked so, i.e. shown with class "outdated")
  hosts-legend CATALOGUE OUTDATED TEXT  under the hosts table
  service SERVER PROTO PORT FLOWS STATUS
  alert DETECTOR SRC FLOWS EVIDENCE  a row of the alerts table
  alerts-legend COUNT               the findings the alerts table says there are
  flow SRC DST                      a row of the flow table
  error TEXT                        the error box's text (when shown), \\n for newlines
"""
import sys
from html.parser import HTMLParser


class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.out = []
        self.svg = None
        self.table = None
        self.row = None
        self.cell = None
        self.cells = []
        self.heat = [0, 0, 0]
        self.err = None
        self.pkgs = []
        self.legend = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "body" and "data-drawn" in a:
            self.out.append("drawn %s" % a["data-drawn"])
        if tag == "span" and (a.get("id") or "").startswith("total-"):
            self.out.append("total %s %s" % (a["id"][6:], a.get("data-value")))
        if tag == "svg":
            self.svg = a
            if "series" in cls:
                self.series = [a.get("id"), a.get("data-bins"), 0]
        if tag == "path" and self.svg is not None and "series" in (self.svg.get("class") or ""):
            if cls == ["line"]:
                d = a.get("d") or ""
                self.series[2] = d.count("L") + (1 if d.startswith("M") else 0)
        if tag == "g" and "bar" in cls and self.svg is not None:
            self.out.append("top %s %s %s %s %s" % (self.svg.get("data-key"), a.get("data-key"),
                            a.get("data-flows"), a.get("data-packets"), a.get("data-bytes")))
        if tag == "rect" and "cell" in cls:
            f = int(a.get("data-flows"))
            self.heat[0] += 1
            self.heat[1] += f
            self.heat[2] += f > 0
        if tag == "div" and "no-as" in cls and "hidden" in a:
            self.out.append("top-hidden %s" % a.get("data-key"))
        if tag == "table":
            self.table = a.get("id")
        if tag == "tr" and "row" in cls:
            self.row = []
        if tag == "td" and self.row is not None:
            self.row.append(a.get("data-value"))
        if tag == "span" and "pkg" in cls and self.row is not None:
            self.pkgs.append("%s %s %s %s %s %d" % (
                a.get("data-name"), a.get("data-version"), a.get("data-arch"),
                a.get("data-flows"), a.get("data-newest") or "-", "outdated" in cls))
        if tag == "p" and a.get("id") == "alerts-legend":
            self.out.append("alerts-legend %s" % a.get("data-count"))
        if tag == "p" and a.get("id") == "hosts-legend":
            self.legend = [a.get("data-catalogue"), a.get("data-outdated"), ""]
        if tag == "pre" and a.get("id") == "error":
            self.err = "" if "hidden" not in a else None

    def handle_endtag(self, tag):
        if tag == "svg":
            if self.svg is not None and "series" in (self.svg.get("class") or ""):
                self.out.append("series %s %s %s" % tuple(self.series))
            self.svg = None
        if tag == "tr" and self.row is not None:
            r = self.row
            if self.table == "hosts-table":
                self.out.append("host %s %s %s" % (r[0], r[1], r[2]))
                self.out.extend("pkg %s %s" % (r[0], p) for p in self.pkgs)
            elif self.table == "services-table":
                self.out.append("service %s %s %s %s %s" % (r[0], r[1], r[2], r[4], r[6]))
            elif self.table == "alerts-table":
                self.out.append("alert %s %s %s %s" % (r[0], r[1], r[3], r[7]))
            elif self.table == "flows-table":
                self.out.append("flow %s %s" % (r[1], r[3]))
            self.row = None
            self.pkgs = []
        if tag == "table":
            self.table = None
        if tag == "p" and self.legend is not None:
            self.out.append("hosts-legend %s %s %s" % tuple(self.legend))
            self.legend = None
        if tag == "pre" and self.err is not None:
            self.out.append("error " + self.err.rstrip("\n").replace("\n", "\\n"))
            self.err = None

    def handle_data(self, data):
        if self.err is not None:
            self.err += data
        if self.legend is not None:
            self.legend[2] += data


p = Dom()
p.feed(open(sys.argv[1], encoding="utf-8").read())
p.out.append("heat %d %d %d" % tuple(p.heat))
print("\n".join(p.out))
