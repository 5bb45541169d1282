"""A per-run certificate authority and a server certificate for 127.0.0.1, made with
the ``openssl`` command line (the simulator stays standard-library only).

The CA and server keys are P-256 EC keys written to a private temporary directory
that is removed as soon as the server certificate is loaded; only the CA
certificate (PEM) outlives the call.
"""

import os
import shutil
import ssl
import subprocess
import tempfile

SERVER_NAMES = ["IP:127.0.0.1", "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default",
                "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"]


class CaError(RuntimeError):
    pass


def _run(args, cwd):
    try:
        p = subprocess.run(["openssl"] + args, cwd=cwd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CaError("openssl: %s" % e)
    if p.returncode != 0:
        raise CaError("openssl %s: %s" % (args[0], (p.stderr or p.stdout).strip()[-300:]))


def server_context():
    """(ssl.SSLContext serving a certificate for 127.0.0.1 / localhost, CA certificate PEM)."""
    d = tempfile.mkdtemp(prefix="ekssim-ca-")
    try:
        os.chmod(d, 0o700)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        _run(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
                                      "-subj", "/CN=ekssim per-run Kubernetes CA",
                                      "-addext", "basicConstraints=critical,CA:TRUE",
                                      "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"], d)
        _run(["req", "-new"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver"], d)
        with open(os.path.join(d, "server.ext"), "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\nsubjectAltName=%s\n" % ",".join(SERVER_NAMES))
        _run(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial",
              "0x%s" % os.urandom(8).hex(), "-days", "30", "-extfile", "server.ext", "-out", "server.crt"], d)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
        with open(os.path.join(d, "ca.crt"), "r", encoding="ascii") as f:
            ca_pem = f.read()
        return ctx, ca_pem
    except (OSError, ssl.SSLError) as e:
        raise CaError(str(e))
    finally:
        shutil.rmtree(d, ignore_errors=True)
