// Package freeport hands out TCP ports on 127.0.0.1 for servers that a child
// process will bind later (a service's HTTP port, a RabbitMQ node's ports).
//
// The usual trick, listen on port 0 and close, races: between the close
// and the child's bind, the kernel may give the same port to any outgoing
// connection of the machine as its local port, because port 0 draws from
// the ephemeral range that connect() uses too. Labs make hundreds of
// outgoing connections (AMQP clients, HTTP probes), and a suite runs
// several labs at once, so a service occasionally failed with "address
// already in use" while the lab's health check reached whoever held the
// port.
//
// Ports here come from below the ephemeral range (ip_local_port_range),
// where connect() never looks, above the lab's fixed ports (21xxx), and
// never twice in one process. Each is checked free by binding it. Two
// processes can still pick the same port in the same instant; the chance is
// about one in ten thousand per pair of picks, against a near certainty of
// collisions within the ephemeral range under load.
package freeport
