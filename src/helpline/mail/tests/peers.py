"""Real mail peers on loopback for the end-to-end tests: a private dovecot IMAP server."""

from __future__ import annotations

import grp
import imaplib
import json
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "support@helpline.test"
PASSWORD = "imap-test-password"
TOKEN = "ya29.test-oauth2-access-token"


class Introspection(BaseHTTPRequestHandler):
    """A token introspection endpoint (RFC 7662) that knows one access token."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        active = form.get("token") == [TOKEN]
        body = json.dumps({"active": active, "username": USER} if active else {"active": False})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def introspection_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Introspection)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/introspect"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mail_owner() -> tuple[int, int]:
    """Dovecot refuses uid 0 for mail: as root, the mail belongs to the dovecot user."""
    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    entry = pwd.getpwnam("dovecot")
    return entry.pw_uid, entry.pw_gid


def _oauth2(root: Path, introspection_url: str | None) -> tuple[str, str]:
    """Dovecot's oauth2 passdb, asking a token introspection endpoint (RFC 7662)."""
    if not introspection_url:
        return "plain login", ""
    (root / "oauth2.conf.ext").write_text(
        f"introspection_mode = post\nintrospection_url = {introspection_url}\n"
        "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
        "force_introspection = yes\n"
    )
    passdb = f"""
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}"""
    return "plain login xoauth2 oauthbearer", passdb


def _config(
    root: Path, port: int, introspection_url: str | None = None, imaps_port: int = 0
) -> str:
    uid, gid = _mail_owner()
    me = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    login_user = "dovenull" if os.getuid() == 0 else me
    mechanisms, oauth_passdb = _oauth2(root, introspection_url)
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{_tls(root) if imaps_port else "ssl = no"}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
default_internal_user = {me}
default_internal_group = {group}
default_login_user = {login_user}
mail_location = maildir:{root}/mail/%n
first_valid_uid = 0
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {root}/passwd
}}{oauth_passdb}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
namespace inbox {{
  inbox = yes
  mailbox Processed {{
    auto = create
  }}
}}
"""


def make_certificate(root: Path) -> Path:
    """A self-signed certificate for localhost only (key beside it): cert.pem."""
    openssl = shutil.which("openssl") or "/usr/bin/openssl"
    subject = ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
    files = ["-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")]
    command = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    subprocess.run([*command, *files, *subject], check=True, capture_output=True)  # noqa: S603
    return root / "cert.pem"


def _tls(root: Path) -> str:
    return f"ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem"


@contextmanager
def dovecot(root: Path, introspection_url: str | None = None) -> Iterator[int]:
    """Start dovecot with its own config under `root` on a free port; yield the port."""
    port = free_port()
    with _running(root, port, _config(root, port, introspection_url)):
        yield port


@contextmanager
def dovecot_tls(root: Path) -> Iterator[tuple[int, int, Path]]:
    """Dovecot with TLS: STARTTLS on one port, implicit TLS (IMAPS) on another, with a fresh
    self-signed certificate; yields (imap port, imaps port, certificate path)."""
    port, imaps_port = free_port(), free_port()
    root.mkdir(parents=True, exist_ok=True)
    certificate = make_certificate(root)
    with _running(root, port, _config(root, port, imaps_port=imaps_port)):
        yield port, imaps_port, certificate


@contextmanager
def _running(root: Path, port: int, config_text: str) -> Iterator[None]:
    uid, gid = _mail_owner()
    root.chmod(0o755)
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir(parents=True, exist_ok=True)
        if sub in ("mail", "home"):
            os.chown(root / sub, uid, gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    config = root / "dovecot.conf"
    config.write_text(config_text)
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)])  # noqa: S603
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot did not start: {log}")
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def imap_client(port: int) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    client.login(USER, PASSWORD)
    return client


def append(port: int, *messages: bytes, folder: str = "INBOX") -> None:
    client = imap_client(port)
    try:
        for raw in messages:
            status, data = client.append(f'"{folder}"', "", None, raw)
            assert status == "OK", data
    finally:
        client.logout()


def flags(port: int, folder: str = "INBOX") -> list[bytes]:
    client = imap_client(port)
    try:
        _status, count = client.select(f'"{folder}"')
        if int(count[0] or 0) == 0:
            return []
        _status, data = client.fetch("1:*", "(FLAGS)")
        return [item for item in data if isinstance(item, bytes)]
    finally:
        client.logout()


def create_folder(port: int, folder: str) -> None:
    """Create a folder (`folder` as it goes on the wire: modified UTF-7)."""
    client = imap_client(port)
    try:
        status, data = client.create(f'"{folder}"')
        assert status == "OK", data
    finally:
        client.logout()


def delete_folder(port: int, folder: str) -> None:
    client = imap_client(port)
    try:
        status, data = client.delete(f'"{folder}"')
        assert status == "OK", data
    finally:
        client.logout()
