"""Granian factory target: the full Strongroom app, settings from ``STRONGROOM_*``.

    STRONGROOM_DATA_DIR=D granian --interface asgi --workers 1 --factory \\
        --working-dir bench --host 127.0.0.1 --port P granian_target:create

Granian runs the ASGI lifespan, so the purger and access-day flusher start as under uvicorn.
"""

from __future__ import annotations

import os
from typing import Any

from strongroom.http.app import create_app
from strongroom.settings import load_settings


def create() -> Any:
    return create_app(load_settings(os.environ))
