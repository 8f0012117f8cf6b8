package supervisor_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/supervisor"
)

const helperEnv = "TFLAB_SUPERVISOR_HELPER"

// TestMain doubles as the helper process: with helperEnv set, the test
// binary behaves as a small service instead of running tests.
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "service":
		helperService(false)
	case "ignore-term":
		helperService(true)
	case "parent":
		helperParent()
	default:
		os.Exit(99)
	}
}

// helperService announces itself and exits 0 on SIGTERM (unless told to
// ignore it). It stops on its own after a minute so it can never linger.
func helperService(ignoreTerm bool) {
	sig := make(chan os.Signal, 1)
	if ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(sig, syscall.SIGTERM)
	}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	select {
	case <-sig:
		fmt.Println("got SIGTERM")
		os.Exit(0)
	case <-time.After(time.Minute):
		os.Exit(2)
	}
}

// helperParent starts a grandchild through a supervisor, prints its pid and
// waits to be killed.
func helperParent() {
	s := supervisor.New(supervisor.Options{})
	pid, err := s.Start(supervisor.Spec{Name: "child", Path: os.Args[0], Env: append(os.Environ(), helperEnv+"=service")})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Printf("child=%d\n", pid)
	time.Sleep(time.Minute) // killed by the test long before
	os.Exit(2)
}

func spec(t *testing.T, name, mode string) supervisor.Spec {
	return supervisor.Spec{
		Name:    name,
		Path:    os.Args[0],
		Env:     append(os.Environ(), helperEnv+"="+mode),
		LogFile: filepath.Join(t.TempDir(), name+".log"),
	}
}

// procState returns the state letter of /proc/PID/stat ("" if gone).
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

func gone(pid int) bool {
	st := procState(pid)
	return st == "" || st == "Z" || st == "X"
}

func waitLog(t *testing.T, path, want string) {
	t.Helper()
	labtest.Eventually(t, 10*time.Second, func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), want) {
			return fmt.Errorf("log %s has %q, want %q", path, b, want)
		}
		return nil
	})
}

type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) on(e supervisor.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("%s:%s", e.Info.Name, e.Kind))
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func TestPauseResumeKillRestart(t *testing.T) {
	rec := &recorder{}
	s := supervisor.New(supervisor.Options{OnEvent: rec.on, Log: labtest.Logger(t)})
	defer s.StopAll(context.Background())
	sp := spec(t, "svc", "service")
	pid, err := s.Start(sp)
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, sp.LogFile, fmt.Sprintf("ready pid=%d", pid))

	if err := s.Pause("svc"); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 5*time.Second, func() error {
		if st := procState(pid); st != "T" {
			return fmt.Errorf("paused process state %q, want T", st)
		}
		return nil
	})
	if in, _ := s.Info("svc"); in.State != supervisor.Paused {
		t.Fatalf("Info state %s after Pause", in.State)
	}
	if err := s.Resume("svc"); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 5*time.Second, func() error {
		if st := procState(pid); st != "S" && st != "R" {
			return fmt.Errorf("resumed process state %q, want S or R", st)
		}
		return nil
	})

	if err := s.Kill(t.Context(), "svc"); err != nil {
		t.Fatal(err)
	}
	in, _ := s.Info("svc")
	if in.State != supervisor.Exited || in.ExitErr == nil || !strings.Contains(in.ExitErr.Error(), "killed") {
		t.Fatalf("after Kill: %+v", in)
	}
	if !gone(pid) {
		t.Fatalf("pid %d still alive after Kill (state %s)", pid, procState(pid))
	}
	if err := s.Pause("svc"); err == nil {
		t.Fatal("Pause of an exited process succeeded")
	}
	// Nothing restarts on its own.
	if in2, _ := s.Info("svc"); in2.State != supervisor.Exited || in2.Starts != 1 {
		t.Fatalf("process came back by itself: %+v", in2)
	}

	pid2, err := s.Restart(t.Context(), "svc")
	if err != nil {
		t.Fatal(err)
	}
	if pid2 == pid || gone(pid2) {
		t.Fatalf("restart gave pid %d (old %d, gone=%v)", pid2, pid, gone(pid2))
	}
	waitLog(t, sp.LogFile, fmt.Sprintf("ready pid=%d", pid2))
	// The log was appended to, not truncated.
	waitLog(t, sp.LogFile, fmt.Sprintf("ready pid=%d", pid))

	// Restart of a running process stops it gracefully first.
	pid3, err := s.Restart(t.Context(), "svc")
	if err != nil {
		t.Fatal(err)
	}
	if pid3 == pid2 || !gone(pid2) {
		t.Fatalf("second restart: new pid %d, old %d gone=%v", pid3, pid2, gone(pid2))
	}
	waitLog(t, sp.LogFile, "got SIGTERM")
	waitLog(t, sp.LogFile, fmt.Sprintf("ready pid=%d", pid3)) // its SIGTERM handler is installed
	if in, _ := s.Info("svc"); in.Starts != 3 || in.PID != pid3 || in.State != supervisor.Running {
		t.Fatalf("after two restarts: %+v", in)
	}
	if err := s.Stop(t.Context(), "svc"); err != nil {
		t.Fatal(err)
	}
	if in, _ := s.Info("svc"); in.State != supervisor.Exited || in.ExitErr != nil {
		t.Fatalf("graceful stop should exit 0: %+v", in)
	}
	want := []string{"svc:started", "svc:paused", "svc:resumed", "svc:exited", "svc:started", "svc:exited", "svc:started", "svc:exited"}
	if got := rec.get(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
}

