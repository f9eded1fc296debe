"""The auditors' inventory: every declared cookie and storage key in force at an instant."""
