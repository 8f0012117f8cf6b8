//go:build integration

package console_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ticketflow-lab/tflab/internal/console"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
)

// TestScenariosPageRunsQuickstart starts quickstart from the Scenarios page
// as `tflab run` (built here) with a private broker node of its own, and
// waits for PASS and the link to its report.
func TestScenariosPageRunsQuickstart(t *testing.T) {
	tb := openTab(t, 12*time.Minute)
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build tflab with")
	}
	bin := filepath.Join(t.TempDir(), "tflab")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/ticketflow-lab/tflab/cmd/tflab").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	runs := filepath.Join(t.TempDir(), "runs")
	c, err := console.New(console.Config{Info: func() lab.Info { return lab.Info{System: "ticketflow"} }, Vocabulary: ticketflow.System().Vocabulary, RunsRoot: runs,
		RunCommand: []string{bin, "--log-level=warn", "run"}, Log: labtest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	base, err := c.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	ctx := tb.ctx
	defer tb.screenshot(t, "scenarios")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/scenarios"),
		chromedp.WaitVisible(chromedp.CSS(`#scenario-quickstart .description`)),
		chromedp.Click(chromedp.CSS(`#scenario-quickstart button.start`)),
		chromedp.WaitVisible(chromedp.CSS(`#job-progress`)),
	); err != nil {
		t.Fatal(err)
	}
	ok, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("job-verdict") !== null`,
		chromedp.WithPollingInterval(time.Second), chromedp.WithPollingTimeout(10*time.Minute)))
	if err != nil || !ok {
		t.Fatalf("no verdict (%v)", err)
	}
	verdict, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#job-verdict`)))
	if err != nil {
		t.Fatal(err)
	}
	reason, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#job-reason`)))
	if verdict != "PASS" {
		t.Fatalf("quickstart from the console: %s (%s)", verdict, reason)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#job-report`)), chromedp.WaitVisible(chromedp.CSS(`body`))); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.title`))
	if err != nil || !strings.Contains(title, "quickstart") {
		t.Fatalf("the report's title %q (%v)", title, err)
	}
}
