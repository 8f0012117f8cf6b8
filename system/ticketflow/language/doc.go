// Package language detects the language of inquiry text and names languages
// with the codes the original system used.
//
// # Design
//
// Detection uses github.com/abadojack/whatlanggo (trigram profiles, offline,
// deterministic) restricted to a whitelist of languages a service desk
// expects. Restricting the candidates is what makes short texts work: "Die
// Rechnung ist falsch" or "Faktura za marzec jest błędna" are ambiguous among
// eighty languages but not among ten.
//
//	text ──▶ whatlanggo (whitelist) ──▶ Lang ──▶ ISO 639-1 code ("pl", "de", ...)
//	                                   └ none ─▶ Fallback ("en"), Reliable=false
//
// Codes are lowercase ISO 639-1, which is what the original's OpenAI detector
// was asked to answer (spec §2.1, §12.2); only "en" counts as English.
//
// # Differences from the original
//
// The original, with OpenAI off (its default), used a no-op detector that
// always answered "en" (lesson branches: always "pl"), so translation never
// ran. This detector really detects, offline, so the translation branch of
// the flow is exercised by every non-English inquiry.
//
// # Best practices
//
//   - Detect on title and description together: more text, better answer.
//   - Use Result.Code as is: it is the best candidate even when Reliable is
//     false (whatlanggo's confidence is relative and low for short texts in
//     close languages). Reliable is for logs and spans.
//   - Add languages to Config.Languages rather than dropping the whitelist;
//     an open candidate list makes short texts flip to unrelated languages.
package language
