"""Throwaway certificates for the end-to-end tests, made at test time.

Pki: CAs and leaves with the `openssl` command (P-256, valid for a day), in
<root>/pki. DatedPki: a CA and leaves with python3-cryptography, for the
validity periods `openssl x509 -req` cannot set (a leaf that has expired)."""
import datetime
import os
import subprocess
import time

from connect_util import write

# The names of a server certificate as Consul's `tls cert create -server` makes.
SERVER_SAN = "DNS:server.dc1.cairn,DNS:server.dc1.consul,IP:127.0.0.1"

_EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")


def openssl(*args):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), r.stderr))


class Pki:
    """CAs and certificates signed by them, named by file stem: make_ca("ca")
    writes ca.pem and ca.key, leaf("ca", "web", ...) web.crt and web.key."""

    def __init__(self, root):
        self.dir = os.path.join(root, "pki")
        os.makedirs(self.dir)
        self.serial = int(time.time())

    def path(self, name):
        return os.path.join(self.dir, name)

    def make_ca(self, name):
        """A root CA (keyCertSign, cRLSign); returns its certificate's path."""
        openssl("req", "-x509", *_EC, "-keyout", self.path(name + ".key"),
                "-out", self.path(name + ".pem"), "-days", "1", "-subj", "/CN=" + name,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return self.path(name + ".pem")

    def leaf(self, ca, name, san, cn=None):
        """A leaf of CA `ca` for both serverAuth and clientAuth, with the
        subjectAltName `san` (openssl syntax) and CN `cn` (default: `name`);
        returns (certificate, key) paths."""
        self.serial += 1
        key, csr, crt, ext = (self.path(name + s) for s in (".key", ".csr", ".crt", ".ext"))
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n"
                    "subjectAltName=%s\n" % san)
        openssl("req", *_EC, "-keyout", key, "-out", csr, "-subj", "/CN=" + (cn or name))
        openssl("x509", "-req", "-in", csr, "-CA", self.path(ca + ".pem"), "-CAkey",
                self.path(ca + ".key"), "-set_serial", str(self.serial), "-days", "1",
                "-extfile", ext, "-out", crt)
        return crt, key

    def issue(self, ca, name):
        """A certificate as Consul's `tls cert create -server` makes: serverAuth
        and clientAuth, named server.dc1.cairn (and server.dc1.consul)."""
        return self.leaf(ca, name, SERVER_SAN)

    def self_signed(self, name, cn, san):
        """A self-signed certificate (no CA) for CN `cn` and subjectAltName
        `san`; returns (certificate, key) paths."""
        crt, key = self.path(name + ".crt"), self.path(name + ".key")
        openssl("req", "-x509", *_EC, "-keyout", key, "-out", crt, "-days", "1",
                "-subj", "/CN=" + cn, "-addext", "subjectAltName=" + san)
        return crt, key


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class DatedPki:
    """A P-256 CA named "test ca", valid from 10 days ago to 10 days ahead,
    whose certificate carries the URI SAN `ca_uri`; its certificate is
    written to <directory>/<ca_name>.pem (`self.ca_file`)."""

    def __init__(self, directory, ca_name, ca_uri):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.dir = directory
        now, day = utc_now(), datetime.timedelta(days=1)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test ca")])
        ca = (x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
              .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - 10 * day).not_valid_after(now + 10 * day)
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                           False), critical=True)
              .add_extension(x509.SubjectAlternativeName(
                  [x509.UniformResourceIdentifier(ca_uri)]), critical=False)
              .sign(self.key, hashes.SHA256()))
        self.ca_file = self._write(ca_name + ".pem", self._pem_cert(ca))

    def _write(self, name, text):
        return write(os.path.join(self.dir, name), text)

    @staticmethod
    def _pem_cert(cert):
        from cryptography.hazmat.primitives import serialization
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    def leaf(self, name, cn, uri, before, after):
        """A leaf (digitalSignature; serverAuth and clientAuth) for CN `cn`
        with the URI SAN `uri`, valid from `before` to `after` (naive UTC);
        returns the paths of <name>.crt and <name>.key."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
                .issuer_name(self.name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(before).not_valid_after(after)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                             False, False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                      ExtendedKeyUsageOID.CLIENT_AUTH]),
                               critical=False)
                .add_extension(x509.SubjectAlternativeName(
                    [x509.UniformResourceIdentifier(uri)]), critical=False)
                .sign(self.key, hashes.SHA256()))
        pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        return (self._write(name + ".crt", self._pem_cert(cert)),
                self._write(name + ".key", pem_key))
