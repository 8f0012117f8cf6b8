package labtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/rabbitnode"
)

var (
	nodeOnce sync.Once
	node     *rabbitnode.Node
	nodeErr  error
	nodeDir  string
)

// Broker describes the broker a test talks to.
type Broker struct {
	AMQPURL       string
	ManagementURL string
	// Node is the private node, nil for an external broker.
	Node *rabbitnode.Node
}

// SharedBroker returns the test binary's broker, starting a private node on
// first use. It fails the test (never skips) when no broker can be had.
func SharedBroker(t testing.TB) Broker {
	t.Helper()
	if url := os.Getenv("LAB_AMQP_URL"); url != "" {
		return Broker{AMQPURL: url, ManagementURL: os.Getenv("LAB_MANAGEMENT_URL")}
	}
	nodeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tflab-test-node-")
		if err != nil {
			nodeErr = err
			return
		}
		nodeDir = dir
		ctx, cancel := context.WithTimeout(context.Background(), rabbitnode.DefaultStartTimeout+time.Minute)
		defer cancel()
		node, nodeErr = rabbitnode.Start(ctx, rabbitnode.Config{
			Name:       fmt.Sprintf("tflabtest%d", os.Getpid()),
			Dir:        dir,
			Management: true,
			Disposable: true,
		})
	})
	if nodeErr != nil {
		t.Fatalf("no RabbitMQ for integration tests: %v\nfix: install rabbitmq-server (apt-get install -y rabbitmq-server) or set LAB_AMQP_URL to a broker", nodeErr)
	}
	return Broker{AMQPURL: node.AMQPURL(), ManagementURL: node.ManagementURL(), Node: node}
}

// AMQPURL is shorthand for SharedBroker(t).AMQPURL.
func AMQPURL(t testing.TB) string {
	t.Helper()
	return SharedBroker(t).AMQPURL
}

// PrivateNode returns the private node, skipping the test when an external
// broker was chosen (node-level faults need our own node).
func PrivateNode(t testing.TB) *rabbitnode.Node {
	t.Helper()
	b := SharedBroker(t)
	if b.Node == nil {
		t.Skip("LAB_AMQP_URL points at an external broker; this test needs a private node it can fault")
	}
	return b.Node
}

// Main runs the tests, then stops the private node if one was started.
func Main(m *testing.M) int {
	code := m.Run()
	if node != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = node.Stop(ctx)
		cancel()
	}
	if nodeDir != "" && code == 0 {
		_ = os.RemoveAll(nodeDir)
	}
	return code
}

// Eventually polls fn every 50 ms until it returns nil or wait elapses, then
// fails the test with fn's last error.
func Eventually(t testing.TB, wait time.Duration, fn func() error) {
	t.Helper()
	if err := Poll(wait, fn); err != nil {
		t.Fatalf("condition not met within %s: %v", wait, err)
	}
}

// Poll is Eventually without a test: it returns fn's last error on timeout.
func Poll(wait time.Duration, fn func() error) error {
	deadline := time.Now().Add(wait)
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Logger writes to the test's output.
func Logger(t testing.TB) *slog.Logger {
	w := &endingWriter{w: t.Output()}
	t.Cleanup(w.end)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// endingWriter writes to a test's output until the test ends, then drops
// what comes: goroutines of embedded libraries (Toxiproxy's links) may
// still log while they wind down, and writing to a finished test panics.
type endingWriter struct {
	mu    sync.Mutex
	w     io.Writer
	ended bool
}

func (e *endingWriter) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ended {
		return len(p), nil
	}
	return e.w.Write(p)
}

func (e *endingWriter) end() {
	e.mu.Lock()
	e.ended = true
	e.mu.Unlock()
}

var seq atomic.Int64

// UniqueName returns prefix plus the test name and a counter, safe as a
// queue or exchange name on a shared broker.
func UniqueName(t testing.TB, prefix string) string {
	name := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	return fmt.Sprintf("%s.%s.%d.%d", prefix, name, os.Getpid(), seq.Add(1))
}

// VHost creates a fresh vhost named name on the test binary's broker
// (broker.VHost, through the management API), deletes it when the test
// ends, and returns the AMQP URL into it. Tests that share one node get the
// isolation of a node of their own without its boot.
func VHost(t testing.TB, name string) string {
	t.Helper()
	b := SharedBroker(t)
	if b.ManagementURL == "" {
		t.Fatal("a vhost needs the broker's management API: set LAB_MANAGEMENT_URL with LAB_AMQP_URL")
	}
	vb, err := broker.VHost{Base: broker.Node{AMQPURL: b.AMQPURL, ManagementURL: b.ManagementURL}, VHost: name}.Start(t.Context(), "")
	if err != nil {
		t.Fatalf("create vhost: %v", err)
	}
	t.Cleanup(func() {
		if err := vb.Stop(context.Background()); err != nil {
			t.Logf("delete vhost %s: %v", name, err)
		}
	})
	return vb.Nodes()[0].AMQPURL
}

// SyncBuffer is a bytes.Buffer safe for concurrent use: a child process's
// stdout and stderr written by exec's copy goroutines while the test reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Channel dials url and opens a channel on the connection, failing the test
// on either error; the connection closes when the test ends.
func Channel(t testing.TB, url string) (*amqp.Connection, *amqp.Channel) {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("dial the broker: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("open a channel: %v", err)
	}
	return conn, ch
}
