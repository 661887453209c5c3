"""Pulumi ComponentResources, one concern per module; `tenant` and `platform` compose the rest."""
