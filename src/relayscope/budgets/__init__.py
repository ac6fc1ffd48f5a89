"""Spend control: teams, and budgets at the org, team, user and key levels."""
