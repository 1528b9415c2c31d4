"""What server/ and sync/ share: the error catalogue, area scope, the personal-data policy, sealing, geometry."""
