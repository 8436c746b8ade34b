"""strip_credentials: secrets never reach a run folder, harmless URL parts survive."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localtrack.capture import strip_credentials


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:tok@host/x.git", "https://host/x.git"),
        ("https://tok@host/x", "https://host/x"),
        ("http://user:pw@host:8080/org/x.git", "http://host:8080/org/x.git"),
        ("HTTPS://u:p@Host/x", "HTTPS://Host/x"),
        ("https://x-access-token:ghs_abc@github.com/o/r.git", "https://github.com/o/r.git"),
        ("https://oauth2:glpat-123@gitlab.com/o/r", "https://gitlab.com/o/r"),
        ("https://user:p@ss@host/x", "https://host/x"),  # unencoded '@' in password
        ("https://user:p%40ss@host/x", "https://host/x"),
        ("https://u:p@[::1]:8443/x", "https://[::1]:8443/x"),
        ("https://host/x.git?access_token=abc", "https://host/x.git"),
        ("https://host/x.git#tok", "https://host/x.git"),
        ("https://u:p@host?token=1", "https://host"),
        ("https://host/org/pkg@v1", "https://host/org/pkg@v1"),  # '@' in the path is fine
        ("https://github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("git+https://u:t@host/x", "git+https://host/x"),
        ("ssh://git@host/x", "ssh://git@host/x"),
        ("ssh://git:secret@host:22/x.git", "ssh://git@host:22/x.git"),
        ("git+ssh://git@host/x", "git+ssh://git@host/x"),
        ("ssh://host/x", "ssh://host/x"),
        ("git://u:p@host/x", "git://host/x"),
        ("ftp://u:p@host/x", "ftp://host/x"),
        ("file:///srv/git/x.git", "file:///srv/git/x.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("github.com:org/repo.git", "github.com:org/repo.git"),
        ("/srv/git/repo.git", "/srv/git/repo.git"),
        ("../relative/repo", "../relative/repo"),
        ("C:\\repos\\x", "C:\\repos\\x"),
        ("  https://t@host/x  ", "https://host/x"),
        ("", ""),
    ],
)
def test_strip_credentials(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


def test_idempotent_on_table() -> None:
    for url in ("https://a:b@h/x?y#z", "ssh://g:s@h/x", "git@h:o/r"):
        once = strip_credentials(url)
        assert strip_credentials(once) == once


_secret = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=8, max_size=20)


@given(user=_secret, token=_secret, scheme=st.sampled_from(["http", "https", "git+https"]))
def test_http_tokens_never_survive(user: str, token: str, scheme: str) -> None:
    for url in (
        f"{scheme}://{user}:{token}@example.com/org/repo.git",
        f"{scheme}://{token}@example.com/org/repo.git",
        f"{scheme}://example.com/org/repo.git?token={token}",
    ):
        cleaned = strip_credentials(url)
        assert token not in cleaned
        assert cleaned == f"{scheme}://example.com/org/repo.git"
