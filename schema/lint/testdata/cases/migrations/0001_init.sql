-- Migrations run by a tool whose sessions use search_path = app, public.
SET search_path = app, public;

CREATE SCHEMA IF NOT EXISTS app;

-- Created in app (the first schema of the path).
CREATE FUNCTION slugify(t text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT lower(regexp_replace(t, '[^a-z0-9]+', '-', 'gi')) $$;

-- The script's search_path does not help: the apply worker calls this with
-- an empty one. slugify() is app.slugify on the source.
CREATE FUNCTION valid_slug(t text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN t = slugify(t);
END
$$;

CREATE TABLE articles (
    id serial PRIMARY KEY,
    slug text NOT NULL CHECK (valid_slug(slug))
);
