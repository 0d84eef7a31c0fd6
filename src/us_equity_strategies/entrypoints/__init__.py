"""Profile entrypoints: one module per profile, each exposing Parameters and a pure evaluate."""
