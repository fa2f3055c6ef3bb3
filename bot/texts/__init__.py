"""Every text a person reads, one module per audience, in plain Swedish (klarspråk)."""
