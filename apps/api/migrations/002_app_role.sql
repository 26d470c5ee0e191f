-- What the API may do, as a role of its own: read and add guestbook messages, nothing else (no DDL,
-- no UPDATE/DELETE, owns nothing). The API's login user is made a member by the migrate job
-- (provisionAppUser, from configuration); the owner that runs migrations keeps every other right.
-- Creating it needs CREATEROLE, as RDS's master user and the local owner have. A later migration
-- that adds a table grants tier_app what the API's queries on it need.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tier_app') THEN
    CREATE ROLE tier_app NOLOGIN;
  END IF;
  -- Temporary tables are DDL too; PUBLIC has TEMPORARY on a new database by default.
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO tier_app', current_database());
END
$$;

-- PostgreSQL before 15 lets PUBLIC create in schema public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tier_app;
-- INSERT ... ON CONFLICT DO NOTHING RETURNING needs INSERT and SELECT, not UPDATE.
GRANT SELECT, INSERT ON messages TO tier_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO tier_app;
