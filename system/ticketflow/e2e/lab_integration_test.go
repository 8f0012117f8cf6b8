//go:build integration

package e2e_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/workload"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := labtest.Main(m)
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// tflabBinary builds ./cmd/tflab once per test binary, as `make build` does.
func tflabBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "tflab-e2e-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "tflab")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/ticketflow-lab/tflab/cmd/tflab").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// services are the six Ticketflow services `tflab up` must start.
var services = []contracts.Service{contracts.Inquiries, contracts.Tickets, contracts.Translations, contracts.SLA, contracts.Communication, contracts.Metrics}

// runningLab is a `tflab up` process and what its lab.json says.
type runningLab struct {
	runDir string
	info   lab.Info
}

func (l *runningLab) http(svc contracts.Service) string { return l.info.Services[svc.Name].HTTP }

func (l *runningLab) db(svc contracts.Service) string {
	return lab.Layout{Dir: l.runDir}.DBFile(svc.Name)
}

// startLab runs `tflab up --ports random` against the shared private node,
// in a vhost of its own, and waits until every service is healthy. The lab
// is stopped (SIGTERM, as Ctrl-C) when the test ends; its run directory is
// kept and logged when the test failed.
func startLab(t *testing.T) *runningLab {
	t.Helper()
	b := labtest.SharedBroker(t)
	amqpURL := ownVhost(t, b.AMQPURL, b.ManagementURL)
	work, err := os.MkdirTemp("", "tflab-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(work, "run")
	args := []string{"up", "--ports", "random", "--run-dir", runDir, "--seed", "1", "--amqp-url", amqpURL, "--health-timeout", "90s"}
	cmd := exec.Command(tflabBinary(t), args...)
	cmd.Dir = work
	stdout, stderr := &labtest.SyncBuffer{}, &labtest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		}
		if t.Failed() {
			t.Logf("run directory kept: %s\ntflab up stdout:\n%s\nstderr (tail):\n%s", runDir, stdout, tail(stderr.String(), 4000))
			return
		}
		_ = os.RemoveAll(work)
	})
	labtest.Eventually(t, 120*time.Second, func() error {
		select {
		case <-done:
			return fmt.Errorf("tflab up exited: %v\nstderr:\n%s", waitErr, tail(stderr.String(), 4000))
		default:
		}
		if !strings.Contains(stdout.String(), "Stop with Ctrl-C") {
			return errors.New("tflab up is not ready yet")
		}
		return nil
	})
	info, err := lab.ReadInfo(runDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range services {
		if info.Services[s.Name].HTTP == "" {
			t.Fatalf("tflab up started no %s service: %v", s.Name, info.IDs())
		}
	}
	t.Logf("tflab up: six services healthy %s after start (run dir %s)", time.Since(start).Round(time.Millisecond), runDir)
	return &runningLab{runDir: runDir, info: info}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// ownVhost gives the lab a vhost of its own on the shared node; without a
// management URL it returns the URL unchanged (the default vhost).
func ownVhost(t *testing.T, amqpURL, mgmt string) string {
	t.Helper()
	if mgmt == "" {
		t.Logf("no management URL: the lab shares the broker's default vhost")
		return amqpURL
	}
	return labtest.VHost(t, labtest.UniqueName(t, "e2e"))
}

// openRO opens a service's SQLite file read-only; the service keeps writing.
func openRO(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// endpoints are the services the workload talks to.
func (l *runningLab) endpoints() workload.Endpoints {
	return workload.Endpoints{Inquiries: l.http(contracts.Inquiries), Tickets: l.http(contracts.Tickets), Communication: l.http(contracts.Communication)}
}

// liveMetrics returns the instance names /live-metrics/latest reports.
func (l *runningLab) liveMetrics(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.http(contracts.Metrics)+"/live-metrics/latest", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("GET /live-metrics/latest: %s: %w", resp.Status, err)
	}
	return string(body), nil
}
