"""Turn :class:`KafkaSecurity` into what aiokafka takes: protocol, SASL keywords, an SSL context.

The one place TLS files are read. Used by the connectors, the producer, topic discovery and
the Faust app (which wraps the same context in its credentials objects). :func:`check_connection`
says in one line why a TLS or SASL handshake fails, which aiokafka reports only as "Unable to
bootstrap".
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from typing import Any

from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, KafkaError, UnsupportedSaslMechanismError
from aiokafka.helpers import create_ssl_context

from atlas_streams.connectors.config import KafkaSecurity
from atlas_streams.connectors.errors import ConnectorConfigError, ConnectorUnreachable

__all__ = ["check_connection", "client_options", "ssl_context"]


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


async def check_connection(
    servers: Sequence[str], security: KafkaSecurity, timeout: float = 10.0
) -> None:
    """Open and close one connection, TLS and SASL included, to the first server that answers.

    Raises:
        ConnectorUnreachable: with one line naming the cause (unreachable, untrusted TLS
            certificate, failed TLS handshake, refused SASL credentials); never the password.
    """
    options = client_options(security)
    problems: list[str] = []
    for server in servers:
        host, _, port = server.rpartition(":")
        try:
            conn = await asyncio.wait_for(create_conn(
                host.strip("[]"), int(port), request_timeout_ms=int(timeout * 1000), **options
            ), timeout)
        except Exception as exc:  # noqa: BLE001 (every failure is reported, in one line)
            problems.append(_describe(server, security, exc))
            continue
        conn.close()
        return
    # A failed handshake says more than "unreachable": report it first.
    problems.sort(key=lambda problem: problem.startswith("cannot connect"))
    raise ConnectorUnreachable(problems[0] if problems else "no bootstrap server given")


def _describe(server: str, security: KafkaSecurity, exc: BaseException) -> str:
    """Return one line saying why connecting to ``server`` failed and what to check."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS: the certificate of the broker at {server} is not trusted "
            f"(certificate verify failed: {exc.verify_message}); set ssl_cafile to the CA "
            "that signed it"
        )
    if isinstance(exc, ssl.SSLError):
        return (
            f"TLS handshake with {server} failed ({exc.reason or exc}); check that the "
            f"listener speaks {security.protocol} and the ssl_* files"
        )
    if isinstance(exc, OSError | asyncio.TimeoutError) or (
        isinstance(exc, KafkaConnectionError) and not security.uses_sasl
    ):
        return f"cannot connect to Kafka at {server} ({security.protocol}): {exc}"
    if isinstance(exc, UnsupportedSaslMechanismError):
        return f"SASL: the broker at {server} does not offer {security.sasl_mechanism}: {exc}"
    if security.uses_sasl and isinstance(exc, KafkaError | ValueError | KeyError):
        # A wrong password shows as an error code, a closed connection or a malformed final
        # SCRAM message, depending on the broker: all mean the credentials were refused.
        return (
            f"SASL authentication failed: the broker at {server} refused user "
            f"{security.sasl_username!r} with {security.sasl_mechanism}; check sasl_username, "
            "sasl_password and sasl_mechanism"
        )
    return f"cannot connect to Kafka at {server} ({security.protocol}): {type(exc).__name__}"
