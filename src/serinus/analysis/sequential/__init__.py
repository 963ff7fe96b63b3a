"""Sequential, anytime-valid judges that compare the canary with the primary (placeholder)."""
