"""Compile progress for kiln.compile: a progress bar on a terminal, log records otherwise.

On a TTY (stderr) the compiler's steps and a bar over the objects being built are drawn on one
rewritten line; elsewhere (CI logs, notebooks without a terminal) each step is logged at INFO on
the "kiln" logger and the build progress every 25 %. progress=False silences both.
"""
from __future__ import annotations

import logging
import sys
import time
from typing import Optional

logger = logging.getLogger("kiln")


class CompileProgress:
    """The log and progress callbacks kiln._kiln.compile calls."""

    def __init__(self, enabled: Optional[bool] = None, stream=None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled is not False
        self.bar = self.enabled and tty
        self.start = time.monotonic()
        self.step = ""
        self._last_quarter = -1
        self._drawn = False

    def log(self, line: str) -> None:
        if not self.enabled:
            return
        self.step = line
        if self.bar:
            self._draw(f"kiln: {line}")
        else:
            logger.info("%s", line)

    def progress(self, finished: int, total: int, kind: str, file: str) -> None:
        if not self.enabled or total <= 0:
            return
        if self.bar:
            width = 24
            filled = width * finished // total
            bar = "#" * filled + "." * (width - filled)
            elapsed = time.monotonic() - self.start
            self._draw(f"kiln: building [{bar}] {finished}/{total} {kind} {file} ({elapsed:.0f} s)")
            return
        quarter = finished * 4 // total
        if quarter != self._last_quarter or finished == total:
            self._last_quarter = quarter
            logger.info("built %d/%d objects (%s %s)", finished, total, kind, file)

    def _draw(self, text: str) -> None:
        self.stream.write("\r" + text[:120] + "\033[K")
        self.stream.flush()
        self._drawn = True

    def finish(self, summary: str) -> None:
        if not self.enabled:
            return
        if self.bar:
            if self._drawn:
                self.stream.write("\r\033[K")
            self.stream.write(f"kiln: {summary}\n")
            self.stream.flush()
        else:
            logger.info("%s", summary)

    def abort(self) -> None:
        if self.bar and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
