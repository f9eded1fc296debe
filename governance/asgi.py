"""The ASGI entry point the server (granian) and the Litestar CLI load: settings from the environment."""

from governance.app import create_app

app = create_app()
