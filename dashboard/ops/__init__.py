"""Operations: the doctor (schema checks), the "why" explainer, and terminal views.

Everything here reads the catalog and the tables as the owner (an admin tool), through
psycopg straight to the database URL; pages use the same functions from a thread.
"""
