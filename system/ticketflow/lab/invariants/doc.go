// Package invariants holds Ticketflow's own invariants, TF1–TF7, and its
// TF9 (the lab's ConnectedTraces with the submission flow). The lab adds
// the generic ones (check.Generic) and judges a run by both.
//
// Each checker reads the history through a check.View and Ticketflow's
// snapshot and submissions (package tfhistory), indexed once per
// evaluation (index.go). A missing effect is reported Lost with the ids of
// its messages: the lab's accounting calls it stuck when the broker still
// holds one of them.
package invariants
