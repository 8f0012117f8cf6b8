package spanfile

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The crash child is this test binary run again with these variables set.
const (
	crashPathEnv = "SPANFILE_CRASH_CHILD_PATH"
	crashModeEnv = "SPANFILE_CRASH_CHILD_MODE" // "sync" (the Processor) or "batched" (negative control)
	crashSeedEnv = "SPANFILE_CRASH_CHILD_SEED"
)

// TestCrashChild is not a test: it is the body of the child process the
// SIGKILL tests start. Four goroutines end spans as fast as they can; after
// each span.End returns, the child writes the span id to fd 3 - the
// "ack", standing in for the AMQP ack the messaging layer sends after
// ending its handling span. The parent kills it with SIGKILL at a random
// point.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashPathEnv)
	if path == "" {
		t.Skip("helper process of TestSIGKILLLosesNoAckedSpan")
	}
	acks := os.NewFile(3, "acks")
	var seed uint64
	fmt.Sscan(os.Getenv(crashSeedEnv), &seed)

	var proc sdktrace.SpanProcessor
	switch os.Getenv(crashModeEnv) {
	case "batched":
		// What the guarantee rules out: a buffering exporter. Batches are
		// only written when 512 spans are queued.
		proc = sdktrace.NewBatchSpanProcessor(&lineExporter{path: path},
			sdktrace.WithBatchTimeout(time.Hour), sdktrace.WithMaxExportBatchSize(512), sdktrace.WithMaxQueueSize(1<<20))
	default:
		p, err := Open(path, Options{Service: "crash", Instance: fmt.Sprint(os.Getpid())})
		if err != nil {
			t.Fatal(err)
		}
		proc = p
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(proc))
	tr := tp.Tracer("crash")
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Go(func() {
			for i := range 200_000 {
				// Mostly small spans, some of them several pages long, so
				// that kills also land inside large writes.
				size := rng.IntN(200)
				if rng.IntN(10) == 0 {
					size = rng.IntN(64 << 10)
				}
				_, s := tr.Start(context.Background(), "handle", trace.WithAttributes(
					attribute.Int("worker", w), attribute.Int("i", i), attribute.String("payload", strings.Repeat("p", size))))
				s.End()
				mu.Lock()
				_, err := acks.Write([]byte(s.SpanContext().SpanID().String() + "\n"))
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
}

// lineExporter writes batches of spans as lines (the negative control).
type lineExporter struct {
	path string
	mu   sync.Mutex
}

func (e *lineExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	f, err := os.OpenFile(e.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	var p Processor
	var buf []byte
	var r Record
	for _, s := range spans {
		p.fill(&r, s)
		buf = AppendRecord(buf, &r)
	}
	_, err = f.Write(buf)
	return err
}

func (e *lineExporter) Shutdown(context.Context) error { return nil }

// crashRound runs one child, kills it with SIGKILL after killAfter acks and
// returns every span id the child acknowledged.
func crashRound(t *testing.T, path, mode string, seed uint64, killAfter int) map[string]bool {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashPathEnv+"="+path, crashModeEnv+"="+mode, fmt.Sprintf("%s=%d", crashSeedEnv, seed))
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// Bound the round: whatever happens, the child dies within 60 s.
	watchdog := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()

	acked := map[string]bool{}
	sc := bufio.NewScanner(r)
	killed := false
	for sc.Scan() { // ends at EOF: the child is dead and the pipe drained
		acked[sc.Text()] = true
		if !killed && len(acked) >= killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL (killed=%v, %d acks): %v\n%s", killed, len(acked), err, stderr.String())
	}
	if !killed {
		t.Fatalf("child died before %d acks (%d):\n%s", killAfter, len(acked), stderr.String())
	}
	return acked
}

// TestSIGKILLLosesNoAckedSpan proves the package's crash guarantee: a span
// whose End returned before the process was SIGKILLed is in the file, whole.
// Several child processes are killed at random points while appending to
// the same file, as restarted service instances do; each restart repairs a
// torn tail. Torn lines may exist (at most one per kill) but never for an
// acknowledged span.
func TestSIGKILLLosesNoAckedSpan(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	path := filepath.Join(t.TempDir(), "traces", "crash.jsonl")
	rng := rand.New(rand.NewPCG(7, 11))
	const rounds = 5
	acked := map[string]bool{}
	for round := range rounds {
		killAfter := 50 + rng.IntN(3000)
		got := crashRound(t, path, "sync", uint64(round), killAfter)
		t.Logf("round %d: killed after %d acks, %d acks read in total", round, killAfter, len(got))
		for id := range got {
			acked[id] = true
		}
	}
	inFile, st := readAll(t, path)
	missing := 0
	for id := range acked {
		sid := mustSID(t, id)
		if _, ok := inFile[sid]; !ok {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged span %s is not in the file", id)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged spans lost", missing, len(acked))
	}
	if st.Bad != 0 || st.Torn > rounds {
		t.Fatalf("file has %d bad and %d torn lines (at most %d torn allowed): %v", st.Bad, st.Torn, rounds, st.Problems)
	}
	t.Logf("%d acked spans, %d spans in file, %d torn lines (unacknowledged spans cut by SIGKILL)", len(acked), len(inFile), st.Torn)
}

// TestSIGKILLHarnessCatchesBuffering is the negative control: the same
// harness run against a batching exporter must find acknowledged spans
// missing, or it could not catch a regression of the guarantee.
func TestSIGKILLHarnessCatchesBuffering(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	path := filepath.Join(t.TempDir(), "batched.jsonl")
	acked := crashRound(t, path, "batched", 1, 700) // not a multiple of the batch size
	inFile := map[trace.SpanID]bool{}
	if _, err := os.Stat(path); err == nil {
		recs, _ := readAll(t, path)
		for id := range recs {
			inFile[id] = true
		}
	}
	missing := 0
	for id := range acked {
		if !inFile[mustSID(t, id)] {
			missing++
		}
	}
	if missing == 0 {
		t.Fatalf("all %d acked spans of a batching exporter survived SIGKILL: the harness cannot detect loss", len(acked))
	}
	t.Logf("batched exporter lost %d of %d acknowledged spans", missing, len(acked))
}
