"""Database adapters: PostgreSQL (psycopg) and Supabase (supabase-py), behind one protocol."""
