-- reminders_at: the active time every reminder of the record is due when the
-- course's reminders-at-once quirk is on ('' = the 25 %/50 %/final schedule).
ALTER TABLE sla_records ADD COLUMN reminders_at TEXT NOT NULL DEFAULT '';
