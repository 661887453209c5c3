"""Stacks: the scopes a stack deploys (`all`, `platform`, `pool`, `tenant/<id>`), the stacks each
environment needs in deployment order, their settings files, and the stacks a git change touches."""
