#!/usr/bin/env python3
"""Send SJX1 export records to securejeebsd, as a production sshd would.

A second, independent implementation of docs/export-format.md (sections 3,
4, 7 and 8) for tests/unit/daemon.sh: it seals key records with python3
cryptography, sends them over one TCP connection and prints, per record, the
SJA1 acknowledgement ("ack STATUS CONN_ID COUNTER") and, for key records, the
"failover-keys ..." line the daemon logs with -d (from the same keys).

usage: sjx1-send.py HOST PORT RECOVERY_PUB SIGNING_KEY SENDER CONN_ID SPEC...
  SPEC: COUNTER (a key record, login on counter 0) or COUNTER:end (end notice)
"""
import hashlib
import os
import socket
import struct
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LABEL = b"SecureJeebs SJX1 record v1"


def string(b):
    return struct.pack(">I", len(b)) + b


def raw(key):
    return key.public_bytes(serialization.Encoding.Raw,
                            serialization.PublicFormat.Raw)


def seal(sender, conn_id, counter, payload, rcpt, signer, t):
    n = len(sender)
    total = 150 + n + len(payload)
    hdr = (b"SJX1" + struct.pack(">BBI", 1, 0, total) + string(sender) +
           struct.pack(">QQQ", conn_id, counter, t))
    eph = x25519.X25519PrivateKey.generate()
    epub = raw(eph.public_key())
    rpub = raw(rcpt)
    okm = HKDF(algorithm=hashes.SHA256(), length=44, salt=epub + rpub,
               info=LABEL + hdr).derive(eph.exchange(rcpt))
    ct = ChaCha20Poly1305(okm[:32]).encrypt(okm[32:], payload, hdr)
    body = hdr + epub + ct
    rec = body + signer.sign(body)
    assert len(rec) == total
    return rec


def fp(b):
    return hashlib.sha256(b).hexdigest()[:16]


def keyrec(conn_id, counter, closed):
    """A payload v1 key record, and the failover-keys line for it."""
    flags = 2 if closed else (1 if counter == 0 else 0)
    p = struct.pack(">BBQQIB", 1, flags, conn_id, counter, counter, 4)
    p += socket.inet_aton("198.18.0.3") + struct.pack(">H", 50022)
    p += socket.inet_aton("198.18.0.2") + struct.pack(">H", 22)
    if closed:
        return p, None
    sid = hashlib.sha256(b"session %x" % conn_id).digest()
    p += string(sid) + string(b"curve25519-sha256") + string(b"ssh-ed25519")
    dirs = []
    for name, cipher, mac in (("c2s", b"aes128-ctr", b"hmac-sha2-256"),
                              ("s2c", b"chacha20-poly1305@openssh.com",
                               b"")):
        key = os.urandom(16 if cipher == b"aes128-ctr" else 64)
        iv = os.urandom(16) if cipher == b"aes128-ctr" else b""
        mkey = os.urandom(32) if mac else b""
        seq = 3 + counter if name == "c2s" else 5 + counter
        p += (string(cipher) + string(mac) + string(b"none") + string(key) +
              string(iv) + string(mkey) + struct.pack(">IB", seq, 1))
        dirs.append("%s=%s/%s/%s/%u" % (name, fp(key), fp(iv), fp(mkey), seq))
    if flags & 1:
        p += string(b"sjuser") + string(b"publickey") + string(b"")
    line = "failover-keys conn=%016x kex=%u sid=%s %s %s strict=1" % (
        conn_id, counter, fp(sid), dirs[0], dirs[1])
    return p, line


def main():
    if len(sys.argv) < 8:
        sys.exit(__doc__)
    host, port = sys.argv[1], int(sys.argv[2])
    with open(sys.argv[3], "rb") as f:
        rcpt = serialization.load_pem_public_key(f.read())
    with open(sys.argv[4], "rb") as f:
        signer = serialization.load_pem_private_key(f.read(), None)
    assert isinstance(rcpt, x25519.X25519PublicKey)
    assert isinstance(signer, ed25519.Ed25519PrivateKey)
    sender = sys.argv[5].encode()
    conn_id = int(sys.argv[6], 16)
    s = socket.create_connection((host, port), timeout=5)
    for spec in sys.argv[7:]:
        counter, _, kind = spec.partition(":")
        payload, line = keyrec(conn_id, int(counter), kind == "end")
        s.sendall(seal(sender, conn_id, int(counter), payload, rcpt, signer,
                       int(time.time())))
        ack = b""
        while len(ack) < 24:
            got = s.recv(24 - len(ack))
            if not got:
                sys.exit("connection closed before the ack")
            ack += got
        magic, status, cid, ctr = struct.unpack(">4sB3xQQ", ack)
        assert magic == b"SJA1", ack
        print("ack %u %016x %u" % (status, cid, ctr))
        if line:
            print(line)
    s.close()


if __name__ == "__main__":
    main()
