"""Offline stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test bootstraps pip in each sanity virtualenv with a get-pip script fetched from a
host that is not reachable from every machine. This script does the same job with the
standard library's ensurepip and then installs the requested packages from the configured
package index. tests/run.py puts it where ansible-test looks for its cached copy.
"""

import subprocess
import sys


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    # get-pip understands --no-setuptools/--no-wheel; plain pip does not.
    args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
