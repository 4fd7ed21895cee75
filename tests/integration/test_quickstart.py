"""The README's first command: scripts/quickstart.sh runs the demo against its own
s3rver, exits 0 when it worked, and leaves nothing behind in TMPDIR."""
import os
import shutil
import subprocess
import tempfile
import unittest

from support import ROOT


class QuickstartTest(unittest.TestCase):
    def test_demo_mirrors_moves_only_changes_and_cleans_up(self):
        work = tempfile.mkdtemp(prefix="riptide-quickstart-")
        private_tmp = os.path.join(work, "tmp")
        os.makedirs(private_tmp)
        try:
            env = dict(os.environ, TMPDIR=private_tmp, DATASET_DIR=os.path.join(work, "dataset"))
            p = subprocess.run([os.path.join(ROOT, "scripts", "quickstart.sh")], env=env, capture_output=True,
                               text=True, timeout=600)
            self.assertEqual(p.returncode, 0, p.stdout[-2000:] + p.stderr[-2000:])
            self.assertIn("transferred 386", p.stdout)
            self.assertIn("transferred 2, skipped 384", p.stdout)
            self.assertIn("1 deleted", p.stdout)
            self.assertIn("0 missing, 0 changed, 0 extra", p.stdout)
            self.assertEqual(os.listdir(private_tmp), [], "the demo left files in TMPDIR")
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
