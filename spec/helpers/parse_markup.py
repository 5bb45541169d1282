#!/usr/bin/env python3
"""Parse a rendered report with Python's own parsers and print it as JSON, so
the report specs read the output back with a parser independent of the code
that wrote it.

    parse_markup.py xml FILE    ElementTree: {tag, attrib, text, children}
    parse_markup.py html-cells FILE CLASS
                                the text of every <td class=CLASS> as a browser
                                renders it: white space collapsed, <br> a newline
    parse_markup.py html FILE   html.parser: {scripts: [{attrs, text}],
                                tables: {id-or-index: [[cell text, ...], ...]},
                                elements: {tag: count},
                                links: [[tag, attribute, value], ...] for every
                                attribute that can load or send something
                                (src, href, action, srcset, ...), style and on* handlers}

Exit 1 (with the parser's message) when the file does not parse.
"""
import json
import re
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser


LOADING = {"src", "href", "action", "formaction", "srcset", "data", "poster", "background",
           "xlink:href", "ping", "manifest", "style"}


def element(e):
    return {"tag": e.tag, "attrib": dict(e.attrib), "text": e.text or "",
            "children": [element(c) for c in e]}


class Tables(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts, self.tables, self.elements, self.links = [], {}, {}, []
        self.script = None
        self.table = None
        self.row = None
        self.cell = None
        self.count = 0

    def handle_starttag(self, tag, attrs):
        self.elements[tag] = self.elements.get(tag, 0) + 1
        a = dict(attrs)
        for k, v in attrs:
            if k in LOADING or k.startswith("on"):
                self.links.append([tag, k, v])
        if tag == "script":
            self.script = {"attrs": a, "text": ""}
        elif tag == "table":
            self.count += 1
            self.table = a.get("id") or str(self.count)
            self.tables[self.table] = []
        elif tag == "tr" and self.table is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "script" and self.script is not None:
            self.scripts.append(self.script)
            self.script = None
        elif tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[self.table].append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data):
        if self.script is not None:
            self.script["text"] += data
        elif self.cell is not None:
            self.cell += data


class RenderedCells(HTMLParser):
    def __init__(self, cls):
        super().__init__(convert_charrefs=True)
        self.cls, self.cells, self.cell = cls, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "td" and self.cls in (dict(attrs).get("class") or "").split():
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            lines = [line.strip() for line in "".join(self.cell).split("\n")]
            self.cells.append("\n".join(lines))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(re.sub(r"\s+", " ", data))


def main(argv):
    kind, path = argv[1], argv[2]
    with open(path, "rb") as f:
        data = f.read()
    try:
        if kind == "xml":
            out = element(ET.fromstring(data))
        elif kind == "html-cells":
            p = RenderedCells(argv[3])
            p.feed(data.decode("utf-8"))
            p.close()
            out = p.cells
        else:
            p = Tables()
            p.feed(data.decode("utf-8"))
            p.close()
            out = {"scripts": p.scripts, "tables": p.tables, "elements": p.elements, "links": p.links}
    except (ET.ParseError, UnicodeDecodeError) as e:
        sys.stderr.write("parse error: %s\n" % e)
        return 1
    sys.stdout.write(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
