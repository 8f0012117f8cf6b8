// Package e2e holds the end-to-end tests of the ticketsale system: every
// service (auth, tickets, orders, expiration, payments and the fake
// gateway) in one test process on one private broker, driven through the
// course's HTTP routes only.
package e2e
