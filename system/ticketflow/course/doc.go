// Package course names Ticketflow's variants: the toggles that switch one
// behaviour of the original course system back on, and the profiles that
// group them (`tflab up --profile course`, `profile:` in a scenario file).
//
// # Design
//
// A toggle is data (service.Toggle): protections it switches off and
// settings it gives every service. The services read the settings
// themselves (sla.SettingReminders, ...), so a toggle reaches a service the
// same way --unprotect and --set do, and nothing here runs at service time.
//
//	profile "fixed"   no toggle: every protection on, every quirk fixed
//	profile "course"  the course's master branch (spec §0, §7.4, §12.6):
//	                  no-confirms no-outbox no-dedup no-ordering no-idempotency
//	                  requeue-forever reminders-at-once blocking-ignored
//	                  deadline-met-original
//
// A lesson switches one toggle at a time: "fixed,reminders-at-once". The
// lesson variants of spec §6.3, §6.4 and §7.4 are toggles too, none of them
// in a profile: translation-v1, sla-topic-per-type, sla-partitioned,
// sla-no-single-active-consumer, listen-to-yourself, publish-fault-on-failure.
//
// # Best practices
//
//   - Adding a toggle is one entry in Variants plus the setting its service
//     reads; a test resolves every toggle and profile.
//   - Name a toggle after what the learner sees, not after the setting.
package course
