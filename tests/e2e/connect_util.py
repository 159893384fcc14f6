"""Helpers for the mesh's end-to-end tests: PEM files and openssl(1) checks."""
import os
import re
import subprocess


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def openssl(*args):
    return subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=30)


def verify(ca_file, leaf, untrusted=None):
    """openssl verify; returns (ok, output)."""
    args = ["verify", "-CAfile", ca_file]
    if untrusted:
        args += ["-untrusted", untrusted]
    r = openssl(*(args + [leaf]))
    return r.returncode == 0 and r.stdout.strip().endswith(": OK"), r.stdout + r.stderr


def x509_text(cert):
    r = openssl("x509", "-in", cert, "-noout", "-text")
    assert r.returncode == 0, r.stderr
    return r.stdout


def extension(text, name):
    """The lines of one extension in `openssl x509 -text`: (header, value)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(name):
            return line.strip(), lines[i + 1].strip()
    return None, None


def san_entries(text):
    _, value = extension(text, "X509v3 Subject Alternative Name")
    return [e.strip() for e in value.split(",")] if value else []


def same_public_key(cert, key):
    a = openssl("x509", "-in", cert, "-noout", "-pubkey")
    b = openssl("pkey", "-in", key, "-pubout")
    return a.returncode == 0 and a.stdout == b.stdout


def validity_seconds(cert):
    """(notBefore, notAfter) as unix seconds, parsed by openssl itself."""
    r = openssl("x509", "-in", cert, "-noout", "-startdate", "-enddate", "-dateopt", "iso_8601")
    assert r.returncode == 0, r.stderr
    import datetime
    out = {}
    for line in r.stdout.splitlines():
        k, v = line.split("=", 1)
        out[k] = datetime.datetime.strptime(v.strip(), "%Y-%m-%d %H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    return out["notBefore"], out["notAfter"]


def pem_certs(text):
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", text, re.S)
