"""Authorization: Casbin role policy, permission sets, scopes as SQL, masquerade rules."""
