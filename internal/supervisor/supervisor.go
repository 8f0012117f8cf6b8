package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"
)

// ErrUnknown reports a name the supervisor never started.
var ErrUnknown = errors.New("unknown process")

// Spec describes one child process.
type Spec struct {
	// Name is unique within the supervisor (an instance id such as "sla-2").
	Name string
	// Path is the executable; Args follow it (without argv[0]).
	Path string
	Args []string
	// Env is the environment; nil inherits the supervisor's.
	Env []string
	// Dir is the working directory ("" = the supervisor's).
	Dir string
	// LogFile receives stdout and stderr (appended); "" discards them.
	LogFile string
}

// Validate reports what is wrong with the spec.
func (s Spec) Validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("process name must be set"))
	}
	if s.Path == "" {
		errs = append(errs, errors.New("process path must be set"))
	}
	return errors.Join(errs...)
}

// State is a process's lifecycle state.
type State string

const (
	Running State = "running"
	Paused  State = "paused"
	Exited  State = "exited"
)

// Info is a snapshot of one process.
type Info struct {
	Name string
	// PID is the current process id, or the last one after an exit.
	PID   int
	State State
	// Starts counts starts (1 after Start, 2 after one Restart, …).
	Starts int
	// ExitErr is the last exit's error (nil for exit status 0 or while running).
	ExitErr error
}

// EventKind names what happened to a process.
type EventKind string

const (
	EventStarted EventKind = "started"
	EventExited  EventKind = "exited"
	EventPaused  EventKind = "paused"
	EventResumed EventKind = "resumed"
)

// Event is passed to Options.OnEvent.
type Event struct {
	Kind EventKind
	Info Info
}

// Options tune a Supervisor; the zero value is usable.
type Options struct {
	// StopGrace is how long Stop waits after SIGTERM before SIGKILL (default 5 s).
	StopGrace time.Duration
	// KillWait bounds the wait for a process to exit after SIGKILL (default 5 s).
	KillWait time.Duration
	// OnEvent, if set, is called for every start, exit, pause and resume. It
	// runs on the supervisor's goroutines; it must not block for long nor
	// call back into the Supervisor.
	OnEvent func(Event)
	// Log receives lifecycle events; nil discards.
	Log *slog.Logger
}

// Supervisor owns a set of named child processes. Its methods are safe for
// concurrent use; operations on one process are serialised.
type Supervisor struct {
	opts  Options
	log   *slog.Logger
	mu    sync.Mutex
	procs map[string]*process
}

type process struct {
	op   sync.Mutex // serialises lifecycle operations on this process
	spec Spec

	mu      sync.Mutex // guards the fields below
	cmd     *exec.Cmd
	pid     int
	state   State
	starts  int
	exitErr error
	exited  chan struct{} // closed when the current run exits
}

// New returns an empty supervisor.
func New(opts Options) *Supervisor {
	if opts.StopGrace <= 0 {
		opts.StopGrace = 5 * time.Second
	}
	if opts.KillWait <= 0 {
		opts.KillWait = 5 * time.Second
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Supervisor{opts: opts, log: log.With("component", "supervisor"), procs: map[string]*process{}}
}

// Start launches a new named process and returns its pid.
func (s *Supervisor) Start(spec Spec) (int, error) {
	if err := spec.Validate(); err != nil {
		return 0, fmt.Errorf("start process: %w", err)
	}
	s.mu.Lock()
	if _, dup := s.procs[spec.Name]; dup {
		s.mu.Unlock()
		return 0, fmt.Errorf("start process %s: name already used", spec.Name)
	}
	p := &process{spec: spec}
	s.procs[spec.Name] = p
	s.mu.Unlock()
	p.op.Lock()
	defer p.op.Unlock()
	if err := s.launch(p); err != nil {
		s.mu.Lock()
		delete(s.procs, spec.Name)
		s.mu.Unlock()
		return 0, err
	}
	return p.info().PID, nil
}

func (s *Supervisor) launch(p *process) error {
	var out *os.File
	if p.spec.LogFile != "" {
		if err := os.MkdirAll(filepath.Dir(p.spec.LogFile), 0o755); err != nil {
			return fmt.Errorf("start %s: log dir: %w", p.spec.Name, err)
		}
		f, err := os.OpenFile(p.spec.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("start %s: open log: %w", p.spec.Name, err)
		}
		out = f
	}
	cmd := exec.Command(p.spec.Path, p.spec.Args...)
	cmd.Env = p.spec.Env
	cmd.Dir = p.spec.Dir
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		if out != nil {
			_ = out.Close()
		}
		return fmt.Errorf("start %s: %w", p.spec.Name, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.pid, p.state, p.exitErr, p.exited = cmd, cmd.Process.Pid, Running, nil, exited
	p.starts++
	p.mu.Unlock()
	s.log.Info("Process started", "process", p.spec.Name, "pid", cmd.Process.Pid)
	s.emit(EventStarted, p)
	go func() {
		err := cmd.Wait()
		if out != nil {
			_ = out.Close()
		}
		p.mu.Lock()
		p.state, p.exitErr = Exited, err
		p.mu.Unlock()
		s.log.Info("Process exited", "process", p.spec.Name, "pid", cmd.Process.Pid, "err", err)
		s.emit(EventExited, p)
		close(exited)
	}()
	return nil
}

func (s *Supervisor) emit(kind EventKind, p *process) {
	if s.opts.OnEvent != nil {
		s.opts.OnEvent(Event{Kind: kind, Info: p.info()})
	}
}

func (p *process) info() Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Info{Name: p.spec.Name, PID: p.pid, State: p.state, Starts: p.starts, ExitErr: p.exitErr}
}

// running returns the live command and its exit channel, or ok=false.
func (p *process) running() (pid int, exited chan struct{}, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid, p.exited, p.state != Exited
}

func (s *Supervisor) get(name string) (*process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknown, name)
	}
	return p, nil
}

