"""The only code that touches the disk: input files and globs, the tree's atomic writes, init."""
