"""``python -m mmemo``: the same as the ``mmemo`` command (used by ``torchrun -m mmemo``)."""

from mmemo.cli.main import main

main()
