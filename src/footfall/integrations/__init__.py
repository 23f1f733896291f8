"""Server-side tracking for Python web apps: WSGI and ASGI middleware and a Flask extension.

They record matched requests (path globs and/or response content types) through a
:class:`footfall.client.Tracker` after the response is produced, and can answer a browser that opens
an image URL directly with a small HTML page carrying the footfall tracker. See docs/server-side.md.
"""

from footfall.integrations.asgi import FootfallASGI
from footfall.integrations.common import Rules
from footfall.integrations.wsgi import FootfallWSGI

__all__ = ["FootfallASGI", "FootfallWSGI", "Rules"]
