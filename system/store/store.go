package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Config describes one database.
type Config struct {
	// Path is the database file; its folder is created.
	Path string
	// BusyTimeout is how long a connection waits for a lock held by another
	// process before failing with SQLITE_BUSY. Default 5 s.
	BusyTimeout time.Duration
	// Readers is the size of the read-only pool. Default 4.
	Readers int
	// MaxBatch is the group-commit limit: up to MaxBatch concurrent InTx
	// calls share one SQLite transaction, each in its own savepoint. Default
	// 64; 1 turns group commit off.
	MaxBatch int
	// Log receives lifecycle events; nil discards.
	Log *slog.Logger
}

func (c *Config) setDefaults() {
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.Readers == 0 {
		c.Readers = 4
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 64
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Validate reports what is wrong with the config.
func (c Config) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("store path must be set"))
	}
	if c.BusyTimeout < 0 {
		errs = append(errs, fmt.Errorf("busy timeout %s is negative", c.BusyTimeout))
	}
	if c.Readers < 0 {
		errs = append(errs, fmt.Errorf("readers %d is negative", c.Readers))
	}
	if c.MaxBatch < 0 {
		errs = append(errs, fmt.Errorf("max batch %d is negative", c.MaxBatch))
	}
	return errors.Join(errs...)
}

// DB is an open service database. It is safe for concurrent use.
type DB struct {
	w    *sql.DB // single writer connection
	r    *sql.DB // read-only pool
	path string
	log  *slog.Logger

	maxBatch int
	jobs     chan *job
	quit     chan struct{}
	stopped  chan struct{}
	closeMu  sync.Once
	stmts    stmtCache

	batches, calls atomic.Int64
}

// Open opens (creating if needed) the database at cfg.Path in WAL mode.
// Apply migrations with Migrate before use.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("store config: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
		return nil, fmt.Errorf("create store folder: %w", err)
	}
	busy := fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds())
	wq := url.Values{}
	wq.Add("_pragma", busy)
	wq.Add("_pragma", "journal_mode(WAL)")
	wq.Add("_pragma", "synchronous(NORMAL)")
	wq.Add("_pragma", "foreign_keys(ON)")
	wq.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", cfg.Path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	// The writer connection creates the file and switches it to WAL before
	// any reader opens it.
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open store %s: %w", cfg.Path, err)
	}
	rq := url.Values{}
	rq.Add("_pragma", busy)
	rq.Add("_pragma", "query_only(ON)")
	r, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+rq.Encode())
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open store %s for reading: %w", cfg.Path, err)
	}
	r.SetMaxOpenConns(cfg.Readers)
	r.SetMaxIdleConns(cfg.Readers)
	db := &DB{
		w: w, r: r, path: cfg.Path, log: cfg.Log.With("component", "store", "path", cfg.Path),
		maxBatch: cfg.MaxBatch, jobs: make(chan *job), quit: make(chan struct{}), stopped: make(chan struct{}),
	}
	go db.committer()
	db.log.Debug("Store opened")
	return db, nil
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Close stops the committer (waiting for the batch in progress) and closes
// both pools. InTx calls after Close fail with ErrClosed.
func (db *DB) Close() error {
	db.closeMu.Do(func() { close(db.quit) })
	<-db.stopped
	db.stmts.close()
	return errors.Join(db.r.Close(), db.w.Close())
}

// Query runs a read-only query outside any transaction.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.r.QueryContext(ctx, query, args...)
}

// QueryRow runs a read-only single-row query outside any transaction.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.r.QueryRowContext(ctx, query, args...)
}

// Exec runs one write statement in its own transaction.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.w.ExecContext(ctx, query, args...)
}

// Querier runs statements: a *Tx (or a wrapper of one) inside a
// transaction, or a *DB outside one. Stores take it so one implementation
// serves both handler transactions and plain reads.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ Querier = (*Tx)(nil)
	_ Querier = (*DB)(nil)
)
