package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ErrClosed is returned by a closed Conn.
var ErrClosed = errors.New("messaging connection closed")

// ErrPermanent marks connect failures that retrying cannot fix: the topology
// conflicts with what the broker has (PRECONDITION_FAILED), names an
// exchange type the broker lacks (COMMAND_INVALID), or access is refused.
var ErrPermanent = errors.New("permanent broker error")

// errHandshakeTimeout marks a handshake cut off by DialTimeout. amqp091
// reports any socket error while it waits for connection.tune as bad
// credentials (ErrCredentials); a timed-out read there says nothing about
// the credentials, so it is retried like any other failed dial.
var errHandshakeTimeout = errors.New("AMQP handshake did not finish within the dial timeout")

func permanent(err error) bool {
	if errors.Is(err, errHandshakeTimeout) {
		return false
	}
	var aerr *amqp.Error
	if errors.As(err, &aerr) {
		switch aerr.Code {
		case amqp.PreconditionFailed, amqp.CommandInvalid, amqp.AccessRefused, amqp.NotAllowed:
			return true
		}
	}
	return errors.Is(err, amqp.ErrCredentials) || errors.Is(err, amqp.ErrVhost)
}

// ConnConfig describes one AMQP connection with recovery.
type ConnConfig struct {
	// URL is the AMQP URL (for a lab service: its Toxiproxy listener).
	URL string
	// Fallbacks are further AMQP URLs (other nodes of a cluster). A connect
	// tries the address that worked last (URL at first) and, when the dial,
	// handshake or topology declaration fails there, the next one in the
	// order URL, Fallbacks…, wrapping around; the backoff starts only after
	// every address failed once. Empty: URL alone, as before.
	Fallbacks []string
	// Name is the connection_name the broker shows (e.g. "tickets-consumer").
	Name string
	// DialTimeout bounds TCP connect plus the AMQP handshake. Default 5 s.
	DialTimeout time.Duration
	// Heartbeat is the AMQP heartbeat interval. Default 10 s.
	Heartbeat time.Duration
	// Backoff paces reconnect attempts.
	Backoff Backoff
	// Topology is declared on every new connection, before it is handed out
	// (a queue whose node is down is skipped: Topology.DeclareOn).
	Topology Topology
}

func (c *ConnConfig) setDefaults() {
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 10 * time.Second
	}
	c.Backoff.setDefaults()
}

// Validate reports what is wrong with the config.
func (c ConnConfig) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("AMQP URL must be set"))
	} else if _, err := amqp.ParseURI(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("AMQP URL: %w", err))
	}
	for i, u := range c.Fallbacks {
		if _, err := amqp.ParseURI(u); err != nil {
			errs = append(errs, fmt.Errorf("fallback AMQP URL %d: %w", i+1, err))
		}
	}
	if c.DialTimeout < 0 || c.Heartbeat < 0 {
		errs = append(errs, errors.New("dial timeout and heartbeat must not be negative"))
	}
	errs = append(errs, c.Backoff.Validate(), c.Topology.Validate())
	return errors.Join(errs...)
}

// Conn is an AMQP connection that re-dials on demand. amqp091-go does not
// reconnect by itself here: when the connection is lost, the next Channel call
// dials again with backoff and re-declares the topology before returning.
// It is safe for concurrent use.
type Conn struct {
	cfg   ConnConfig
	log   *slog.Logger
	rnd   *lockedRand
	stats *Stats

	dialing chan struct{} // one-slot semaphore: one (re)connect at a time

	mu     sync.Mutex
	cur    *amqp.Connection
	raw    net.Conn
	gen    uint64
	closed bool
	// addr indexes addrs(): the address of the current or last connection.
	addr int
}

// addrs is URL followed by the fallbacks.
func (c *Conn) addrs() []string { return append([]string{c.cfg.URL}, c.cfg.Fallbacks...) }