// Info returns a snapshot of the named process.
func (s *Supervisor) Info(name string) (Info, error) {
	p, err := s.get(name)
	if err != nil {
		return Info{}, err
	}
	return p.info(), nil
}

// Names lists the processes in name order.
func (s *Supervisor) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.procs))
	for n := range s.procs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Exited returns a channel closed when the current run of the named process
// exits.
func (s *Supervisor) Exited(name string) (<-chan struct{}, error) {
	p, err := s.get(name)
	if err != nil {
		return nil, err
	}
	_, exited, _ := p.running()
	return exited, nil
}

// Kill sends SIGKILL to the process group and waits for the exit. Killing an
// exited process is a no-op.
func (s *Supervisor) Kill(ctx context.Context, name string) error {
	p, err := s.get(name)
	if err != nil {
		return err
	}
	p.op.Lock()
	defer p.op.Unlock()
	return s.kill(ctx, p)
}

func (s *Supervisor) kill(ctx context.Context, p *process) error {
	pid, exited, ok := p.running()
	if !ok {
		return nil
	}
	s.log.Info("Killing process", "process", p.spec.Name, "pid", pid)
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	return s.await(ctx, p, exited, s.opts.KillWait)
}

func (s *Supervisor) await(ctx context.Context, p *process, exited chan struct{}, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-exited:
		return nil
	case <-t.C:
		return fmt.Errorf("process %s did not exit within %s", p.spec.Name, d)
	case <-ctx.Done():
		return fmt.Errorf("wait for %s to exit: %w", p.spec.Name, ctx.Err())
	}
}

// Pause stops the process group with SIGSTOP (the kernel state becomes 'T').
func (s *Supervisor) Pause(name string) error {
	return s.signalState(name, syscall.SIGSTOP, Paused, EventPaused)
}

// Resume continues a paused process group with SIGCONT.
func (s *Supervisor) Resume(name string) error {
	return s.signalState(name, syscall.SIGCONT, Running, EventResumed)
}

func (s *Supervisor) signalState(name string, sig syscall.Signal, to State, kind EventKind) error {
	p, err := s.get(name)
	if err != nil {
		return err
	}
	p.op.Lock()
	defer p.op.Unlock()
	pid, _, ok := p.running()
	if !ok {
		return fmt.Errorf("%s %s: process is not running", sig, name)
	}
	if err := syscall.Kill(-pid, sig); err != nil {
		return fmt.Errorf("%s %s (pid %d): %w", sig, name, pid, err)
	}
	p.mu.Lock()
	if p.state != Exited {
		p.state = to
	}
	p.mu.Unlock()
	s.log.Info("Process signalled", "process", name, "pid", pid, "signal", sig.String())
	s.emit(kind, p)
	return nil
}

// Stop asks the process to exit with SIGTERM (continuing it if paused) and
// sends SIGKILL if it has not exited after the grace period.
func (s *Supervisor) Stop(ctx context.Context, name string) error {
	p, err := s.get(name)
	if err != nil {
		return err
	}
	p.op.Lock()
	defer p.op.Unlock()
	return s.stop(ctx, p)
}

func (s *Supervisor) stop(ctx context.Context, p *process) error {
	pid, exited, ok := p.running()
	if !ok {
		return nil
	}
	s.log.Info("Stopping process", "process", p.spec.Name, "pid", pid)
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	_ = syscall.Kill(-pid, syscall.SIGCONT)
	if err := s.await(ctx, p, exited, s.opts.StopGrace); err == nil {
		return nil
	}
	s.log.Warn("Process ignored SIGTERM, killing it", "process", p.spec.Name, "pid", pid, "grace", s.opts.StopGrace)
	return s.kill(context.WithoutCancel(ctx), p)
}

// Restart stops the process (gracefully, as Stop) if it runs and starts it
// again with the same spec. It returns the new pid.
func (s *Supervisor) Restart(ctx context.Context, name string) (int, error) {
	p, err := s.get(name)
	if err != nil {
		return 0, err
	}
	p.op.Lock()
	defer p.op.Unlock()
	if err := s.stop(ctx, p); err != nil {
		return 0, fmt.Errorf("restart %s: %w", name, err)
	}
	if err := s.launch(p); err != nil {
		return 0, fmt.Errorf("restart %s: %w", name, err)
	}
	return p.info().PID, nil
}

// StopAll stops every process concurrently and returns the joined errors.
func (s *Supervisor) StopAll(ctx context.Context) error {
	names := s.Names()
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() { errs[i] = s.Stop(ctx, n) })
	}
	wg.Wait()
	return errors.Join(slices.DeleteFunc(errs, func(e error) bool { return e == nil })...)
}
