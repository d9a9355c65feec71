"""Adapters to the database: PostgreSQL (psycopg) and Supabase (supabase-py), behind one protocol."""
