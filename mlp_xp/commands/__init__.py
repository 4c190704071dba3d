"""One module per ``mlp-xp`` subcommand; each defines ``register(subparsers)``."""
