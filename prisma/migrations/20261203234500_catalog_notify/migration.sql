-- The master keeps each server's image catalog (its Image rows, and the clients using each ref) in memory for the hot
-- path of GET /servers/{id}/images. These triggers tell it, by NOTIFY on the channel "alfa_catalog", which server's
-- catalog changed, whoever wrote the change; "*" after a TRUNCATE. Prisma's schema knows nothing of triggers, so the
-- schema diff is unaffected (db/notifications.ts, images/catalog-cache.ts).
CREATE FUNCTION alfa_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('alfa_catalog', '*');
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    PERFORM pg_notify('alfa_catalog', OLD."serverId"::text);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM pg_notify('alfa_catalog', NEW."serverId"::text);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "Image_catalog_changed" AFTER INSERT OR UPDATE OR DELETE ON "Image"
  FOR EACH ROW EXECUTE FUNCTION alfa_catalog_changed();
CREATE TRIGGER "Image_catalog_truncated" AFTER TRUNCATE ON "Image"
  FOR EACH STATEMENT EXECUTE FUNCTION alfa_catalog_changed();

-- Only the columns the catalog reads: a client's status ticks, settings and metrics stay silent.
CREATE TRIGGER "Client_catalog_changed" AFTER INSERT OR DELETE OR UPDATE OF "serverId", image, status, "deletedAt", slug
  ON "Client" FOR EACH ROW EXECUTE FUNCTION alfa_catalog_changed();
CREATE TRIGGER "Client_catalog_truncated" AFTER TRUNCATE ON "Client"
  FOR EACH STATEMENT EXECUTE FUNCTION alfa_catalog_changed();
