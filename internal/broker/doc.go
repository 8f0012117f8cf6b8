// Package broker gives the lab one way to get a RabbitMQ, whichever kind:
// a private node (or cluster) started from the local rabbitmq-server, an
// external broker given by URL, or a testcontainers-go container where a
// Docker engine answers.
//
// # Design
//
//	Provider.Start(ctx, dir) ──► Broker{Nodes(), Stop(ctx)}
//	  Private    internal/rabbitnode: one node, or N nodes joined into a cluster;
//	             the VM is our child (Pdeathsig), data and logs under dir
//	  External   --amqp-url: checked with one AMQP handshake, never stopped
//	  Container  testcontainers-go modules/rabbitmq, one node or Nodes nodes on a
//	             network of their own joined with rabbitmqctl (image pinned in
//	             internal/images); refused with ErrNoDocker
//	             ("no Docker engine: …") when no engine answers
//
// Nodes lists every node's endpoints (the first is the primary); the lab puts
// each service instance's proxy chain in front of one of them and, on a
// cluster, a proxy to every other node.
//
// Queue types (QueueTypes): classic, mirrored (classic queues plus an
// ha-mode all, ha-sync-mode automatic policy that Private sets on the default
// vhost with rabbitmqctl once its nodes run; 3.10 still supports it) and
// quorum (declared by the services themselves: DeclaredType). Private's
// PartitionHandling becomes every node's cluster_partition_handling.
//
// Errors a user can fix in the environment wrap rabbitnode.ErrNotInstalled,
// ErrNoDocker or ErrUnreachable; cmd maps them to exit code 3.
//
// # Best practices
//
//   - Prefer the private node: it boots in about 4.5 s, dies with tflab, and
//     supports broker faults through rabbitmqctl (PrivateBroker.RabbitNodes).
//   - A container outlives a SIGKILLed tflab until testcontainers' reaper
//     (Ryuk) notices; only the private node dies with the process.
//   - Never stop an external broker; the lab only borrows it.
package broker
