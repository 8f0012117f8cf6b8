// Package lab is Ticketflow's plug-in side of the chaos lab: what the
// runner asks of a system through scenarios/sut.System. It drives the
// workload (package workload) from a scenario's decoded block, runs the
// end-to-end probe (one inquiry until its ticket is ready), turns the
// workload's submissions and desk commands into the lab's generic records,
// and sizes a run in Ticketflow's words (Counts).
//
// Services never import this package: it speaks the scenario packages'
// types (internal/importrules).
package lab
