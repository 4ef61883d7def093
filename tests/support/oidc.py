"""A real OpenID Connect provider on 127.0.0.1, and a Streamlit server signing in with it.

``oidc-provider-mock`` is a complete provider (discovery, authorization
code flow, ID tokens signed with its own keys, userinfo); its login page has
one button per predefined user, so a browser signs in as alice by clicking
"alice". Nothing here reaches the internet.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.optional import skip_unless_available
from tests.support.server import Server, free_port, streamlit_server

PROVIDER_TIMEOUT_S = 60
USERS = {
    "alice": {"email": "alice@example.com", "name": "Alice Example"},
    "bob": {"email": "bob@example.com", "name": "Bob Builder"},
}


@dataclass(frozen=True)
class Provider:
    issuer: str

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


def require_oidc_provider() -> None:
    try:
        import oidc_provider_mock  # noqa: F401

        available = True
    except ImportError:
        available = False
    skip_unless_available("browser", available, "install the dev requirements (oidc-provider-mock)")


@contextmanager
def oidc_provider() -> Iterator[Provider]:
    """A provider knowing alice and bob, on 127.0.0.1 until the block ends.

    Served here rather than with the package's ``run_server_in_thread``, which
    binds "localhost": that name may mean ::1 or 127.0.0.1, and the server
    under test must reach the provider at the address the browser uses.
    """
    from oidc_provider_mock import User, app
    from werkzeug.serving import make_server

    users = [User(sub=sub, claims=claims) for sub, claims in USERS.items()]
    server = make_server("127.0.0.1", 0, app(user_claims=users), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="oidc-provider", daemon=True)
    thread.start()
    try:
        yield Provider(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def write_auth_secrets(folder: Path, provider: Provider, app_port: int) -> Path:
    """A secrets.toml whose ``[auth]`` points Streamlit's st.login at ``provider``."""
    path = folder / "secrets.toml"
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(16)}"\n'
        'client_id = "taskgate-tests"\n'
        'client_secret = "not-a-secret"\n'
        f'server_metadata_url = "{provider.metadata_url}"\n'
        # Authlib's HTTP client waits 5 s by default; a loaded CI machine can be slower.
        "[auth.client_kwargs]\n"
        f"timeout = {PROVIDER_TIMEOUT_S}\n"
    )
    return path


@contextmanager
def signing_in_server(log_dir: Path, env: dict[str, str], provider: Provider) -> Iterator[Server]:
    """The app with ``[auth]`` set up for ``provider``, from a secrets.toml of its own."""
    port = free_port()
    secrets_file = write_auth_secrets(log_dir, provider, port)
    options = ("--secrets.files", str(secrets_file))
    with streamlit_server(log_dir, env, port=port, options=options) as server:
        yield server
