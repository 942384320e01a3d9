"""Entry point used by ``run.py --profile``: run the rulekit CLI in this process.

``python -m cProfile -o FILE benchmarks/rulekit_entry.py plan -f Rulesfile`` profiles
rulekit's own code without depending on a ``__main__`` guard in ``rulekit.ui.cli``.
"""

import sys

from rulekit.ui.cli import main

if __name__ == "__main__":
    sys.argv[0] = "rulekit"
    sys.exit(main())