// newConn returns a Conn that connects lazily, on the first Channel call.
func newConn(cfg ConnConfig, log *slog.Logger, rnd *lockedRand, stats *Stats) (*Conn, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("connection %s: %w", cfg.Name, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if stats == nil {
		stats = &Stats{}
	}
	if rnd == nil {
		rnd = &lockedRand{}
	}
	return &Conn{cfg: cfg, log: log.With("connection", cfg.Name), rnd: rnd, stats: stats, dialing: make(chan struct{}, 1)}, nil
}

// Channel opens a new channel, connecting (with backoff, until ctx ends) if
// there is no live connection.
func (c *Conn) Channel(ctx context.Context) (*amqp.Channel, error) {
	select {
	case c.dialing <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.dialing }()
	failures := 0
	for {
		c.mu.Lock()
		closed, cur := c.closed, c.cur
		c.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if cur != nil && !cur.IsClosed() {
			ch, err := cur.Channel()
			if err == nil {
				return ch, nil
			}
			c.log.Warn("Channel open failed, reconnecting", "err", err)
			c.Reset()
		}
		err := c.connectAny(ctx)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if permanent(err) {
			return nil, fmt.Errorf("%w: %w", ErrPermanent, err)
		}
		d := c.rnd.delay(c.cfg.Backoff, failures)
		failures++
		c.log.Warn("Connect failed, backing off", "err", err, "attempt", failures, "backoff", d)
		if err := sleepCtx(ctx, d); err != nil {
			return nil, err
		}
	}
}

// connectAny connects to the first address that works, starting with the
// one that worked last; it returns the last address's error when none did,
// or at once on a permanent error.
func (c *Conn) connectAny(ctx context.Context) error {
	addrs := c.addrs()
	c.mu.Lock()
	start := c.addr
	c.mu.Unlock()
	var err error
	for i := range addrs {
		n := (start + i) % len(addrs)
		if err = c.connect(ctx, addrs[n]); err == nil {
			c.mu.Lock()
			moved := c.addr != n
			c.addr = n
			c.mu.Unlock()
			if moved {
				c.log.Info("Connected to another broker address", "address", n+1, "of", len(addrs))
			}
			return nil
		}
		if ctx.Err() != nil || permanent(err) || errors.Is(err, ErrClosed) {
			return err
		}
		if len(addrs) > 1 {
			c.log.Warn("Broker address failed, trying the next", "address", n+1, "of", len(addrs), "err", err)
		}
	}
	return err
}

func (c *Conn) connect(ctx context.Context, url string) error {
	var raw *timeoutConn
	var rawMu sync.Mutex
	cfg := amqp.Config{
		Heartbeat:  c.cfg.Heartbeat,
		Properties: amqp.Table{"connection_name": c.cfg.Name},
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: c.cfg.DialTimeout}
			nc, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// The handshake must finish within the timeout; amqp091 clears
			// the deadline once the connection is open.
			if err := nc.SetDeadline(time.Now().Add(c.cfg.DialTimeout)); err != nil {
				_ = nc.Close()
				return nil, err
			}
			tc := &timeoutConn{Conn: nc}
			rawMu.Lock()
			raw = tc
			rawMu.Unlock()
			return tc, nil
		},
	}
	conn, err := amqp.DialConfig(url, cfg)
	rawMu.Lock()
	nc := raw
	rawMu.Unlock()
	if err != nil {
		if nc != nil {
			_ = nc.Close()
			if nc.timedOut.Load() {
				return fmt.Errorf("dial: %w (%s; the client library said %q)", errHandshakeTimeout, c.cfg.DialTimeout, err)
			}
		}
		return fmt.Errorf("dial: %w", err)
	}
	if err := c.declare(conn); err != nil {
		_ = nc.Close()
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		_ = nc.Close()
		return ErrClosed
	}
	c.cur, c.raw = conn, nc
	c.gen++
	if c.gen > 1 {
		c.stats.Reconnects.Add(1)
		c.log.Info("Reconnected", "generation", c.gen)
	} else {
		c.log.Debug("Connected")
	}
	return nil
}

// timeoutConn is a net.Conn that remembers whether a read or write hit
// its deadline, so a handshake cut off by the dial timeout can be told
// from one the broker refused.
type timeoutConn struct {
	net.Conn
	timedOut atomic.Bool
}

func (t *timeoutConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	t.note(err)
	return n, err
}

func (t *timeoutConn) Write(p []byte) (int, error) {
	n, err := t.Conn.Write(p)
	t.note(err)
	return n, err
}

func (t *timeoutConn) note(err error) {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.timedOut.Store(true)
	}
}

// declare declares the topology on a new connection; a queue whose node is
// down is skipped and logged (Topology.DeclareOn).
func (c *Conn) declare(conn *amqp.Connection) error {
	skipped, err := c.cfg.Topology.DeclareOn(conn)
	if len(skipped) > 0 {
		c.log.Warn("Queues whose node is down left as they are", "queues", skipped)
	}
	if err != nil {
		return fmt.Errorf("declare topology: %w", err)
	}
	return nil
}

// Reset drops the current connection at the socket, without the AMQP close
// handshake (which would hang on a dead link). Every channel on it closes;
// the next Channel call reconnects.
func (c *Conn) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.raw != nil {
		_ = c.raw.Close()
	}
	c.cur, c.raw = nil, nil
}

// Connected reports whether the connection is open right now, as far as
// the client knows: a reset or closed link is seen at once, a silent one at
// the next missed heartbeat.
func (c *Conn) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur != nil && !c.cur.IsClosed()
}

// waitLost blocks until the current connection closes (at once when there
// is none) or ctx ends.
func (c *Conn) waitLost(ctx context.Context) {
	c.mu.Lock()
	cur := c.cur
	c.mu.Unlock()
	if cur == nil {
		return
	}
	closed := cur.NotifyClose(make(chan *amqp.Error, 1))
	select {
	case <-closed:
	case <-ctx.Done():
	}
}

// keep holds the connection up until ctx ends: it connects, waits until the
// connection is lost, and connects again (with backoff), so a connection
// that only publishes now and then is back before its next publish and
// Connected tells the truth about an idle service.
func (c *Conn) keep(ctx context.Context, reconnect Backoff) {
	failures := 0
	for ctx.Err() == nil {
		ch, err := c.Channel(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return
			}
			d := c.rnd.delay(reconnect, failures)
			failures++
			c.log.Warn("Keeping the connection up failed", "err", err, "backoff", d)
			if sleepCtx(ctx, d) != nil {
				return
			}
			continue
		}
		failures = 0
		_ = ch.Close()
		c.waitLost(ctx)
	}
}

// Address is the index of the current (or last) connection's address: 0
// for URL, i for Fallbacks[i-1].
func (c *Conn) Address() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// Generation counts successful connects (1 after the first).
func (c *Conn) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Close closes the connection; later Channel calls fail with ErrClosed.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var err error
	if c.cur != nil && !c.cur.IsClosed() {
		err = c.cur.CloseDeadline(time.Now().Add(2 * time.Second))
		if errors.Is(err, amqp.ErrClosed) {
			err = nil
		}
	}
	if c.raw != nil {
		_ = c.raw.Close()
	}
	c.cur, c.raw = nil, nil
	return err
}
