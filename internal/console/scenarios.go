package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/catalog"
	"github.com/ticketflow-lab/tflab/scenarios/report"
)

// The Scenarios page: the built-in catalog with descriptions; a scenario
// or its negative control started against a fresh lab of its own (a child
// `tflab run NAME --out <runs root>`, Config.RunCommand); its progress line
// while it runs; then its verdict and report. One run at a time.

// scenarioRow is one catalog entry.
type scenarioRow struct {
	Name, Description string
	Tags              []string
	Control           string // what the negative control switches off and expects; "" without one
}

// scenarioJob is the one run the console started.
type scenarioJob struct {
	mu       sync.Mutex
	Scenario string
	Control  bool
	Started  time.Time
	Progress string // the child's last output line
	Dir      string // the run directory, once the child named it
	Done     bool
	Exit     int
	Outcome  string // from journal.json
	Reason   string
	Report   bool
	ended    chan struct{} // closed when the child has ended and the job is final
}

// wait waits for the job's child to end (Close has already asked it to).
func (j *scenarioJob) wait(ctx context.Context) error {
	select {
	case <-j.ended:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the scenario run of %s did not end: %w", j.Scenario, ctx.Err())
	}
}

// jobView is a copy of a job for a template.
type jobView struct {
	Scenario, Progress, Name, Outcome, Reason string
	Control, Done, Report, Running            bool
	Exit                                      int
	Elapsed                                   string
}

func (j *scenarioJob) view() jobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	name := ""
	if j.Dir != "" {
		name = filepath.Base(j.Dir)
	}
	return jobView{Scenario: j.Scenario, Control: j.Control, Progress: j.Progress, Name: name, Outcome: j.Outcome,
		Reason: j.Reason, Done: j.Done, Report: j.Report, Running: !j.Done, Exit: j.Exit,
		Elapsed: time.Since(j.Started).Round(time.Second).String()}
}

// line takes one line of the child's output and keeps it; the line
// "Running <scenario> … in <dir>" names the run directory.
func (j *scenarioJob) line(s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.Progress = s
	if strings.HasPrefix(s, "Running ") {
		if i := strings.LastIndex(s, " in "); i >= 0 {
			j.Dir = strings.TrimSpace(s[i+len(" in "):])
		}
	}
}

type scenariosView struct {
	Rows    []scenarioRow
	Job     *jobView
	CanRun  bool
	Error   string
	Started string
}

func (c *Console) scenarioRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /scenarios", c.scenariosPage)
	mux.HandleFunc("GET /scenarios/job", c.jobFragment)
	mux.HandleFunc("POST /scenarios/{name}/start", c.startScenario)
}