func TestStopOfPausedProcessRunsItsSIGTERMHandler(t *testing.T) {
	s := supervisor.New(supervisor.Options{StopGrace: 5 * time.Second})
	sp := spec(t, "paused", "service")
	pid, err := s.Start(sp)
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, sp.LogFile, "ready")
	if err := s.Pause("paused"); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(t.Context(), "paused"); err != nil {
		t.Fatal(err)
	}
	waitLog(t, sp.LogFile, "got SIGTERM")
	if !gone(pid) {
		t.Fatal("still alive")
	}
}

func TestStopKillsAProcessThatIgnoresSIGTERM(t *testing.T) {
	s := supervisor.New(supervisor.Options{StopGrace: 300 * time.Millisecond})
	sp := spec(t, "stubborn", "ignore-term")
	pid, err := s.Start(sp)
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, sp.LogFile, "ready")
	start := time.Now()
	if err := s.StopAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !gone(pid) {
		t.Fatal("still alive after Stop")
	}
	in, _ := s.Info("stubborn")
	if in.ExitErr == nil || !strings.Contains(in.ExitErr.Error(), "killed") {
		t.Fatalf("want a SIGKILL exit, got %+v", in)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stop took %s with a 300ms grace", d)
	}
}

func TestChildDiesWithItsSupervisorProcess(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=parent")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "child=")))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	if gone(child) {
		t.Fatalf("grandchild %d not running", child)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	labtest.Eventually(t, 10*time.Second, func() error {
		if !gone(child) {
			return fmt.Errorf("grandchild %d survived its parent (state %s)", child, procState(child))
		}
		return nil
	})
}

func TestErrors(t *testing.T) {
	s := supervisor.New(supervisor.Options{})
	if _, err := s.Start(supervisor.Spec{Name: "x"}); err == nil {
		t.Fatal("spec without a path accepted")
	}
	if _, err := s.Start(supervisor.Spec{Name: "x", Path: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Fatal("missing binary accepted")
	}
	if names := s.Names(); len(names) != 0 {
		t.Fatalf("failed starts left %v", names)
	}
	if err := s.Kill(t.Context(), "nobody"); !errors.Is(err, supervisor.ErrUnknown) {
		t.Fatalf("Kill(nobody) = %v", err)
	}
	sp := spec(t, "dup", "service")
	if _, err := s.Start(sp); err != nil {
		t.Fatal(err)
	}
	defer s.StopAll(context.Background())
	if _, err := s.Start(sp); err == nil {
		t.Fatal("duplicate name accepted")
	}
}
