"""Configuration: hosts per environment, env-var fallback, clear errors, loopback-only http."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from payven_async import ConfigurationError, PayvenClient, Timeout
from payven_async._config import HOSTS


def test_missing_credentials_name_argument_and_variable() -> None:
    """Every missing credential is reported at once, naming the argument and the variable."""
    with pytest.raises(ConfigurationError) as caught:
        PayvenClient()
    message = str(caught.value)
    for argument, variable in (
        ("client_id", "PAYVEN_CLIENT_ID"),
        ("client_secret", "PAYVEN_CLIENT_SECRET"),
        ("slug", "PAYVEN_SLUG"),
    ):
        assert f"{argument}=" in message
        assert variable in message


def test_credentials_and_urls_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """PAYVEN_* variables fill in what the arguments leave out."""
    monkeypatch.setenv("PAYVEN_CLIENT_ID", "env-id")
    monkeypatch.setenv("PAYVEN_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("PAYVEN_SLUG", "env-slug")
    monkeypatch.setenv("PAYVEN_ENVIRONMENT", "production")
    monkeypatch.setenv("PAYVEN_VPOS_URL", "https://vpos.example.test/")
    config = PayvenClient().config
    assert (config.client_id, config.client_secret, config.slug) == (
        "env-id",
        "env-secret",
        "env-slug",
    )
    assert config.environment == "production"
    assert config.identity_url == "https://identity.payven.com.tr"
    assert config.vpos_url == "https://vpos.example.test"


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit argument beats the variable."""
    monkeypatch.setenv("PAYVEN_CLIENT_ID", "env-id")
    config = PayvenClient("arg-id", "secret", "slug").config
    assert config.client_id == "arg-id"


@pytest.mark.parametrize("environment", ["sandbox", "production"])
def test_environment_selects_both_hosts(environment: str) -> None:
    """Each environment has its own identity and vpos host."""
    config = PayvenClient("id", "secret", "slug", environment=environment).config  # type: ignore[arg-type]
    assert (config.identity_url, config.vpos_url) == HOSTS[environment]


def test_sandbox_is_the_default_environment() -> None:
    """Without an environment the client talks to the sandbox, never to production."""
    config = PayvenClient("id", "secret", "slug").config
    assert config.vpos_url == "https://vpos-sandbox.payven.com.tr"


def test_unknown_environment_is_refused() -> None:
    """A misspelt environment is an error, not a silent fallback."""
    with pytest.raises(ConfigurationError, match="staging"):
        PayvenClient("id", "secret", "slug", environment="staging")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url", ["http://vpos.payven.com.tr", "http://10.0.0.5:8080", "ftp://x", "vpos.payven.com.tr"]
)
def test_plain_http_is_refused_except_to_loopback(url: str) -> None:
    """Only https is allowed to anything that is not loopback."""
    with pytest.raises(ConfigurationError, match="vpos_url"):
        PayvenClient("id", "secret", "slug", vpos_url=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9"])
def test_plain_http_is_allowed_to_loopback(url: str) -> None:
    """Loopback hosts (the emulator) may use plain http."""
    assert PayvenClient("id", "secret", "slug", vpos_url=url).config.vpos_url == url


def test_secret_never_appears_in_reprs() -> None:
    """The client secret is hidden from the client's and the config's repr."""
    client = PayvenClient("id", "very-secret-value", "slug")
    assert "very-secret-value" not in repr(client)
    assert "very-secret-value" not in repr(client.config)


def test_timeout_and_retries_are_checked() -> None:
    """Non-positive timeouts and negative retries are configuration errors."""
    with pytest.raises(ConfigurationError, match="timeout"):
        PayvenClient("id", "secret", "slug", timeout=0)
    with pytest.raises(ConfigurationError, match="max_retries"):
        PayvenClient("id", "secret", "slug", max_retries=-1)
    config = PayvenClient("id", "secret", "slug", timeout=Timeout(total=5, connect=1)).config
    assert config.timeout == Timeout(total=5, connect=1)


def test_constructing_a_client_opens_nothing() -> None:
    """No session and no connection exist until the first call."""
    client = PayvenClient("id", "secret", "slug")
    assert client._transport._session is None


def test_a_context_that_does_not_verify_is_refused() -> None:
    """TLS verification cannot be switched off through ssl_context."""
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    with pytest.raises(ConfigurationError, match="verify"):
        PayvenClient("id", "secret", "slug", ssl_context=unverified)


def test_a_verifying_context_is_accepted() -> None:
    """A custom context that verifies (e.g. with a private CA) is used as given."""
    context = ssl.create_default_context()
    assert PayvenClient("id", "secret", "slug", ssl_context=context).config.ssl_context is context


def test_a_missing_ca_bundle_is_a_configuration_error(tmp_path: Path) -> None:
    """A CA bundle that cannot be loaded is reported at construction."""
    with pytest.raises(ConfigurationError, match="ca_bundle"):
        PayvenClient("id", "secret", "slug", ca_bundle=tmp_path / "missing.pem")


def test_a_ca_bundle_builds_a_verifying_context() -> None:
    """ca_bundle= yields a context that still requires valid certificates and host names."""
    bundle = ssl.get_default_verify_paths().cafile or ssl.get_default_verify_paths().openssl_cafile
    if not Path(bundle).is_file():
        pytest.fail(f"no system CA bundle at {bundle} to test with")
    context = PayvenClient("id", "secret", "slug", ca_bundle=bundle).config.ssl_context
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
