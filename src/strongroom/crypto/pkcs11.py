"""The root key held in an HSM over PKCS#11: an AES-256 key generated inside the token and
never extractable; wrap and unwrap run inside the token with AES-GCM. Needs the ``hsm`` extra.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from strongroom.crypto.rootkey import RootKeyError
from strongroom.errors import DecryptionFailed

if TYPE_CHECKING:
    from strongroom.settings import Settings

__all__ = ["Pkcs11RootKey", "create_root_key", "load_root_key"]

# 0x01 is FileRootKey's format; 0x02 marks a blob sealed inside a PKCS#11 token.
_FORMAT_V2 = b"\x02"
_NONCE_SIZE = 12
_TAG_SIZE = 16
_KEY_BITS = 256
_KEY_ID_LABEL = b"strongroom pkcs11 root key id"


@dataclass
class _Token:
    """One logged-in session per (module, token), shared by every key in the process.

    PKCS#11 logs in per application, not per session, so a second login fails; and one
    session must not run two operations at once, hence the lock.
    """

    session: Any
    serial: bytes
    pin_digest: bytes
    lock: threading.Lock


_registry_lock = threading.Lock()
_libraries: dict[str, Any] = {}
_tokens: dict[tuple[str, str], _Token] = {}


class Pkcs11RootKey:
    """A root key that lives in a PKCS#11 token; this object holds only a handle to it.

    Wrapped format: ``0x02 || nonce (12) || ciphertext || tag (16)``, sealed by the token with
    CKM_AES_GCM under a random nonce, AAD = ``0x02 || context``. Safe to share between threads.
    """

    __slots__ = ("_key", "_key_id", "_token")

    def __init__(self, token: _Token, key: Any, key_id: str) -> None:
        """Use :func:`load_root_key`, :func:`create_root_key` or :meth:`open`."""
        self._token = token
        self._key = key
        self._key_id = key_id

    @classmethod
    def open(
        cls, module: str, token_label: str, pin: str, key_label: str, *, create: bool = False
    ) -> tuple[Pkcs11RootKey, bool]:
        """Log in to the token labelled ``token_label`` and find the AES key ``key_label``.

        With ``create``, a missing key is generated inside the token (AES-256, sensitive,
        non-extractable, persistent, encrypt/decrypt only). Returns (key, created). Raises
        ``RootKeyError`` naming the cause when the module cannot be loaded, the token is
        absent, the PIN is refused, or the key is missing (without ``create``).
        """
        from pkcs11 import Attribute, KeyType, MechanismFlag, ObjectClass  # noqa: PLC0415
        from pkcs11.exceptions import MultipleObjectsReturned, NoSuchKey, PKCS11Error  # noqa: PLC0415

        token = _login(module, token_label, pin)
        created = False
        with token.lock:
            try:
                try:
                    key = token.session.get_key(
                        object_class=ObjectClass.SECRET_KEY, key_type=KeyType.AES, label=key_label
                    )
                except NoSuchKey:
                    if not create:
                        raise RootKeyError(
                            f"PKCS#11 token {token_label!r} holds no AES key labelled "
                            f"{key_label!r} (create it with: strongroom pkcs11 create)"
                        ) from None
                    key = token.session.generate_key(
                        KeyType.AES,
                        _KEY_BITS,
                        id=secrets.token_bytes(16),
                        label=key_label,
                        store=True,
                        capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
                        template={
                            Attribute.SENSITIVE: True,
                            Attribute.EXTRACTABLE: False,
                            Attribute.PRIVATE: True,
                            Attribute.MODIFIABLE: False,
                        },
                    )
                    created = True
                if key[Attribute.EXTRACTABLE] or not key[Attribute.SENSITIVE]:
                    raise RootKeyError(
                        f"PKCS#11 key {key_label!r} is extractable or not sensitive; "
                        "a root key must never leave the token"
                    )
                key_object_id = bytes(key[Attribute.ID] or b"")
            except MultipleObjectsReturned:
                raise RootKeyError(
                    f"PKCS#11 token {token_label!r} holds several keys labelled {key_label!r}"
                ) from None
            except PKCS11Error as exc:
                raise RootKeyError(
                    f"PKCS#11 token {token_label!r}: cannot use key {key_label!r} "
                    f"({type(exc).__name__})"
                ) from None
        digest = hashlib.sha256(_KEY_ID_LABEL)
        for part in (token.serial, key_label.encode(), key_object_id):
            digest.update(len(part).to_bytes(4, "big") + part)
        return cls(token, key, digest.hexdigest()[:16]), created

    @property
    def key_id(self) -> str:
        """First 16 hex digits of SHA-256 over the token serial, the key label and CKA_ID."""
        return self._key_id

    def wrap(self, plaintext_key: bytes, context: bytes) -> bytes:
        """Seal ``plaintext_key`` inside the token, bound to ``context``.

        Raises ``RootKeyError`` if the token refuses (e.g. it was removed).
        """
        from pkcs11 import Mechanism  # noqa: PLC0415
        from pkcs11.exceptions import PKCS11Error  # noqa: PLC0415
        from pkcs11.mechanisms import GCMParams  # noqa: PLC0415

        nonce = secrets.token_bytes(_NONCE_SIZE)
        params = GCMParams(nonce, _FORMAT_V2 + context, _TAG_SIZE * 8)
        try:
            with self._token.lock:
                sealed = self._key.encrypt(
                    plaintext_key, mechanism=Mechanism.AES_GCM, mechanism_param=params
                )
        except PKCS11Error as exc:
            raise RootKeyError(
                f"the PKCS#11 token refused to wrap ({type(exc).__name__})"
            ) from None
        return _FORMAT_V2 + nonce + bytes(sealed)

    def unwrap(self, blob: bytes, context: bytes) -> bytes:
        """Open a :meth:`wrap` output inside the token; ``DecryptionFailed`` for any failure."""
        from pkcs11 import Mechanism  # noqa: PLC0415
        from pkcs11.exceptions import PKCS11Error  # noqa: PLC0415
        from pkcs11.mechanisms import GCMParams  # noqa: PLC0415

        if blob[:1] != _FORMAT_V2 or len(blob) < 1 + _NONCE_SIZE + _TAG_SIZE:
            raise DecryptionFailed()
        nonce, sealed = blob[1 : 1 + _NONCE_SIZE], blob[1 + _NONCE_SIZE :]
        params = GCMParams(nonce, _FORMAT_V2 + context, _TAG_SIZE * 8)
        try:
            with self._token.lock:
                plain = self._key.decrypt(
                    sealed, mechanism=Mechanism.AES_GCM, mechanism_param=params
                )
        except PKCS11Error:
            raise DecryptionFailed() from None
        return bytes(plain)

    def __repr__(self) -> str:
        return f"Pkcs11RootKey(key_id={self._key_id!r})"


def load_root_key(settings: Settings) -> Pkcs11RootKey:
    """Open the root key named by ``settings.crypto.pkcs11_*``; it must already exist.

    Raises ``RootKeyError`` (module, token or key missing, PIN refused).
    """
    key, _ = _open(settings, create=False)
    return key


def create_root_key(settings: Settings) -> tuple[Pkcs11RootKey, bool]:
    """Like :func:`load_root_key`, but generate the key in the token when it is absent.

    Returns (key, created).
    """
    return _open(settings, create=True)


def _open(settings: Settings, *, create: bool) -> tuple[Pkcs11RootKey, bool]:
    c = settings.crypto
    if not c.pkcs11_token_label:
        raise RootKeyError("crypto.pkcs11_token_label must name the PKCS#11 token")
    if not c.pkcs11_pin:
        raise RootKeyError("crypto.pkcs11_pin (or STRONGROOM_CRYPTO__PKCS11_PIN_FILE) is not set")
    return Pkcs11RootKey.open(
        c.pkcs11_module, c.pkcs11_token_label, c.pkcs11_pin, c.pkcs11_key_label, create=create
    )


def _login(module: str, token_label: str, pin: str) -> _Token:
    """The process's logged-in session on ``token_label``, opened on first use."""
    try:
        import pkcs11  # noqa: PLC0415
        from pkcs11.exceptions import (  # noqa: PLC0415
            MultipleTokensReturned,
            NoSuchToken,
            PinIncorrect,
            PinLenRange,
            PinLocked,
            PKCS11Error,
        )
    except ImportError:
        raise RootKeyError(
            "crypto.root = pkcs11 needs python-pkcs11 (pip install 'strongroom[hsm]')"
        ) from None
    pin_digest = hashlib.sha256(pin.encode()).digest()
    with _registry_lock:
        existing = _tokens.get((module, token_label))
        if existing is not None:
            if not hmac.compare_digest(existing.pin_digest, pin_digest):
                raise RootKeyError(f"PKCS#11 token {token_label!r}: the PIN was refused")
            return existing
        try:
            lib = _libraries.get(module)
            if lib is None:
                lib = _libraries[module] = pkcs11.lib(module)
        except PKCS11Error:
            raise RootKeyError(f"cannot load the PKCS#11 module {module}") from None
        try:
            found = lib.get_token(token_label=token_label)
        except NoSuchToken:
            raise RootKeyError(f"no PKCS#11 token labelled {token_label!r} in {module}") from None
        except MultipleTokensReturned:
            raise RootKeyError(f"several PKCS#11 tokens are labelled {token_label!r}") from None
        except PKCS11Error as exc:
            raise RootKeyError(
                f"cannot list PKCS#11 tokens in {module} ({type(exc).__name__})"
            ) from None
        try:
            session = found.open(rw=True, user_pin=pin)
        except (PinIncorrect, PinLenRange):
            raise RootKeyError(f"PKCS#11 token {token_label!r}: the PIN was refused") from None
        except PinLocked:
            raise RootKeyError(f"PKCS#11 token {token_label!r}: the user PIN is locked") from None
        except PKCS11Error as exc:
            raise RootKeyError(
                f"PKCS#11 token {token_label!r}: cannot log in ({type(exc).__name__})"
            ) from None
        token = _Token(session, bytes(found.serial), pin_digest, threading.Lock())
        _tokens[(module, token_label)] = token
        return token
