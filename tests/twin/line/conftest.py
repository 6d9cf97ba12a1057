"""Fixtures of the line-twin tests (helpers in ``_line.py``)."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
