"""Forms, one module per URL section (uploads, grid, history); shared fields in ``fields``."""
