"""MailSetu Governance: the app, its settings, database, CLI, enforcement and retention."""
