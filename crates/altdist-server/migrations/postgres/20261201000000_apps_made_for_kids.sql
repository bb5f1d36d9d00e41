-- Apple's App resource always carries isOrEverWasMadeForKids, and clients model it as required
-- (Microsoft's asconnect fails to read an app without it).
ALTER TABLE apps ADD COLUMN made_for_kids BOOLEAN NOT NULL DEFAULT FALSE;
