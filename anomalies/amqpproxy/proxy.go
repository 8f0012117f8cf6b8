package amqpproxy

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Proxy.
type Config struct {
	// Upstream is the broker's host:port (or the next proxy's).
	Upstream string
	// Listen is where clients connect; default "127.0.0.1:0" (a free port,
	// see Addr).
	Listen string
	// Log receives connection and fault logs; nil discards them.
	Log *slog.Logger
	// Rand is the only source of randomness (probabilities, reorder
	// permutations). Pass one seeded from the run seed; nil means a source
	// seeded with 0, which is deterministic too.
	Rand *rand.Rand
	// OnEvent, when set, is called for every applied fault, after it was
	// recorded, from the goroutine that applied it: keep it quick.
	OnEvent func(Event)
	// MaxEvents bounds the event list (default 100000); later events are
	// only counted.
	MaxEvents int
	// DialTimeout bounds connecting to Upstream (default 10s).
	DialTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	if c.MaxEvents == 0 {
		c.MaxEvents = 100000
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 10 * time.Second
	}
}

// Validate reports configuration errors.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Upstream); err != nil {
		errs = append(errs, fmt.Errorf("upstream %q: want host:port: %w", c.Upstream, err))
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("listen %q: want host:port: %w", c.Listen, err))
		}
	}
	if c.MaxEvents < 0 {
		errs = append(errs, fmt.Errorf("max events %d: must be >= 0", c.MaxEvents))
	}
	if c.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("dial timeout %s: must be >= 0", c.DialTimeout))
	}
	return errors.Join(errs...)
}

// Proxy is an AMQP 0-9-1 proxy that applies message-level fault rules. All
// methods are safe for concurrent use.
type Proxy struct {
	cfg Config
	log *slog.Logger
	ln  net.Listener

	rules    atomic.Pointer[ruleSet]
	rulesMu  sync.Mutex // serialises rule changes
	ruleSeq  int
	decideMu sync.Mutex // guards rnd and the Every/Probability decisions
	rnd      *rand.Rand
	ev       *recorder

	mu       sync.Mutex
	links    map[*link]struct{}
	nextLink uint64
	closed   bool
	wg       sync.WaitGroup
}

// New validates cfg, listens and starts proxying in the background.
func New(cfg Config) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("amqpproxy config: %w", err)
	}
	cfg.setDefaults()
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "amqpproxy")
	rnd := cfg.Rand
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(0, 0))
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("amqpproxy listen on %s: %w", cfg.Listen, err)
	}
	p := &Proxy{
		cfg:   cfg,
		log:   log,
		ln:    ln,
		rnd:   rnd,
		ev:    &recorder{log: log, max: cfg.MaxEvents, onEvent: cfg.OnEvent, counts: map[Fault]int64{}},
		links: map[*link]struct{}{},
	}
	p.rules.Store(newRuleSet(nil))
	p.wg.Add(1)
	go p.accept()
	log.Info("AMQP fault proxy listening", "listen", p.Addr(), "upstream", cfg.Upstream)
	return p, nil
}

// Addr is the host:port clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Upstream is the address the proxy forwards to.
func (p *Proxy) Upstream() string { return p.cfg.Upstream }

// Close stops listening, closes every proxied connection and waits for
// their goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	err := p.ln.Close()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.shutdown(errors.New("proxy closed"))
	}
	p.wg.Wait()
	return err
}