func (c *Console) catalogRows() ([]scenarioRow, error) {
	var cat *catalog.Catalog
	var err error
	if c.cfg.Vocabularies == nil {
		cat, err = catalog.LoadSystem(c.cfg.Vocabulary)
	} else {
		cat, err = catalog.Load(c.cfg.Vocabularies)
	}
	if err != nil {
		return nil, fmt.Errorf("the scenario catalog: %w", err)
	}
	var rows []scenarioRow
	for _, name := range cat.Names() {
		s, _ := cat.Get(name)
		if s.System != c.cfg.Vocabulary.System {
			continue
		}
		row := scenarioRow{Name: name, Description: strings.TrimSpace(s.Description), Tags: s.Tags}
		if s.Control != nil {
			off := "another method"
			switch {
			case len(s.Control.Unprotect) > 0:
				off = "without " + strings.Join(s.Control.Unprotect, ", ")
			case s.Control.Profile != "":
				off = "profile " + s.Control.Profile
			}
			row.Control = off + " → expects " + strings.Join(s.Control.Expect.Violated, ", ")
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (c *Console) currentJob() *jobView {
	c.jobMu.Lock()
	j := c.job
	c.jobMu.Unlock()
	if j == nil {
		return nil
	}
	v := j.view()
	return &v
}

func (c *Console) scenariosPage(w http.ResponseWriter, _ *http.Request) {
	v := scenariosView{CanRun: len(c.cfg.RunCommand) > 0, Job: c.currentJob()}
	rows, err := c.catalogRows()
	code := http.StatusOK
	if err != nil {
		code, v.Error = http.StatusInternalServerError, err.Error()
	}
	v.Rows = rows
	c.full(w, code, "scenarios", "Scenarios", v)
}

func (c *Console) jobFragment(w http.ResponseWriter, _ *http.Request) {
	c.render(w, http.StatusOK, "job", scenariosView{Job: c.currentJob()})
}

// startScenario starts NAME (or its control with control=true) as a child
// run. A second start while one runs is refused with the running one's name.
func (c *Console) startScenario(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	control := r.Form.Get("control") == "true"
	refuse := func(code int, msg string) {
		c.render(w, code, "job", scenariosView{Job: c.currentJob(), Error: msg})
	}
	refuseLocked := func(code int, msg string) {
		var v *jobView
		if c.job != nil {
			jv := c.job.view()
			v = &jv
		}
		c.render(w, code, "job", scenariosView{Job: v, Error: msg})
	}
	if len(c.cfg.RunCommand) == 0 {
		refuse(http.StatusNotImplemented, "this console starts no runs (no run command configured)")
		return
	}
	rows, err := c.catalogRows()
	if err != nil {
		refuse(http.StatusInternalServerError, err.Error())
		return
	}
	var row *scenarioRow
	for i := range rows {
		if rows[i].Name == name {
			row = &rows[i]
		}
	}
	switch {
	case row == nil:
		refuse(http.StatusNotFound, fmt.Sprintf("no scenario %q in the catalog", name))
		return
	case control && row.Control == "":
		refuse(http.StatusBadRequest, fmt.Sprintf("scenario %s has no negative control", name))
		return
	}
	c.jobMu.Lock()
	defer c.jobMu.Unlock()
	if c.job != nil {
		if v := c.job.view(); !v.Done {
			refuseLocked(http.StatusConflict, fmt.Sprintf("a run of %s is under way; start another when it has finished", v.Scenario))
			return
		}
	}
	args := append(append([]string(nil), c.cfg.RunCommand[1:]...), name, "--out", c.cfg.RunsRoot)
	if control {
		args = append(args, "--control")
	}
	if c.base != "" {
		args = append(args, "--console-url", c.base) // its report links violations to this console
	}
	cmd := exec.CommandContext(c.closing, c.cfg.RunCommand[0], args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) } // the run stops its lab
	cmd.WaitDelay = 2 * time.Minute
	job := &scenarioJob{Scenario: name, Control: control, Started: time.Now(), Progress: "starting…", ended: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		refuseLocked(http.StatusInternalServerError, "start the run: "+err.Error())
		return
	}
	c.job = job
	c.log.Info("Console started a scenario run", "scenario", name, "control", control, "pid", cmd.Process.Pid)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			job.line(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		defer close(job.ended)
		err := cmd.Wait()
		_ = pw.Close()
		c.finish(job, err)
	}()
	c.render(w, http.StatusOK, "job", scenariosView{Job: c.currentJobLocked()})
}

func (c *Console) currentJobLocked() *jobView {
	v := c.job.view()
	return &v
}

// finish records a finished run: its exit code and its journal's verdict.
func (c *Console) finish(job *scenarioJob, err error) {
	exit := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		exit = ee.ExitCode()
	} else if err != nil {
		exit = -1
	}
	job.mu.Lock()
	dir := job.Dir
	job.mu.Unlock()
	var outcome, reason string
	hasReport := false
	if dir != "" {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(c.cfg.RunsRoot, filepath.Base(dir))
		}
		if f, ferr := os.Open(filepath.Join(dir, "journal.json")); ferr == nil {
			if j, jerr := report.ReadJournal(f); jerr == nil {
				outcome, reason = string(j.Verdict.Outcome), j.Verdict.Reason
			}
			f.Close()
		}
		_, serr := os.Stat(filepath.Join(dir, "report.html"))
		hasReport = serr == nil
	}
	if outcome == "" {
		outcome = "ERROR"
		reason = fmt.Sprintf("the run ended (exit %d) without a verdict", exit)
		if err != nil && exit == -1 {
			reason += ": " + err.Error()
		}
	}
	job.mu.Lock()
	job.Done, job.Exit, job.Outcome, job.Reason, job.Report = true, exit, outcome, reason, hasReport
	job.mu.Unlock()
	c.log.Info("Console's scenario run ended", "scenario", job.Scenario, "outcome", outcome, "exit", exit)
}
