SET search_path = app, public;

-- Pinning by ALTER FUNCTION later in the history counts.
ALTER FUNCTION valid_slug(text) SET search_path FROM CURRENT;

-- A replaced body is linted, not the old one.
CREATE OR REPLACE FUNCTION slugify(t text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT lower(trim(both '-' from regexp_replace(t, '[^a-z0-9]+', '-', 'gi'))) $$;

-- ALTER FUNCTION ... RESET undoes a pin.
CREATE FUNCTION title_case(t text) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog
    AS $$ SELECT initcap(t) $$;
ALTER FUNCTION title_case(text) RESET search_path;

CREATE FUNCTION app.headline(a app.articles) RETURNS text
    LANGUAGE sql STABLE AS $$ SELECT title_case(a.slug) $$;
CREATE INDEX articles_headline ON articles (lower(slug)) WHERE slug <> '';
