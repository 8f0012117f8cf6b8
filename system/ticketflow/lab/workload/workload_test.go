package workload

import (
	"context"
	"errors"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/workload/fakedesk"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func baseConfig(url string) Config {
	return Config{
		Inquiries: 30, Rate: 300, Languages: map[string]float64{"en": 1, "pl": 1, "de": 1},
		Shares: Shares{Qualify: 1, Assign: 0.5, Block: 0.4, Resolve: 1, VIP: 0.2, Incident: 0.5},
		Settle: 5 * time.Second, Endpoints: Endpoints{Inquiries: url, Tickets: url, Communication: url},
		TicketTimeout: 5 * time.Second, PollInterval: 20 * time.Millisecond,
	}
}

// corpusLanguage tells a generated description's language, as the real
// Inquiries service's detector does (texts_test.go proves they agree).
func corpusLanguage(desc string) string {
	for code, ph := range corpus {
		for _, p := range ph.problems {
			if strings.HasPrefix(desc, p) {
				return code
			}
		}
	}
	return "en"
}

func startDesk(t *testing.T, opt fakedesk.Options) *fakedesk.Desk {
	if opt.Language == nil {
		opt.Language = corpusLanguage
	}
	return fakedesk.Start(t, opt)
}

func TestPlanIsDeterministicAndFollowsTheShares(t *testing.T) {
	cfg := baseConfig("http://127.0.0.1:1")
	cfg.Inquiries = 4000
	cfg.Languages = map[string]float64{"en": 3, "pl": 1}
	cfg.Shares = Shares{Qualify: 0.9, Assign: 0.5, Block: 0.2, Resolve: 0.8, VIP: 0.1, Incident: 0.3}
	a, err := Plan(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Plan(cfg, rand.New(rand.NewPCG(1, 2)))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different plans")
	}
	c, _ := Plan(cfg, rand.New(rand.NewPCG(3, 2)))
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds, same plan")
	}
	var n = float64(len(a))
	count := map[string]float64{}
	for i, p := range a {
		if want := time.Duration(float64(i) / cfg.Rate * float64(time.Second)); p.At != want {
			t.Fatalf("plan %d at %s, want %s", i, p.At, want)
		}
		count[p.Language]++
		if p.Qualify {
			count["qualify"]++
			count["assign"] += b2f(p.Assign)
			count["block"] += b2f(p.Block)
			count["incident"] += b2f(p.Type == "Incident")
			if p.Severity == "" || (p.Type != "Incident" && p.Type != "Question") {
				t.Fatalf("qualified without type/severity: %+v", p)
			}
		} else if p.Assign || p.Block || p.Type != "" {
			t.Fatalf("assign/block/type planned on an unqualified ticket: %+v", p)
		}
		count["resolve"] += b2f(p.Resolve)
		if p.VIP != strings.HasSuffix(p.Email, "@"+VIPDomain) {
			t.Fatalf("VIP %v with e-mail %s", p.VIP, p.Email)
		}
		count["vip"] += b2f(p.VIP)
		if p.Block && (p.BlockReason == "" || p.UnblockReason == "") || p.Resolve && p.Resolution == "" {
			t.Fatalf("missing reason: %+v", p)
		}
	}
	q := count["qualify"]
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"en", count["en"] / n, 0.75}, {"pl", count["pl"] / n, 0.25},
		{"qualify", q / n, 0.9}, {"assign", count["assign"] / q, 0.5}, {"block", count["block"] / q, 0.2},
		{"incident", count["incident"] / q, 0.3}, {"resolve", count["resolve"] / n, 0.8}, {"vip", count["vip"] / n, 0.1},
	} {
		if math.Abs(c.got-c.want) > 0.03 {
			t.Errorf("%s share %.3f, want %.2f±0.03", c.name, c.got, c.want)
		}
	}
}

func b2f(b bool) float64 { return float64(b2i(b)) }

func TestFromSpecUsesDefaultSharesOnlyWhereUnset(t *testing.T) {
	half := 0.5
	zero := 0.0
	cfg := FromSpec(&Spec{Inquiries: 7, Rate: 2, Languages: map[string]float64{"pl": 1}, ResolveShare: &half, BlockShare: &zero, Think: spec.Duration(2 * time.Second)}, 3*time.Second)
	want := DefaultShares
	want.Resolve, want.Block = 0.5, 0
	if cfg.Shares != want || cfg.Inquiries != 7 || cfg.Rate != 2 || cfg.Settle != 3*time.Second || cfg.Think != 2*time.Second || cfg.Languages["pl"] != 1 {
		t.Fatalf("%+v", cfg)
	}
}

