// Package images is the one list of pinned container images (versions.txt):
// the RabbitMQ and Jaeger images that docker-compose.yml and the
// testcontainers provider run, and the Dockerfile's build and runtime bases.
//
// # Design
//
//	versions.txt ──go:embed──► images.Pinned() ──► broker.Container (RabbitMQ image)
//	     ▲                                     └─► compose_test.go checks docker-compose.yml
//	     └── the only place a tag changes            and Dockerfile use only these
//
// # Best practices
//
//   - Change a tag here, then in docker-compose.yml and the Dockerfile; the
//     package's test fails until all three agree.
//   - Pin a full tag (3.10-management, 1.75.0), never "latest".
package images
