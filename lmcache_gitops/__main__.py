"""`python -m lmcache_gitops`: the command line."""

from .cli import main

raise SystemExit(main())
