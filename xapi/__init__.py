"""xAPI side of Pathwise: statements, LRS client, evidence rules, sync and outbox."""