// Connections reports how many client connections are being proxied.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if !closed {
				p.log.Error("Accept failed; proxy stops accepting", "err", err)
			}
			return
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = c.Close()
			return
		}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	broker, err := net.DialTimeout("tcp", p.cfg.Upstream, p.cfg.DialTimeout)
	if err != nil {
		p.log.Warn("Upstream unreachable; closing client connection", "upstream", p.cfg.Upstream, "err", err)
		_ = client.Close()
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = client.Close()
		_ = broker.Close()
		return
	}
	p.nextLink++
	l := newLink(p, p.nextLink, client, broker)
	p.links[l] = struct{}{}
	p.mu.Unlock()
	l.log.Debug("Proxying connection")
	l.run()
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// AddRule validates r, fills its defaults and installs it; it applies to
// messages from now on, on existing connections too. It returns the
// installed rule (with its ID).
func (p *Proxy) AddRule(r Rule) (Rule, error) {
	r = r.clone()
	r.setDefaults()
	if err := r.Validate(); err != nil {
		return Rule{}, fmt.Errorf("fault rule: %w", err)
	}
	p.rulesMu.Lock()
	defer p.rulesMu.Unlock()
	cur := p.rules.Load().all
	if r.ID == "" {
		for {
			p.ruleSeq++
			r.ID = "r" + strconv.Itoa(p.ruleSeq)
			if !slices.ContainsFunc(cur, func(x *rule) bool { return x.ID == r.ID }) {
				break
			}
		}
	} else if slices.ContainsFunc(cur, func(x *rule) bool { return x.ID == r.ID }) {
		return Rule{}, fmt.Errorf("fault rule %q: %w", r.ID, ErrRuleExists)
	}
	p.rules.Store(newRuleSet(append(slices.Clip(cur), &rule{Rule: r, at: r.point(), kind: kindOf(r.Fault)})))
	p.log.Info("Fault rule added", "rule", r.ID, "fault", string(r.Fault), "on", string(r.point()))
	return r.clone(), nil
}

// Errors of the rules API.
var (
	ErrRuleExists   = errors.New("a rule with this id exists")
	ErrRuleNotFound = errors.New("no rule with this id")
)

// RemoveRule uninstalls rule id. Messages the rule already acts on (held,
// marked) finish their fault.
func (p *Proxy) RemoveRule(id string) error {
	p.rulesMu.Lock()
	defer p.rulesMu.Unlock()
	cur := p.rules.Load().all
	i := slices.IndexFunc(cur, func(x *rule) bool { return x.ID == id })
	if i < 0 {
		return fmt.Errorf("fault rule %q: %w", id, ErrRuleNotFound)
	}
	p.rules.Store(newRuleSet(slices.Delete(slices.Clone(cur), i, i+1)))
	p.log.Info("Fault rule removed", "rule", id)
	return nil
}

// ClearRules uninstalls every rule.
func (p *Proxy) ClearRules() {
	p.rulesMu.Lock()
	defer p.rulesMu.Unlock()
	p.rules.Store(newRuleSet(nil))
	p.log.Info("Fault rules cleared")
}

// Rules lists the installed rules, in the order they are evaluated, with
// their counters.
func (p *Proxy) Rules() []RuleStatus {
	all := p.rules.Load().all
	out := make([]RuleStatus, len(all))
	for i, r := range all {
		out[i] = r.status()
	}
	return out
}

// Rule returns one installed rule.
func (p *Proxy) Rule(id string) (RuleStatus, error) {
	for _, r := range p.rules.Load().all {
		if r.ID == id {
			return r.status(), nil
		}
	}
	return RuleStatus{}, fmt.Errorf("fault rule %q: %w", id, ErrRuleNotFound)
}

// Evidence returns a copy of the counters and events recorded so far.
func (p *Proxy) Evidence() Evidence { return p.ev.snapshot() }

// Count returns how many times fault f was applied.
func (p *Proxy) Count(f Fault) int64 {
	p.ev.mu.Lock()
	defer p.ev.mu.Unlock()
	return p.ev.counts[f]
}

// ResetEvidence clears counters and events (rule counters are kept).
func (p *Proxy) ResetEvidence() { p.ev.reset() }

// decide returns the first rule that matches info and triggers, counting
// matches and drawing randomness in one critical section so that a seeded
// source gives the same decisions for the same message sequence.
func (p *Proxy) decide(rules []*rule, info *msgInfo, ackRequired, confirming bool) *rule {
	if len(rules) == 0 {
		return nil
	}
	p.decideMu.Lock()
	defer p.decideMu.Unlock()
	for _, r := range rules {
		if r.exhausted() || !r.eligible(ackRequired, confirming) || !r.matches(info) {
			continue
		}
		n := r.matched.Add(1)
		if r.Every > 1 && n%int64(r.Every) != 0 {
			continue
		}
		if r.Probability != nil && p.rnd.Float64() >= *r.Probability {
			continue
		}
		r.applied.Add(1)
		return r
	}
	return nil
}

// permutation returns a seeded random order of n items that differs from
// the identity when n >= 2.
func (p *Proxy) permutation(n int) []int {
	p.decideMu.Lock()
	perm := p.rnd.Perm(n)
	p.decideMu.Unlock()
	if n >= 2 && slices.IsSorted(perm) {
		perm = append(perm[1:], perm[0])
	}
	return perm
}
