"""What the behave steps build on: one Scenario world per scenario, the three clients, cleanup by ID."""
