"""Owner emails: validation, the manual edit on the business page, and the CSV import."""
