#!/usr/bin/env python3
"""A second, independent reader of Token Wallet file-store vaults.

Written from docs/format.md alone (section numbers below are that file's, "§N"), not
from the Rust code, so that the specification and the implementation cannot drift apart
unnoticed: the test suite runs this reader against committed fixtures of every format
version (tests/format/fixtures/v<N>/) and against a vault freshly written by the build
under test.

    read_vault.py STORE_JSON --passphrase-file F [--service SERVICE] [--json]
                  [--audit-log AUDIT_JSONL]
    read_vault.py --backup BACKUP_FILE --passphrase-file F [--json]

It opens the vault held in a file store (`keystore.json`, §4), checks the header (§7),
derives the key-encryption key (§8.2), unwraps the data key (§8.4), decrypts the index
of the header's generation (§9) and every record it names (§10), and prints what it
found. It prints SHA-256 hashes of tokens, never the tokens: test output must never hold
a secret. With --audit-log it also verifies an audit log against the vault (§14).

With --json it prints (keys sorted; a fixture's expected.json is exactly this):

    {"format": N, "vault_id": HEX, "generation": G, "index_encoding": "json" | "deflate",
     "records": {CONNECTION_NAME: {"kind": ..., "provider": PROVIDER_NAME,
                                   "has_refresh_token": BOOL,
                                   "access_token_sha256": HEX,
                                   "refresh_token_sha256": HEX | null}},
     "other_records": [RECORD_NAME, ...],
     "audit": {"lines": N, "authenticated": N, "anchored": SEQ | null}}   (--audit-log only)

`records` is keyed by connection name (the record name `c.<name>` without `c.`);
`other_records` lists, sorted, the records that are not connections (`audit.anchor`,
`audit.key`, ...).

With --backup it reads a backup file (§18) instead: it checks the envelope (§18.2,
§18.6), derives the key-encryption key with the backup's own KDF settings and salt,
unwraps the backup key (§18.3), opens the payload (§18.3, §18.4) and describes its
connection records as above. With --json it prints (keys sorted; a backup fixture's
expected.json is exactly this):

    {"backup_format": 1, "vault_id": HEX, "vault_format": N,
     "records": {CONNECTION_NAME: {...the same object as above...}}}

`vault_id` and `vault_format` are the payload's (authenticated), not the envelope's.

Exit status: 0 when everything read and checked; 2, with a one-line message on standard
error, for a wrong passphrase, damaged or tampered data ("damaged: ...") or a vault (or a
backup) made by a newer Token Wallet; 1 for a usage problem (a file that cannot be read, no vault in
the store, an ambiguous store, an empty passphrase).

Requires Python 3.11 and the `cryptography` and `argon2-cffi` packages.
"""

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import re
import struct
import sys
import zlib

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# The vault format versions this reader knows (§16).
KNOWN_FORMATS = (1, 2, 3)

# §7.1: the header's framing.
HEADER_MAGIC = b"TWVAULT\n"
# §9.1: a compressed index's plaintext starts with these 8 bytes.
INDEX_DEFLATE_PREFIX = b"TWIDXZ1\n"
# §9.1: the largest inflated index a reader accepts (256 MiB).
INDEX_MAX = 256 << 20
# §8.5: the associated-data layout version (not the vault format).
AAD_VERSION = 1
# §8.3: AES-256-GCM nonce and tag lengths.
NONCE_LEN, TAG_LEN = 12, 16
# §3.2: head kinds and the chunked head's fixed length.
HEAD_INLINE, HEAD_CHUNKED, CHUNKED_HEAD_LEN = 0x49, 0x43, 46  # 'I', 'C'
# §7.3: the KDF cost cap and floor.
MAX_M_KIB, MAX_T, MAX_P = 1024 * 1024, 64, 64
FLOOR_M_KIB, FLOOR_T, FLOOR_P = 64 * 1024, 3, 4
# §10.1: record names; §10.2: connection records.
RECORD_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
CONNECTION_PREFIX = "c."
# §10.2: the credential kinds.
KINDS = ("oauth", "api-key", "static-bearer", "static-basic", "static-raw")
# §10.4, §10.5: the audit log's records in the vault.
AUDIT_KEY_RECORD, AUDIT_ANCHOR_RECORD = "audit.key", "audit.anchor"
HEX64 = re.compile(r"[0-9a-f]{64}")

U32_MAX, U64_MAX = 2**32 - 1, 2**64 - 1

# §18.1: the backup file's magic, its size cap, and the backup formats this reader knows
# (§18.7: its own numbers, not the vault format's).
BACKUP_MAGIC = b"TWBACKUP\n"
BACKUP_MAX = 64 << 20
KNOWN_BACKUP_FORMATS = (1,)


