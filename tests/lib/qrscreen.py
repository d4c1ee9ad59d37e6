#!/usr/bin/env python3
"""qrscreen.py: decode the QR code that a terminal shows, from its text.

Reads a screen as `tmux capture-pane -p` prints it (one line per terminal
row, no escapes), finds the QR block that lib/qr.c draws, turns the cells
into pixels as a terminal paints them, writes a PGM image and runs
`zbarimg --raw -q` on it.

  qrscreen.py [--expect TEXT] [--out FILE.pgm] [--scale PX] [--aspect H/W]
              [--terminal dark|light] [--margin MODULES] CAPTURE

lib/qr.c draws for a dark terminal: light modules and its 2-module quiet
zone are printed (half blocks, or "##" in the ASCII form), dark modules are
blanks. One terminal cell is painted as SCALE px wide and SCALE*ASPECT px
high (2.0: a usual monospace cell): "▀" lights the upper half, "▄" the lower
half, "█" and "#" the whole cell (a phone sees the "#" glyph, not a filled
cell: the ASCII picture is the best case). The terminal's own background
(dark, or light with --terminal light: then the code is inverted) surrounds
the code for MARGIN modules, as on the screen.

With --first, first prints "screen: R rows x C columns (rows A-B of N)":
the extent of the message from its first line to the prompt.

Then prints one line:
  qr: STYLE ROWSxCOLS cells (N modules) at row R, col C; decoded: TEXT
or the reason nothing was decoded. Exit 0 when decoded (and equal to
--expect when given), 1 when not decoded or different, 2 when no QR block
is on the screen.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

UPPER, LOWER, FULL = "\u2580", "\u2584", "\u2588"
UTF8_CELLS = UPPER + LOWER + FULL + " "


def find_block(lines):
    """Longest run of lines drawn only with QR cells: (style, first, rows)."""
    best = None
    for style, cells, ink in (("utf8", UTF8_CELLS, UPPER + LOWER + FULL), ("ascii", "# ", "#")):
        i = 0
        while i < len(lines):
            j = i
            while (j < len(lines) and lines[j].strip(" ") and
                   all(c in cells for c in lines[j]) and any(c in ink for c in lines[j]) and
                   len(lines[j].strip(" ")) >= 21):
                j += 1
            if j - i >= 11 and (best is None or j - i > best[2]):
                best = (style, i, j - i)
            i = max(j, i + 1)
    return best


def cell_pixels(style, c, h):
    """Rows of the cell lit (True = foreground) for a cell h px high."""
    if style == "ascii":
        lit = c == "#"
        return [lit] * h
    top = c in (UPPER, FULL)
    bottom = c in (LOWER, FULL)
    return [top] * (h // 2) + [bottom] * (h - h // 2)


def render(style, block, scale, aspect, terminal, margin):
    """PGM bytes of the block as painted, with MARGIN modules of terminal around."""
    cols = max(len(l) for l in block)
    cw = scale
    ch = max(2, round(scale * aspect))
    # one module: a cell wide and half a cell high (utf8), two cells wide and
    # one high (ascii); the margin is counted in modules
    mw = cw if style == "utf8" else 2 * cw
    mh = ch // 2 if style == "utf8" else ch
    fg, bg = (255, 0) if terminal == "dark" else (0, 255)
    width = cols * cw + 2 * margin * mw
    rows = []
    blank = bytes([bg]) * width
    rows += [blank] * (margin * mh)
    for line in block:
        line = line.ljust(cols)
        lit = [cell_pixels(style, c, ch) for c in line]
        for y in range(ch):
            row = bytearray([bg]) * (margin * mw)
            for x in range(cols):
                row += bytes([fg if lit[x][y] else bg]) * cw
            row += bytearray([bg]) * (margin * mw)
            rows.append(bytes(row))
    rows += [blank] * (margin * mh)
    return b"P5\n%d %d\n255\n" % (width, len(rows)) + b"".join(rows)


def zbar(path):
    try:
        p = subprocess.run(["zbarimg", "--raw", "-q", path], capture_output=True, timeout=30)
    except FileNotFoundError:
        return None, "zbarimg not installed (apt-get install zbar-tools)"
    out = p.stdout.decode("utf-8", "replace").rstrip("\n")
    if p.returncode != 0 or not out:
        return None, "zbarimg found no code (status %d)" % p.returncode
    return out, ""


def extent(lines, first, last):
    """'screen: R rows x C columns' from the line matching FIRST to LAST."""
    a = next((i for i, l in enumerate(lines) if re.search(first, l)), None)
    if a is None:
        return "screen: the first line (%s) is not on the screen" % first
    b = None
    for i in range(len(lines) - 1, a - 1, -1):
        if (re.search(last, lines[i]) if last else lines[i].strip()):
            b = i
            break
    if b is None:
        return "screen: the last line (%s) is not on the screen" % last
    cols = max(len(l.rstrip(" ")) for l in lines[a:b + 1])
    return "screen: %d rows x %d columns (rows %d-%d of %d)" % (b - a + 1, cols, a + 1, b + 1, len(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("capture")
    ap.add_argument("--expect")
    ap.add_argument("--out")
    ap.add_argument("--scale", type=int, default=6)
    ap.add_argument("--aspect", type=float, default=2.0)
    ap.add_argument("--terminal", choices=("dark", "light"), default="dark")
    ap.add_argument("--margin", type=int, default=4)
    ap.add_argument("--first", help="ERE of the message's first line: also print its rows x columns")
    ap.add_argument("--last", help="ERE of its last line (default: the last non-blank line)")
    a = ap.parse_args()

    with open(a.capture, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    lines = [l.rstrip("\r") for l in text.split("\n")]
    if a.first:
        print(extent(lines, a.first, a.last))
    found = find_block([l.rstrip(" ") for l in lines])
    if not found:
        why = "no QR block on the screen"
        if re.search(r"\\342\\226\\2(00|04|10)", text):
            why += " (its half blocks arrived as octal escapes \\342\\226\\2xx: a client in a non-UTF-8 locale)"
        print("qr: " + why)
        return 2
    style, first, n = found
    block = [l.rstrip(" ") for l in lines[first:first + n]]
    col = min(len(l) - len(l.lstrip(" ")) for l in block)
    block = [l[col:] for l in block]
    cols = max(len(l) for l in block)
    modules = 2 * n if style == "utf8" else n
    where = "qr: %s %dx%d cells (%d modules high) at row %d, col %d" % (style, n, cols, modules, first + 1, col + 1)
    img = render(style, block, a.scale, a.aspect, a.terminal, a.margin)
    path = a.out
    tmp = None
    if not path:
        fd, tmp = tempfile.mkstemp(suffix=".pgm")
        os.close(fd)
        path = tmp
    with open(path, "wb") as f:
        f.write(img)
    try:
        got, why = zbar(path)
    finally:
        if tmp:
            os.unlink(tmp)
    if got is None:
        print("%s; not decoded: %s" % (where, why))
        return 1
    print("%s; decoded: %s" % (where, got))
    if a.expect is not None and got != a.expect:
        print("qr: decoded text differs from the expected %s" % a.expect)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