func TestValidateRefusesWhatItCannotDo(t *testing.T) {
	for name, mut := range map[string]func(*Config){
		"remote host":      func(c *Config) { c.Endpoints.Tickets = "http://10.1.2.3:80" },
		"https":            func(c *Config) { c.Endpoints.Inquiries = "https://127.0.0.1:1" },
		"unknown language": func(c *Config) { c.Languages = map[string]float64{"it": 1} },
		"share above one":  func(c *Config) { c.Shares.Resolve = 1.5 },
		"no inquiries":     func(c *Config) { c.Inquiries = 0 },
		"zero rate":        func(c *Config) { c.Rate = 0 },
	} {
		c := baseConfig("http://127.0.0.1:1")
		mut(&c)
		if _, err := Plan(c, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c := baseConfig("http://localhost:1")
	c.Endpoints.Communication = ""
	if _, err := Plan(c, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Errorf("localhost without communication: %v", err)
	}
}

func TestRunTakesEveryInquiryThroughItsLifecycle(t *testing.T) {
	f := startDesk(t, fakedesk.Options{})
	cfg := baseConfig(f.URL())
	var mu sync.Mutex
	var progress []Progress
	cfg.Progress = func(p Progress) { mu.Lock(); progress = append(progress, p); mu.Unlock() }
	cfg.ProgressEvery = 20 * time.Millisecond
	res, err := Run(t.Context(), cfg, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.Submitted != 30 || s.Accepted != 30 || s.Ticketed != 30 || s.Resolved != 30 || s.InquiriesResolved != 30 ||
		s.Notified != 30 || s.ExtraNotices != 0 || s.CommandErrors != 0 || s.Stuck != 0 || s.Failed != 0 || s.Translated != s.NonEnglish || s.NonEnglish == 0 {
		var b strings.Builder
		_ = s.WriteTable(&b)
		t.Fatalf("summary:\n%s", b.String())
	}
	if s.Qualified != 30 || s.Deadlines != 30 || s.SubmitToTicket.N != 30 || s.SubmitToResolved.N != 30 || s.SubmitToNotified.N != 30 ||
		time.Duration(s.SubmitToTicket.P50) < 20*time.Millisecond || s.SubmitToResolved.P99 < s.SubmitToTicket.P50 {
		t.Fatalf("summary %+v", s)
	}
	// The history records: one accepted submission per inquiry, with the
	// trace id the service was asked to join, and the desk's commands.
	if len(res.Submissions) != 30 {
		t.Fatalf("%d submissions", len(res.Submissions))
	}
	ids := map[string]tfhistory.Submission{}
	for _, sub := range res.Submissions {
		if !sub.Accepted || sub.Status != 200 || sub.InquiryID == "" || sub.TraceID.IsZero() || sub.Email == "" || sub.Language == "" {
			t.Fatalf("submission %+v", sub)
		}
		if !f.SawTrace(sub.TraceID.String()) {
			t.Fatalf("trace %s of %s never reached the service", sub.TraceID, sub.InquiryID)
		}
		ids[sub.InquiryID] = sub
	}
	kinds := map[string]int{}
	perTicket := map[string][]string{}
	for i, c := range res.Commands {
		if _, ok := ids[c.TicketID]; !ok || !c.Accepted || c.TraceID.IsZero() {
			t.Fatalf("command %+v", c)
		}
		if i > 0 && c.At.Before(res.Commands[i-1].At) {
			t.Fatal("commands not in time order")
		}
		kinds[c.Kind]++
		perTicket[c.TicketID] = append(perTicket[c.TicketID], c.Kind)
	}
	if kinds["qualify"] != 30 || kinds["resolve"] != 30 || kinds["block"] != kinds["unblock"] || kinds["block"] == 0 || kinds["assign"] == 0 {
		t.Fatalf("commands %v", kinds)
	}
	for id, ks := range perTicket {
		if ks[0] != "qualify" || ks[len(ks)-1] != "resolve" {
			t.Fatalf("%s: commands in order %v", id, ks)
		}
	}
	for _, o := range res.Outcomes {
		if o.TicketStatus != statusResolved || o.InquiryStatus != inquiryResolved || o.Notices != 1 {
			t.Fatalf("outcome %+v", o)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(progress) == 0 || progress[len(progress)-1].Phase != "done" || progress[len(progress)-1].Resolved != 30 {
		t.Fatalf("progress %+v", progress)
	}
}

func TestRunIsPacedByTheRate(t *testing.T) {
	f := startDesk(t, fakedesk.Options{})
	cfg := baseConfig(f.URL())
	cfg.Inquiries, cfg.Rate = 11, 50 // 10 gaps of 20 ms
	cfg.Shares = Shares{}
	res, err := Run(t.Context(), cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	subs := res.Submissions
	if span := subs[len(subs)-1].At.Sub(subs[0].At); span < 190*time.Millisecond {
		t.Fatalf("11 submissions at 50/s took %s, want ≥ 200ms", span)
	}
	if res.Summary.Rate > 55 || len(res.Commands) != 0 || res.Summary.Resolved != 0 {
		t.Fatalf("summary %+v", res.Summary)
	}
}

func TestRunRetriesTransientCommandErrorsAndRecordsEveryAttempt(t *testing.T) {
	f := startDesk(t, fakedesk.Options{FailCommand: func(kind string, attempt int) bool { return kind == "resolve" && attempt == 1 }})
	cfg := baseConfig(f.URL())
	cfg.Inquiries = 10
	res, err := Run(t.Context(), cfg, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		t.Fatal(err)
	}
	var failed, ok int
	for _, c := range res.Commands {
		if c.Kind != "resolve" {
			continue
		}
		if c.Accepted {
			ok++
		} else if c.Status == 503 {
			failed++
		}
	}
	if failed != 10 || ok != 10 || res.Summary.Resolved != 10 || res.Summary.CommandErrors != 10 {
		t.Fatalf("resolve attempts: %d failed, %d ok; summary %+v", failed, ok, res.Summary)
	}
}

func TestRunCountsRejectedSubmissionsAndDoesNotRetryThem(t *testing.T) {
	f := startDesk(t, fakedesk.Options{FailSubmit: func(n int) bool { return n%3 == 0 }})
	cfg := baseConfig(f.URL())
	cfg.Inquiries = 12
	res, err := Run(t.Context(), cfg, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.Submitted != 12 || s.Accepted != 8 || s.Rejected != 4 || s.Resolved != 8 || f.Submits() != 12 {
		t.Fatalf("summary %+v, service saw %d submissions", s, f.Submits())
	}
	var rejected int
	for _, sub := range res.Submissions {
		if !sub.Accepted {
			rejected++
			if sub.Status != 503 || sub.InquiryID != "" {
				t.Fatalf("rejected submission %+v", sub)
			}
		}
	}
	if rejected != 4 || !strings.Contains(strings.Join(s.Errors, ";"), "503") {
		t.Fatalf("rejected %d, errors %v", rejected, s.Errors)
	}
}

func TestRunReportsTicketsThatNeverGetTranslated(t *testing.T) {
	f := startDesk(t, fakedesk.Options{TranslateAfter: -1})
	cfg := baseConfig(f.URL())
	cfg.Inquiries = 6
	cfg.Languages = map[string]float64{"pl": 1}
	cfg.TicketTimeout = 300 * time.Millisecond
	cfg.Settle = 200 * time.Millisecond
	res, err := Run(t.Context(), cfg, rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.Stuck != 6 || s.Ticketed != 6 || s.Translated != 0 || s.NonEnglish != 6 || len(res.Commands) != 0 || s.Failed != 6 {
		t.Fatalf("summary %+v", s)
	}
}

func TestRunStopsCleanlyOnCancel(t *testing.T) {
	f := startDesk(t, fakedesk.Options{})
	cfg := baseConfig(f.URL())
	cfg.Inquiries, cfg.Rate = 1000, 50
	ctx, cancel := context.WithCancel(t.Context())
	cfg.Progress = func(p Progress) {
		if p.Submitted >= 5 {
			cancel()
		}
	}
	cfg.ProgressEvery = 10 * time.Millisecond
	begin := time.Now()
	res, err := Run(ctx, cfg, rand.New(rand.NewPCG(6, 6)))
	if !errors.Is(err, context.Canceled) || res == nil {
		t.Fatalf("err %v, result %v", err, res != nil)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Fatalf("took %s to stop", d)
	}
	if s := res.Summary; s.Submitted < 5 || s.Submitted > 100 || len(res.Submissions) != s.Submitted {
		t.Fatalf("summary %+v", s)
	}
}

func TestRunStopsAtItsOwnTimeout(t *testing.T) {
	f := startDesk(t, fakedesk.Options{CreateAfter: time.Hour}) // tickets never appear
	cfg := baseConfig(f.URL())
	cfg.Inquiries = 3
	cfg.Timeout = 300 * time.Millisecond
	res, err := Run(t.Context(), cfg, rand.New(rand.NewPCG(7, 7)))
	if !errors.Is(err, context.DeadlineExceeded) || res == nil || res.Summary.Accepted != 3 || res.Summary.Ticketed != 0 {
		t.Fatalf("err %v, result %+v", err, res)
	}
}

func TestSummaryTableNamesEveryStage(t *testing.T) {
	s := Summary{Planned: 2, Submitted: 2, Accepted: 2, Ticketed: 2, Resolved: 1, NotifyChecked: true, Notified: 1,
		SubmitToTicket: latencyOf([]time.Duration{time.Millisecond, 3 * time.Millisecond})}
	var b strings.Builder
	if err := s.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"accepted", "ticketed", "translated", "resolved", "customer notified", "submit → ticket", "submit → resolved", "100.0%", "50.0%"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if l := latencyOf([]time.Duration{5, 1, 4, 2, 3}); l.P50 != 3 || l.P99 != 5 || l.Max != 5 || l.N != 5 {
		t.Fatalf("latency %+v", l)
	}
}

// A system with nothing in flight will not converge any further: settle
// ends after three quiet sweeps instead of waiting out Settle.
func TestSettleEndsWhenTheSystemIsQuiet(t *testing.T) {
	f := startDesk(t, fakedesk.Options{TranslateAfter: -1}) // never converges
	cfg := baseConfig(f.URL())
	cfg.Inquiries = 3
	cfg.Languages = map[string]float64{"pl": 1}
	cfg.TicketTimeout = 300 * time.Millisecond
	cfg.Settle = 10 * time.Minute
	var calls atomic.Int32
	cfg.Quiet = func(context.Context) error {
		calls.Add(1)
		return nil
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatalf("settle did not end on a quiet system: %v", err)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("quiet asked %d times, want 3 (three quiet sweeps in a row)", n)
	}
	if res.Summary.Translated != 0 || res.Summary.Ticketed != 3 {
		t.Fatalf("summary %+v", res.Summary)
	}
}

// Hold blocks the submission it is called for: the items after it are
// submitted only once it returns, and an error stops submitting.
func TestHoldGatesTheSubmissions(t *testing.T) {
	f := startDesk(t, fakedesk.Options{})
	cfg := baseConfig(f.URL())
	cfg.Inquiries, cfg.Rate = 8, 200
	cfg.Shares = Shares{}
	release := make(chan struct{})
	var releasedAt time.Time
	cfg.Hold = func(ctx context.Context, next int) error {
		if next != 3 {
			return nil
		}
		select {
		case <-release:
			releasedAt = time.Now()
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	go func() {
		// Released only once the first three were submitted: polled, not slept.
		for f.Submits() < 3 {
			time.Sleep(5 * time.Millisecond)
		}
		close(release)
	}()
	res, err := Run(t.Context(), cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Submissions) != 8 {
		t.Fatalf("%d submissions, want 8", len(res.Submissions))
	}
	for i, s := range res.Submissions {
		if after := !s.At.Before(releasedAt); after != (i >= 3) {
			t.Errorf("submission %d at %s, hold released at %s", i, s.At.Format("15:04:05.000"), releasedAt.Format("15:04:05.000"))
		}
	}

	cfg.Hold = func(ctx context.Context, next int) error {
		if next == 2 {
			return errors.New("stop")
		}
		return nil
	}
	res, err = Run(t.Context(), cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Submissions) != 2 {
		t.Errorf("%d submissions after a hold that failed at the 3rd, want 2", len(res.Submissions))
	}
}

// HoldDesk holds every ticket's commands after qualification: the desk
// qualifies all of them, and resolves none before the hold is released.
func TestHoldDeskGatesTheCommandsAfterQualification(t *testing.T) {
	f := startDesk(t, fakedesk.Options{})
	cfg := baseConfig(f.URL())
	cfg.Inquiries, cfg.Rate = 5, 200
	cfg.Shares = Shares{Qualify: 1, Resolve: 1}
	release := make(chan struct{})
	var (
		waiting    atomic.Int64
		releasedAt time.Time
		once       sync.Once
	)
	cfg.HoldDesk = func(ctx context.Context) error {
		// Released once all five lifecycles wait: keyed to the calls, not slept.
		if waiting.Add(1) == 5 {
			once.Do(func() { releasedAt = time.Now(); close(release) })
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	res, err := Run(t.Context(), cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	var qualified, resolved int
	for _, c := range res.Commands {
		switch c.Kind {
		case "qualify":
			qualified++
			if !c.At.Before(releasedAt) {
				t.Errorf("qualify of %s at %s, after the release at %s", c.TicketID, c.At.Format("15:04:05.000"), releasedAt.Format("15:04:05.000"))
			}
		case "resolve":
			resolved++
			if c.At.Before(releasedAt) {
				t.Errorf("resolve of %s at %s, before the release at %s", c.TicketID, c.At.Format("15:04:05.000"), releasedAt.Format("15:04:05.000"))
			}
		}
	}
	if qualified != 5 || resolved != 5 || res.Summary.Resolved != 5 {
		t.Errorf("%d qualified, %d resolved (summary %d), want 5 each", qualified, resolved, res.Summary.Resolved)
	}

	cfg.HoldDesk = func(context.Context) error { return errors.New("stop") }
	res, err = Run(t.Context(), cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Resolved != 0 {
		t.Errorf("%d resolved after a desk hold that failed, want 0", res.Summary.Resolved)
	}
}
