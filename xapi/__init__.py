"""The xAPI side: statements, LRS client, evidence rules, sync and outbox."""
