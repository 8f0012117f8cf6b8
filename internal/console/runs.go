package console

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios/report"
)

// runRow is one run directory.
type runRow struct {
	Name     string
	Scenario string
	Outcome  string // PASS, FAIL, …; "" when the run has no journal (a lab, or unfinished)
	Reason   string
	Report   bool
	Lab      bool // the directory of a `tflab up` lab
}

func (c *Console) runsPage(w http.ResponseWriter, _ *http.Request) {
	rows, err := c.runs()
	body := struct {
		Root  string
		Rows  []runRow
		Error string
	}{Root: c.cfg.RunsRoot, Rows: rows}
	if err != nil {
		body.Error = err.Error()
	}
	c.full(w, http.StatusOK, "runs", "Runs", body)
}

// runs lists the run directories, newest first (their names start with
// the time).
func (c *Console) runs() ([]runRow, error) {
	entries, err := os.ReadDir(c.cfg.RunsRoot)
	if err != nil {
		return nil, err
	}
	var rows []runRow
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(c.cfg.RunsRoot, e.Name())
		row := runRow{Name: e.Name()}
		if f, err := os.Open(filepath.Join(dir, "journal.json")); err == nil {
			if j, err := report.ReadJournal(f); err == nil {
				row.Scenario, row.Outcome, row.Reason = j.Scenario.Name, string(j.Verdict.Outcome), j.Verdict.Reason
			} else {
				row.Reason = "unreadable journal.json: " + err.Error()
			}
			f.Close()
		}
		_, err := os.Stat(filepath.Join(dir, "report.html"))
		row.Report = err == nil
		_, err = os.Stat(filepath.Join(dir, "lab.json"))
		row.Lab = err == nil && row.Outcome == ""
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b runRow) int { return strings.Compare(b.Name, a.Name) })
	return rows, nil
}

// report serves one run's report.html, and nothing else of the run
// directory (lab.json holds the broker's URL with its credentials).
func (c *Console) report(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
		http.NotFound(w, r)
		return
	}
	http.ServeFile(w, r, filepath.Join(c.cfg.RunsRoot, name, "report.html"))
}
