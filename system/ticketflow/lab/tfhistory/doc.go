// Package tfhistory is Ticketflow's part of a run's history: the rows of
// its snapshot (inquiries, tickets, SLA records, Communication's messages
// and alerts, stored as history.Snapshot.System) and its workload's
// submissions and desk commands, kept in the history as generic records
// (Records, Submissions, Commands convert).
//
// It imports only scenarios/history, so the lab's tests and synthetic
// histories can use it.
package tfhistory
