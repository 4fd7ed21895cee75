"""TLS: verified by default, a private CA with --ca-bundle (or AWS_CA_BUNDLE), and
--no-verify-ssl only when asked. moto serves HTTPS with a certificate this test makes."""
import os
import shutil
import subprocess
import tempfile
import unittest

from support import SERVER, S3Server, riptide, tree


def make_ca_and_server_cert(d):
    """A CA and a certificate for 127.0.0.1 it signed; returns (ca, cert, key) paths."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    ca_key, ca, key, csr, cert = (os.path.join(d, n) for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem"))
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/CN=riptide test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName = IP:127.0.0.1\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
        "-extfile", ext)
    return ca, cert, key


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if SERVER != "moto":
            raise unittest.SkipTest("moto serves HTTPS with a given certificate; s3rver is covered over HTTP")
        cls.certs = tempfile.mkdtemp(prefix="riptide-tls-")
        cls.ca, cert, key = make_ca_and_server_cert(cls.certs)
        cls.server = S3Server("moto", tls=(cert, key))
        s3 = cls.server.client(verify=cls.ca)
        s3.create_bucket(Bucket="tls")
        s3.put_object(Bucket="tls", Key="t/secure.txt", Body=b"over TLS")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def setUp(self):
        self.dataset = tempfile.mkdtemp(prefix="riptide-tls-ds-") + "/ds"

    def sync(self, *extra, env=None):
        return riptide("sync", "s3://tls/t", self.dataset, "--endpoint", self.server.endpoint, "--retries", "0",
                       *extra, server=self.server, env=env)

    def test_unknown_ca_is_refused_by_default(self):
        p = self.sync()
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("certificate", p.stderr.lower())
        self.assertFalse(os.path.exists(os.path.join(self.dataset, "secure.txt")))

    def test_ca_bundle_flag_and_environment(self):
        p = self.sync("--ca-bundle", self.ca)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"secure.txt": b"over TLS"})
        shutil.rmtree(self.dataset)
        p = self.sync(env={"AWS_CA_BUNDLE": self.ca})
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_no_verify_ssl_only_when_asked(self):
        p = self.sync("--no-verify-ssl")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"secure.txt": b"over TLS"})
        # Said once, on the terminal and in the log.
        self.assertEqual(p.stderr.count("TLS certificates are not verified"), 1, p.stderr)
        shutil.rmtree(self.dataset)
        p = self.sync(env={"AWS_CA_BUNDLE": self.ca})
        self.assertNotIn("not verified", p.stderr)


if __name__ == "__main__":
    unittest.main()
