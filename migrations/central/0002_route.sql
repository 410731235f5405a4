-- Driver routes ask when each machine was last restocked: stock events are
-- few among a site's raw events, so a partial index keeps that lookup small
-- without slowing the insert of every other event.
CREATE INDEX raw_events_stock ON raw_events(site, event_time) WHERE kind = 'stock';
