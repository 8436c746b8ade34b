"""Make user strings (run names, metrics, params) safe to show.

Why: a run name is user data. In a terminal a raw ESC or C1 byte can rewrite the screen, and a
bidi override (U+202E) can make `evil\u202eexe.txt` display as another name. Both renderers show
such characters as visible `<U+XXXX>` instead (the HTML page does the same in its script).
"""

from __future__ import annotations

import re

# C0/C1 controls, DEL, bidi marks, embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """`text` as a string with control and bidi-override characters shown as `<U+XXXX>`."""
    return _UNSAFE.sub(lambda m: f"<U+{ord(m.group()):04X}>", str(text))
