"""``python -m rl_planners``: the ``rl-planners`` command line."""

from rl_planners.interface.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