class Refused(Exception):
    """Wrong passphrase, damaged data or a newer format: exit status 2."""


class Usage(Exception):
    """The reader was called wrongly or a file could not be read: exit status 1."""


def damaged(what):
    return Refused("damaged: " + what)


# ---------------------------------------------------------------------------------------
# Strict decoding helpers (§1: JSON, base64 and hex as Token Wallet writes them)
# ---------------------------------------------------------------------------------------


def _no_duplicate_keys(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _no_constants(name):
    raise ValueError(f"{name} is not JSON")


def strict_json(data, what):
    """Parses UTF-8 JSON text (§1): no duplicate keys, no NaN or Infinity."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as e:
        raise damaged(f"{what} is not valid JSON ({e})") from None


def b64decode(text, what):
    """Standard base64 with padding, canonical (§1): re-encoding gives the same text."""
    if not isinstance(text, str):
        raise damaged(f"{what} is not a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise damaged(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise damaged(f"{what} is not canonical base64")
    return raw


def is_u64(v):
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= U64_MAX


def is_u32(v):
    return is_u64(v) and v <= U32_MAX


# ---------------------------------------------------------------------------------------
# §4: the file store, and §3: the keystore adapter's heads and chunks
# ---------------------------------------------------------------------------------------


def load_store(path):
    """The file store (§4): a JSON object, service -> entry name -> base64 value."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise Usage(f"cannot read {path}: {e.strerror}") from None
    store = strict_json(data, f"the store file {path}")
    if not isinstance(store, dict) or not all(
        isinstance(s, dict) and all(isinstance(v, str) for v in s.values()) for s in store.values()
    ):
        raise damaged(f"{path} is not a Token Wallet store file (§4)")
    return store


class Entries:
    """One service's entries (§3.1), read as the keystore adapter reads them (§3.2)."""

    def __init__(self, raw_entries):
        self.raw_entries = raw_entries

    def get_raw(self, name):
        # §4: each stored value is the base64 of one raw entry (a head or a chunk).
        text = self.raw_entries.get(name)
        return None if text is None else b64decode(text, f"store entry `{name}`")

    def get(self, name):
        """The logical value named `name`, or None: its head, then any chunks (§3.2)."""
        # §3.1: logical names are 1-200 bytes without `~` (chunk names carry one).
        if not name or "~" in name or len(name.encode()) > 200:
            raise damaged(f"`{name}` is not a valid entry name")
        head = self.get_raw(name)
        if head is None:
            return None
        if len(head) == 0:
            raise damaged(f"keystore entry `{name}` has an empty head")
        if head[0] == HEAD_INLINE:
            return head[1:]
        if head[0] != HEAD_CHUNKED:
            raise damaged(f"keystore entry `{name}` has an unknown head kind")
        if len(head) != CHUNKED_HEAD_LEN:
            raise damaged(f"keystore entry `{name}`'s chunk head has the wrong length")
        slot = head[1]
        if slot not in (ord("a"), ord("b")):
            raise damaged(f"keystore entry `{name}`'s chunk head names an unknown slot")
        (count,) = struct.unpack(">I", head[2:6])
        (length,) = struct.unpack(">Q", head[6:14])
        digest = head[14:46]
        parts = []
        for i in range(count):
            part = self.get_raw(f"{name}~{chr(slot)}{i}")
            if part is None:
                raise damaged(f"keystore entry `{name}` is missing chunk {i} of {count}")
            parts.append(part)
        value = b"".join(parts)
        if len(value) != length or hashlib.sha256(value).digest() != digest:
            raise damaged(f"keystore entry `{name}`'s chunks do not add up to the value its head describes")
        return value


def pick_service(store, service):
    """§3.1: one service per profile. Use the one named, or the only one there is."""
    if service is not None:
        if service not in store:
            raise Usage(f"the store holds no service `{service}` (it holds: {', '.join(sorted(store)) or 'none'})")
        return service
    if len(store) == 1:
        return next(iter(store))
    if not store:
        raise Usage("the store file holds no service")
    raise Usage(f"the store holds several services ({', '.join(sorted(store))}); name one with --service")


# ---------------------------------------------------------------------------------------
# §7: the header
# ---------------------------------------------------------------------------------------

HEADER_FIELDS = (
    "format", "vault_id", "kdf", "kdf_below_floor", "salt", "generation", "wrapped_dek",
    "created_at", "dek_created_at", "passphrase_changed_at", "rotating_to", "cleanup",
    "transit", "refresher",
)
OPTIONAL_HEADER_FIELDS = ("rotating_to", "cleanup", "transit", "refresher")
# §7.2: a Transit key's names.
TRANSIT_MOUNT = re.compile(r"[A-Za-z0-9._/-]{1,128}")
TRANSIT_KEY = re.compile(r"[A-Za-z0-9._-]{1,128}")


def parse_header(raw):
    """Checks a stored header in the order of §7.3 and returns its fields."""
    def bad(why):
        return damaged(f"the header {why}")

    # §7.1: magic, JSON body, one newline, 64 lowercase hex digits of SHA-256(body).
    if not raw.startswith(HEADER_MAGIC):
        raise bad("is not a Token Wallet header (truncated or overwritten)")
    rest = raw[len(HEADER_MAGIC):]
    nl = rest.rfind(b"\n")
    if nl < 0:
        raise bad("is truncated")
    body, checksum = rest[:nl], rest[nl + 1:]
    if len(checksum) != 64:
        raise bad("is truncated")
    if hashlib.sha256(body).hexdigest().encode("ascii") != checksum:
        raise bad("fails its checksum")

    # §16.3: the format number first, before any other field is looked at.
    obj = strict_json(body, "the header")
    fmt = obj.get("format") if isinstance(obj, dict) else None
    if not is_u64(fmt):
        raise bad("has no format version")
    if fmt > max(KNOWN_FORMATS):
        raise Refused(
            f"made by a newer Token Wallet (format {fmt}); "
            f"this build reads formats {min(KNOWN_FORMATS)} to {max(KNOWN_FORMATS)}"
        )
    if fmt not in KNOWN_FORMATS:
        raise bad(f"has format {fmt}, which no Token Wallet wrote")

    # §7.2: exactly these fields; `rotating_to` and `cleanup` may be absent.
    unknown = set(obj) - set(HEADER_FIELDS)
    missing = set(HEADER_FIELDS) - set(OPTIONAL_HEADER_FIELDS) - set(obj)
    if unknown or missing:
        raise bad("has bad fields")
    kdf = obj["kdf"]
    if not (isinstance(kdf, dict) and set(kdf) == {"m_kib", "t", "p"} and all(is_u32(kdf[k]) for k in kdf)):
        raise bad("has bad fields")
    for k in ("generation", "created_at", "dek_created_at", "passphrase_changed_at"):
        if not is_u64(obj[k]):
            raise bad("has bad fields")
    for k in ("rotating_to", "cleanup"):
        if obj.get(k) is not None and not is_u64(obj[k]):
            raise bad("has bad fields")
    if not isinstance(obj["kdf_below_floor"], bool):
        raise bad("has bad fields")
    for k in ("vault_id", "salt", "wrapped_dek"):
        if not isinstance(obj[k], str):
            raise bad("has bad fields")

    # §7.3: the cost cap, then the floor (below it only with the test flag).
    m, t, p = kdf["m_kib"], kdf["t"], kdf["p"]
    if not (m <= MAX_M_KIB and t <= MAX_T and p <= MAX_P and t >= 1 and p >= 1 and m >= 8 * p):
        raise damaged(
            f"the header asks for Argon2id m={m} KiB, t={t}, p={p}, over the cap of "
            "1 GiB, 64 passes, 64 lanes (or below Argon2's minimum)"
        )
    meets_floor = m >= FLOOR_M_KIB and t >= FLOOR_T and p >= FLOOR_P
    if not meets_floor and not obj["kdf_below_floor"]:
        raise bad("asks for KDF parameters below the floor without recording the test setting")

    # §7.2: vault id (16 bytes, hex), salt (16 bytes, base64), wrapped data key (base64).
    if not re.fullmatch(r"[0-9a-fA-F]{32}", obj["vault_id"]):
        raise bad("has a bad vault id")
    salt = b64decode(obj["salt"], "the header's salt")
    if len(salt) != 16:
        raise bad("has a bad salt")
    wrapped = b64decode(obj["wrapped_dek"], "the header's wrapped key")
    # §7.3 step 9: `transit` only from format 3, with exactly its two names.
    transit = obj.get("transit")
    if "transit" in obj:
        if fmt < 3:
            raise bad("names a Transit key, which its format has not")
        if not (isinstance(transit, dict) and set(transit) == {"mount", "key"}
                and isinstance(transit["mount"], str) and isinstance(transit["key"], str)
                and TRANSIT_MOUNT.fullmatch(transit["mount"])
                and TRANSIT_KEY.fullmatch(transit["key"])):
            raise bad("has a bad Transit key name")
    # §7.2, §8.8: `refresher` only with `transit`.
    refresher = obj.get("refresher")
    if "refresher" in obj:
        if transit is None:
            raise bad("has a refresher key without a Transit key")
        if not (isinstance(refresher, dict) and set(refresher) == {"mount", "key", "wrapped_key"}
                and all(isinstance(refresher[k], str) for k in refresher)
                and TRANSIT_MOUNT.fullmatch(refresher["mount"])
                and TRANSIT_KEY.fullmatch(refresher["key"])):
            raise bad("has a bad Transit key name")
        b64decode(refresher["wrapped_key"], "the header's wrapped refresher key")
    return {
        "transit": transit,
        "format": fmt,
        "vault_id": bytes.fromhex(obj["vault_id"]),
        "m_kib": m, "t": t, "p": p,
        "salt": salt,
        "generation": obj["generation"],
        "wrapped_dek": wrapped,
        "rotating_to": obj.get("rotating_to"),
        "cleanup": obj.get("cleanup"),
    }


# ---------------------------------------------------------------------------------------
# §8: keys, sealed blobs and their associated data
# ---------------------------------------------------------------------------------------


def read_passphrase_file(path):
    """§8.1: the file's first line (ended by LF, or CR LF), then trailing CR/LF removed."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except OSError as e:
        raise Usage(f"cannot read passphrase file {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise Usage(f"passphrase file {path} is not UTF-8") from None
    line = text.split("\n", 1)[0]
    if line.endswith("\r"):
        line = line[:-1]
    line = line.rstrip("\r\n")
    if not line:
        raise Usage("the passphrase is empty")
    return line.encode("utf-8")


def derive_kek(passphrase, h):
    """§8.2: Argon2id v0x13 of the passphrase with the header's salt; no secret, no data."""
    try:
        return hash_secret_raw(
            secret=passphrase, salt=h["salt"], time_cost=h["t"], memory_cost=h["m_kib"],
            parallelism=h["p"], hash_len=32, type=Type.ID, version=19,
        )
    except Exception:  # argon2-cffi raises HashingError for parameters Argon2 refuses
        raise damaged("the header has KDF parameters Argon2 rejects") from None


def dek_aad(h):
    """§8.4: binds the wrapped data key to vault, generation and KDF settings."""
    return (
        b"token-wallet/dek/v" + struct.pack(">I", AAD_VERSION) + h["vault_id"]
        + struct.pack(">Q", h["generation"]) + struct.pack(">III", h["m_kib"], h["t"], h["p"])
        + h["salt"]
    )


def record_aad(vault_id, generation, entry):
    """§8.5: binds a sealed index or record to vault, generation and entry name."""
    e = entry.encode("utf-8")
    return (
        b"token-wallet/record/v" + struct.pack(">I", AAD_VERSION) + vault_id
        + struct.pack(">Q", generation) + struct.pack(">Q", len(e)) + e
    )


def open_blob(key, aad, blob):
    """§8.3: nonce (12) || ciphertext || tag (16), AES-256-GCM. None if it fails."""
    if len(blob) < NONCE_LEN + TAG_LEN:
        return None
    try:
        return AESGCM(key).decrypt(blob[:NONCE_LEN], blob[NONCE_LEN:], aad)
    except InvalidTag:
        return None


# ---------------------------------------------------------------------------------------
# §9: the index
# ---------------------------------------------------------------------------------------


def inflate_index(z, name):
    """§9.1: a raw DEFLATE stream (RFC 1951), at most 256 MiB inflated, ending the plaintext."""
    d = zlib.decompressobj(wbits=-15)
    try:
        out = d.decompress(z, INDEX_MAX + 1)
    except zlib.error:
        raise damaged(f"the index `{name}` is not a valid index (bad deflate stream)") from None
    if len(out) > INDEX_MAX:
        raise damaged(f"the index `{name}` inflates to more than 256 MiB")
    if not d.eof:
        raise damaged(f"the index `{name}` is not a valid index (truncated deflate stream)")
    if d.unused_data:
        raise damaged(f"the index `{name}` has bytes after its deflate stream")
    return out


def decode_index(plain, fmt, name):
    """§9.1: format 1 takes plain JSON or the compressed form; formats 2 and 3 only the latter."""
    if plain.startswith(INDEX_DEFLATE_PREFIX):
        encoding = "deflate"
        text = inflate_index(plain[len(INDEX_DEFLATE_PREFIX):], name)
    elif fmt == 1:
        encoding = "json"
        text = plain
    else:
        raise damaged(f"the index `{name}` lacks the compressed-index prefix its format requires")
    idx = strict_json(text, f"the index `{name}`")
    # §9.2: {"records": {NAME: {"id": ..., "created_at": ..., "summary"?: ...}}}; other
    # fields are ignored (§17: additive fields).
    records = idx.get("records") if isinstance(idx, dict) else None
    if not isinstance(records, dict):
        raise damaged(f"the index `{name}` is not a valid index")
    for rec, e in records.items():
        if not RECORD_NAME.fullmatch(rec):
            raise damaged(f"the index `{name}` names an invalid record `{rec}`")
        if not (
            isinstance(e, dict) and isinstance(e.get("id"), str) and is_u64(e.get("created_at"))
            and (e.get("summary") is None or isinstance(e["summary"], str))
        ):
            raise damaged(f"the index `{name}` has a bad entry for `{rec}`")
    return records, encoding


# ---------------------------------------------------------------------------------------
# §10: records
# ---------------------------------------------------------------------------------------


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def describe_connection(record_name, plain, summary):
    """§10.2: a connection record, described by hashes (never the secrets themselves)."""
    conn_name = record_name[len(CONNECTION_PREFIX):]
    c = strict_json(plain, f"connection `{conn_name}`")
    info = c.get("info") if isinstance(c, dict) else None
    secrets = c.get("secrets") if isinstance(c, dict) else None
    if not isinstance(info, dict) or not isinstance(secrets, dict):
        raise damaged(f"connection `{conn_name}` is not a valid connection record")
    if info.get("name") != conn_name:
        raise damaged(f"record `{record_name}` holds a connection named {info.get('name')!r}")
    kind = info.get("kind", "oauth")  # §10.2: records made before kinds existed are OAuth
    provider = info.get("provider")
    access = secrets.get("access_token")
    refresh = secrets.get("refresh_token")
    if (
        kind not in KINDS
        or not isinstance(provider, dict) or not isinstance(provider.get("name"), str)
        or not isinstance(info.get("has_refresh_token"), bool)
        or not isinstance(access, str)
        or not (refresh is None or isinstance(refresh, str))
    ):
        raise damaged(f"connection `{conn_name}` is not a valid connection record")
    # §10.3: a summary is the JSON text of the record's `info`, written in the same commit.
    if summary is not None and strict_json(summary, f"the summary of `{record_name}`") != info:
        raise damaged(f"the summary of `{record_name}` does not describe its record")
    return conn_name, {
        "kind": kind,
        "provider": provider["name"],
        "has_refresh_token": info["has_refresh_token"],
        "access_token_sha256": sha256_hex(access),
        "refresh_token_sha256": None if refresh is None else sha256_hex(refresh),
    }


def check_other_record(name, plain):
    """§10.4, §10.5: the audit log's key and anchor."""
    if name == AUDIT_KEY_RECORD and len(plain) != 32:
        raise damaged(f"record `{name}` is not a 32-byte key")
    if name == AUDIT_ANCHOR_RECORD:
        a = strict_json(plain, f"record `{name}`")
        if not (
            isinstance(a, dict) and set(a) == {"seq", "hash"} and is_u64(a["seq"])
            and isinstance(a["hash"], str) and HEX64.fullmatch(a["hash"])
        ):
            raise damaged(f"record `{name}` is not a valid anchor")


# ---------------------------------------------------------------------------------------
# §12: reading a vault, step by step
# ---------------------------------------------------------------------------------------


def read_vault(entries, passphrase):
    raw_header = entries.get("header")
    if raw_header is None:
        # §12 step 1: no header is no vault, unless other entries remain.
        if entries.raw_entries:
            raise damaged("the header is missing while other vault entries remain")
        raise Usage("no vault in this service (it has no `header` entry)")
    h = parse_header(raw_header)
    if h["transit"] is not None:
        # §8.7: only OpenBao's Transit can open this data key.
        raise Refused(
            f"the vault unlocks with OpenBao Transit key {h['transit']['mount']}/"
            f"{h['transit']['key']} (§8.7), not a passphrase; this reader does not talk to OpenBao"
        )
    kek = derive_kek(passphrase, h)
    dek = open_blob(kek, dek_aad(h), h["wrapped_dek"])
    if dek is None or len(dek) != 32:
        # §7.1: the checksum held, so a data key that will not unwrap means a wrong passphrase.
        raise Refused("wrong passphrase")

    # §9, §11: only the generation the header names is read; any other is ignored.
    g, vid = h["generation"], h["vault_id"]
    idx_name = f"idx.{g}"
    sealed = entries.get(idx_name)
    if sealed is None:
        raise damaged(f"the index `{idx_name}` is missing")
    plain = open_blob(dek, record_aad(vid, g, idx_name), sealed)
    if plain is None:
        raise damaged(f"the index `{idx_name}` fails authentication")
    records, encoding = decode_index(plain, h["format"], idx_name)

    connections, others, plains = {}, [], {}
    for name in sorted(records):
        e = records[name]
        entry = f"rec.{g}.{e['id']}"
        blob = entries.get(entry)
        if blob is None:
            raise damaged(f"record `{name}` is listed in the index but missing from the keystore")
        value = open_blob(dek, record_aad(vid, g, entry), blob)
        if value is None:
            raise damaged(f"record `{name}` fails authentication")
        plains[name] = value
        if name.startswith(CONNECTION_PREFIX):
            conn_name, facts = describe_connection(name, value, e.get("summary"))
            connections[conn_name] = facts
        else:
            check_other_record(name, value)
            others.append(name)
    result = {
        "format": h["format"],
        "vault_id": vid.hex(),
        "generation": g,
        "index_encoding": encoding,
        "records": connections,
        "other_records": others,
    }
    return result, plains


# ---------------------------------------------------------------------------------------
# §18: backup files (with --backup)
# ---------------------------------------------------------------------------------------

# §18.2: the envelope's members (a closed set), in the order they are written.
BACKUP_FIELDS = (
    "backup_format", "backup_id", "created_at", "vault_id", "vault_format", "records", "kdf",
    "kdf_below_floor", "salt", "wrapped_key", "payload",
)
# §18.4: the payload's members and those of each of its records (closed sets); a
# record's `summary` may be absent (read as null).
PAYLOAD_FIELDS = ("backup_id", "created_at", "vault_id", "vault_format", "records")
ITEM_FIELDS = ("name", "value", "summary", "created_at")


def backup_key_aad(backup_id, kdf, salt):
    """§18.3: binds the wrapped backup key to the backup's id, KDF settings and salt."""
    return (
        b"token-wallet/backup-key/v" + struct.pack(">I", AAD_VERSION) + backup_id
        + struct.pack(">III", kdf["m_kib"], kdf["t"], kdf["p"]) + salt
    )


def backup_payload_aad(backup_id):
    """§18.3: binds the sealed payload to the backup's id."""
    return b"token-wallet/backup/v" + struct.pack(">I", AAD_VERSION) + backup_id


def parse_backup_envelope(raw):
    """The checks of §18.6, steps 1 to 7, in that order: everything before the passphrase."""
    def bad(why):
        return damaged(f"the backup file {why}")

    # §18.6 step 1: the size cap, before anything is parsed.
    if len(raw) > BACKUP_MAX:
        raise bad("is larger than any backup Token Wallet writes (64 MiB)")
    # Step 2: the magic (§18.1).
    if not raw.startswith(BACKUP_MAGIC):
        raise bad("is not a Token Wallet backup")
    # Step 3: one JSON object (JSON whitespace around it allowed, §18.1), and its
    # `backup_format` first, before any other member is looked at (§18.7).
    obj = strict_json(raw[len(BACKUP_MAGIC):], "the backup file")
    fmt = obj.get("backup_format") if isinstance(obj, dict) else None
    if not is_u64(fmt):
        raise bad("is not a valid backup (it has no backup format)")
    if fmt > max(KNOWN_BACKUP_FORMATS):
        raise Refused(
            f"the backup was made by a newer Token Wallet (backup format {fmt}); "
            f"this reader reads backup format {max(KNOWN_BACKUP_FORMATS)}"
        )
    # Step 4: exactly the members of §18.2, with their types.
    if set(obj) != set(BACKUP_FIELDS):
        raise bad("is not a valid backup (bad fields)")
    kdf = obj["kdf"]
    if not (isinstance(kdf, dict) and set(kdf) == {"m_kib", "t", "p"} and all(is_u32(kdf[k]) for k in kdf)):
        raise bad("is not a valid backup (bad kdf)")
    if not all(is_u64(obj[k]) for k in ("created_at", "vault_format", "records")):
        raise bad("is not a valid backup (bad fields)")
    if not isinstance(obj["kdf_below_floor"], bool):
        raise bad("is not a valid backup (bad fields)")
    if not all(isinstance(obj[k], str) for k in ("backup_id", "vault_id", "salt", "wrapped_key", "payload")):
        raise bad("is not a valid backup (bad fields)")
    # Step 5: format 0 (or any number no Token Wallet wrote) is damage (§18.7).
    if fmt not in KNOWN_BACKUP_FORMATS:
        raise bad(f"has backup format {fmt}, which no Token Wallet writes")
    # Step 6: the KDF cost cap (as §7.3 step 6), before any Argon2 work.
    m, t, p = kdf["m_kib"], kdf["t"], kdf["p"]
    if not (m <= MAX_M_KIB and t <= MAX_T and p <= MAX_P and t >= 1 and p >= 1 and m >= 8 * p):
        raise damaged(
            f"the backup file asks for Argon2id m={m} KiB, t={t}, p={p}, over the cap of "
            "1 GiB, 64 passes, 64 lanes (or below Argon2's minimum)"
        )
    # Step 7: the floor (as §7.3 step 7), below it only with the test flag.
    if not (m >= FLOOR_M_KIB and t >= FLOOR_T and p >= FLOOR_P) and not obj["kdf_below_floor"]:
        raise bad("asks for KDF parameters below the floor without recording the test setting")
    return obj


def read_backup(raw, passphrase):
    """§18.6: reads a backup file; returns what --json prints."""
    def bad(why):
        return damaged(f"the backup file {why}")

    e = parse_backup_envelope(raw)
    kdf = e["kdf"]
    # Step 8: the id (16 bytes, hex; Token Wallet accepts either case), the salt (16
    # bytes), the wrapped key and the payload (canonical base64, §1).
    if not re.fullmatch(r"[0-9a-fA-F]{32}", e["backup_id"]):
        raise bad("has a bad backup id")
    backup_id = bytes.fromhex(e["backup_id"])
    salt = b64decode(e["salt"], "the backup's salt")
    if len(salt) != 16:
        raise bad("has a bad salt")
    wrapped = b64decode(e["wrapped_key"], "the backup's wrapped key")
    sealed = b64decode(e["payload"], "the backup's payload")
    # Step 9: the KEK (§8.2, with the backup's salt and KDF settings), then the backup key
    # (§18.3). Nothing tells a wrong passphrase from a changed id, salt, kdf or wrapped
    # key: all of them are bound into the key's associated data.
    kek = derive_kek(passphrase, {"salt": salt, **kdf})
    key = open_blob(kek, backup_key_aad(backup_id, kdf, salt), wrapped)
    if key is None or len(key) != 32:
        raise Refused("wrong passphrase")
    # Step 10: the payload (§18.3); with the right key, a payload that does not open was
    # modified or belongs to another backup.
    plain = open_blob(key, backup_payload_aad(backup_id), sealed)
    if plain is None:
        raise bad("fails authentication (it was modified)")
    # Step 11: the payload's members (§18.4), a closed set.
    pl = strict_json(plain, "the backup's payload")
    if not (
        isinstance(pl, dict) and set(pl) == set(PAYLOAD_FIELDS)
        and isinstance(pl["backup_id"], str) and is_u64(pl["created_at"])
        and isinstance(pl["vault_id"], str) and is_u64(pl["vault_format"])
        and isinstance(pl["records"], list)
    ):
        raise bad("holds a payload that is not valid")
    for item in pl["records"]:
        if not (
            isinstance(item, dict) and set(ITEM_FIELDS) - {"summary"} <= set(item) <= set(ITEM_FIELDS)
            and isinstance(item["name"], str) and isinstance(item["value"], str)
            and (item.get("summary") is None or isinstance(item["summary"], str))
            and is_u64(item["created_at"])
        ):
            raise bad("holds a payload that is not valid")
    # Step 12: the payload names the envelope's backup id, byte for byte.
    if pl["backup_id"] != e["backup_id"]:
        raise bad("holds another backup's payload")
    # Step 13: each record's name (§10.1) and value (base64 of its plaintext, §18.4).
    connections, seen = {}, set()
    for item in pl["records"]:
        name = item["name"]
        if not RECORD_NAME.fullmatch(name):
            raise bad(f"holds a record with an invalid name {name!r}")
        if name in seen:
            raise bad(f"holds record `{name}` twice")
        seen.add(name)
        value = b64decode(item["value"], f"the backup's record `{name}`")
        # §18.4: only connection records are interpreted (restore skips any other, §18.9);
        # a connection's summary is checked against its record as in §10.3.
        if name.startswith(CONNECTION_PREFIX):
            conn_name, facts = describe_connection(name, value, item.get("summary"))
            connections[conn_name] = facts
    return {
        "backup_format": e["backup_format"],
        "vault_id": pl["vault_id"],
        "vault_format": pl["vault_format"],
        "records": connections,
    }


# ---------------------------------------------------------------------------------------
# §14: the audit log, verified against the vault's key and anchor (with --audit-log)
# ---------------------------------------------------------------------------------------


def verify_audit_log(path, plains):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        data = b""
    except OSError as e:
        raise Usage(f"cannot read {path}: {e.strerror}") from None
    key = plains.get(AUDIT_KEY_RECORD)
    anchor = None
    if AUDIT_ANCHOR_RECORD in plains:
        anchor = strict_json(plains[AUDIT_ANCHOR_RECORD], "the anchor")
    prev, authenticated, n, anchor_seen = "", 0, 0, False
    for raw in (line for line in data.split(b"\n") if line):
        n += 1

        def broken(why):
            return damaged(f"audit log line {n} {why}")

        line = strict_json(raw, f"audit log line {n}")
        if not isinstance(line, dict) or not isinstance(line.get("event"), str):
            raise broken("is not a valid audit line")
        if not is_u64(line.get("seq")) or line["seq"] != n:
            raise broken(f"has sequence number {line.get('seq')} where {n} was expected")
        if line.get("prev") != prev:
            raise broken("does not follow the line before it")
        mac = line.get("mac")
        if mac is not None:
            if not isinstance(mac, str):
                raise broken("fails its MAC")
            # §14.3: the MAC covers the line as written without its final `,"mac":"..."`.
            suffix = b',"mac":"' + mac.encode() + b'"}'
            if key is None or not raw.endswith(suffix):
                raise broken("fails its MAC")
            message = raw[: -len(suffix)] + b"}"
            want = hmac.new(key, message, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(want, mac):
                raise broken("fails its MAC")
            authenticated += 1
        elif line["event"] != "unlock_failed":
            raise broken("has no MAC, but only failed unlocks are written without the vault")
        prev = hashlib.sha256(raw).hexdigest()
        if anchor is not None and anchor["seq"] == n:
            if anchor["hash"] != prev:
                raise broken("differs from the head anchored in the vault")
            anchor_seen = True
    if anchor is not None and not anchor_seen:
        raise damaged(f"the audit log ends at line {n} but the vault anchored line {anchor['seq']}")
    return {"lines": n, "authenticated": authenticated, "anchored": anchor["seq"] if anchor else None}


# ---------------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: {message}", file=sys.stderr)
        sys.exit(1)


def main(argv=None):
    ap = Parser(description="Read a Token Wallet file-store vault, independently of the Rust code.")
    ap.add_argument("store", metavar="STORE_JSON", nargs="?", help="the file store (keystore.json)")
    ap.add_argument("--backup", metavar="BACKUP_FILE", help="read this backup file (§18) instead of a vault")
    ap.add_argument("--passphrase-file", required=True, help="the passphrase on its first line")
    ap.add_argument("--service", help="the vault's service, e.g. token-wallet or token-wallet:NAME")
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--audit-log", metavar="AUDIT_JSONL", help="also verify this audit log (§14)")
    args = ap.parse_args(argv)
    if args.backup is not None:
        if args.store is not None or args.service is not None or args.audit_log is not None:
            ap.error("--backup reads a backup file only: give no STORE_JSON, --service or --audit-log")
        return run(args, read_backup_args, describe_backup)
    if args.store is None:
        ap.error("give STORE_JSON, or --backup BACKUP_FILE")
    return run(args, read_vault_args, describe_vault)


def run(args, read, describe):
    """Reads with `read(args, passphrase)` and prints the result as JSON or as the
    lines `describe(result)` gives. Exit 2 when the data is refused, 1 on a usage
    problem, else 0."""
    try:
        passphrase = read_passphrase_file(args.passphrase_file)
        result = read(args, passphrase)
    except Refused as e:
        print(e, file=sys.stderr)
        return 2
    except Usage as e:
        print(e, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        for line in describe(result):
            print(line)
    return 0


def connection_lines(result):
    for name, c in result["records"].items():
        refresh = "yes" if c["has_refresh_token"] else "no"
        yield f"connection {name}: {c['kind']}, provider {c['provider']}, refresh token {refresh}"


def read_vault_args(args, passphrase):
    store = load_store(args.store)
    service = pick_service(store, args.service)
    result, plains = read_vault(Entries(store[service]), passphrase)
    if args.audit_log:
        result["audit"] = verify_audit_log(args.audit_log, plains)
    return result


def describe_vault(result):
    yield (f"format {result['format']}, vault {result['vault_id']}, "
           f"generation {result['generation']}, index {result['index_encoding']}")
    yield from connection_lines(result)
    yield "other records: " + (", ".join(result["other_records"]) or "none")
    if "audit" in result:
        a = result["audit"]
        yield f"audit log: {a['lines']} lines, {a['authenticated']} authenticated, anchored at {a['anchored']}"


def read_backup_args(args, passphrase):
    try:
        with open(args.backup, "rb") as f:
            # §18.6 step 1: never read more than one byte past the cap.
            raw = f.read(BACKUP_MAX + 1)
    except OSError as e:
        raise Usage(f"cannot read {args.backup}: {e.strerror}") from None
    return read_backup(raw, passphrase)


def describe_backup(result):
    yield (f"backup format {result['backup_format']}, of vault {result['vault_id']} "
           f"(format {result['vault_format']}), {len(result['records'])} connections")
    yield from connection_lines(result)


if __name__ == "__main__":
    sys.exit(main())
