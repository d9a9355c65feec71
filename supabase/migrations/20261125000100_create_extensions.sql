-- Trigram search for the business and log searches; in schema extensions, never public.
create extension if not exists pg_trgm with schema extensions;
