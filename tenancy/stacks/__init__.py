"""Stacks: the scopes a stack deploys (`all`, `platform`, `pool`, `pool/<shard>`, `tenant/<id>`, in a
cell), the stacks each environment needs per cell in deployment waves, their settings files, and the
stacks a git change touches."""
