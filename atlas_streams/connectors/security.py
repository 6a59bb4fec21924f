"""Turn :class:`KafkaSecurity` into what aiokafka takes: protocol, SASL keywords, an SSL context.

The one place TLS files are read. Used by the connectors, the producer, topic discovery and
the Faust app (which wraps the same context in its credentials objects).
"""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka.helpers import create_ssl_context

from atlas_streams.connectors.config import KafkaSecurity
from atlas_streams.connectors.errors import ConnectorConfigError

__all__ = ["client_options", "ssl_context"]


def ssl_context(security: KafkaSecurity) -> ssl.SSLContext | None:
    """Return the TLS context for ``security`` (None without TLS); verifies the broker.

    Raises:
        ConnectorConfigError: naming the file setting that cannot be read.
    """
    if not security.uses_ssl:
        return None
    for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        path = getattr(security, key)
        try:
            if path is not None:
                with open(path, "rb"):
                    pass
        except OSError as exc:
            raise ConnectorConfigError(key, f"cannot read {path}: {exc.strerror}") from None
    try:
        return create_ssl_context(
            cafile=security.ssl_cafile, certfile=security.ssl_certfile,
            keyfile=security.ssl_keyfile,
        )
    except ssl.SSLError as exc:
        key = "ssl_cafile" if "cafile" in str(exc).lower() or not security.ssl_certfile else (
            "ssl_certfile"
        )
        raise ConnectorConfigError(key, f"not a usable PEM file: {exc.reason or exc}") from None


def client_options(security: KafkaSecurity) -> dict[str, Any]:
    """Return the keyword arguments that make an aiokafka client use ``security``."""
    options: dict[str, Any] = {"security_protocol": security.protocol}
    context = ssl_context(security)
    if context is not None:
        options["ssl_context"] = context
    if security.uses_sasl:
        assert security.sasl_password is not None  # checked by parse_security
        options.update(
            sasl_mechanism=security.sasl_mechanism,
            sasl_plain_username=security.sasl_username,
            sasl_plain_password=security.sasl_password.get_secret_value(),
        )
    return options
