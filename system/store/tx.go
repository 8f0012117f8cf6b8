package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
)

// ErrClosed is returned by InTx after Close.
var ErrClosed = errors.New("store closed")

// InTx runs fn as one atomic unit of writes. It commits when fn returns nil
// and rolls back fn's writes otherwise (also when fn panics; the panic then
// goes on in the caller). After a successful commit the functions registered
// with Tx.OnCommit run, in order, in the caller's goroutine. The error is
// fn's error, or the commit's.
//
// Group commit: concurrent InTx calls are queued to one committer goroutine,
// which runs up to MaxBatch of them in one SQLite transaction, each inside
// its own SAVEPOINT, and commits once. A failing fn rolls back to its
// savepoint only; a failing commit fails every call of the batch. Each call
// is therefore still all-or-nothing, and calls apply in a serial order, but
// the commit cost (the WAL write) is shared. fn runs on the committer
// goroutine, so it must not call InTx or Exec itself (it would wait for itself).
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case db.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.quit:
		return ErrClosed
	}
	<-j.done // fn may be running: wait for it even if ctx ends
	if j.panicked != nil {
		panic(j.panicked)
	}
	if j.err != nil {
		return j.err
	}
	for _, f := range j.tx.onCommit {
		f()
	}
	return nil
}

// Stats are the group-commit counters: Calls/Batches is the mean batch size.
type Stats struct {
	Batches, Calls int64
}

// Stats returns the group-commit counters.
func (db *DB) Stats() Stats { return Stats{Batches: db.batches.Load(), Calls: db.calls.Load()} }

type job struct {
	ctx      context.Context
	fn       func(ctx context.Context, tx *Tx) error
	done     chan struct{}
	tx       *Tx
	err      error
	panicked any
}

func (db *DB) committer() {
	defer close(db.stopped)
	for {
		var batch []*job
		select {
		case j := <-db.jobs:
			batch = append(batch, j)
		case <-db.quit:
			return
		}
		// Yield once before collecting: callers that are runnable but have
		// not reached their send yet join this batch instead of each paying
		// a commit of its own.
		runtime.Gosched()
	collect:
		for len(batch) < db.maxBatch {
			select {
			case j := <-db.jobs:
				batch = append(batch, j)
			default:
				break collect
			}
		}
		db.batches.Add(1)
		db.calls.Add(int64(len(batch)))
		db.runBatch(batch)
		for _, j := range batch {
			close(j.done)
		}
		db.stmts.preparePending(db.w)
	}
}

// runBatch runs the jobs in one transaction, each in a savepoint.
func (db *DB) runBatch(batch []*job) {
	bg := context.Background()
	stx, err := db.w.BeginTx(bg, nil)
	if err != nil {
		for _, j := range batch {
			j.err = fmt.Errorf("begin transaction: %w", err)
		}
		return
	}
	stmts := &boundStmts{cache: &db.stmts, tx: stx}
	var ok []*job
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		if _, err := stmts.exec(bg, "SAVEPOINT job"); err != nil {
			db.abort(stx, batch[i:], ok, fmt.Errorf("savepoint: %w", err))
			return
		}
		j.tx = &Tx{tx: stx, stmts: stmts}
		j.err, j.panicked = call(j)
		if j.err != nil || j.panicked != nil {
			if _, err := stmts.exec(bg, "ROLLBACK TO job"); err != nil {
				db.abort(stx, batch[i+1:], ok, fmt.Errorf("rollback to savepoint: %w (after %w)", err, errOf(j)))
				return
			}
		}
		if _, err := stmts.exec(bg, "RELEASE job"); err != nil {
			db.abort(stx, batch[i+1:], append(ok, j), fmt.Errorf("release savepoint: %w", err))
			return
		}
		if j.err == nil && j.panicked == nil {
			ok = append(ok, j)
		}
	}
	if err := stx.Commit(); err != nil {
		for _, j := range ok {
			j.err = fmt.Errorf("commit: %w", err)
		}
	}
}

// boundStmts are the cached statements bound to one batch's transaction:
// binding a prepared statement to a transaction (sql.Tx.StmtContext) costs
// an allocation and a lookup, so each query is bound once per batch, not
// once per call. The calls of a batch run one after another on the
// committer goroutine, so it needs no lock.
type boundStmts struct {
	cache *stmtCache
	tx    *sql.Tx
	bound map[string]*sql.Stmt
}

// get returns query bound to the transaction, or nil when it is not
// prepared (yet).
func (b *boundStmts) get(ctx context.Context, query string) *sql.Stmt {
	if st, ok := b.bound[query]; ok {
		return st
	}
	st := b.cache.get(ctx, b.tx, query)
	if st != nil {
		if b.bound == nil {
			b.bound = map[string]*sql.Stmt{}
		}
		b.bound[query] = st
	}
	return st
}

// exec runs a statement without arguments (the batch's own savepoints).
func (b *boundStmts) exec(ctx context.Context, query string) (sql.Result, error) {
	if st := b.get(ctx, query); st != nil {
		return st.ExecContext(ctx)
	}
	return b.tx.ExecContext(ctx, query)
}

// abort rolls the whole transaction back: the jobs that had succeeded and
// those not run yet fail with err.
func (db *DB) abort(stx *sql.Tx, rest, ok []*job, err error) {
	_ = stx.Rollback()
	db.log.Warn("Group transaction aborted", "err", err)
	for _, j := range ok {
		j.err = err
	}
	for _, j := range rest {
		if j.err == nil && j.panicked == nil {
			j.err = err
		}
	}
}

func errOf(j *job) error {
	if j.err != nil {
		return j.err
	}
	return fmt.Errorf("panic: %v", j.panicked)
}

func call(j *job) (err error, panicked any) {
	defer func() {
		if p := recover(); p != nil {
			panicked = p
		}
	}()
	return j.fn(j.ctx, j.tx), nil
}

// Tx is one atomic unit of writes. It is not safe for concurrent use and is
// valid only inside the InTx callback that received it.
type Tx struct {
	tx       *sql.Tx
	stmts    *boundStmts
	onCommit []func()
}

// Exec runs a statement in the transaction (prepared once and cached).
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmts.get(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// Query runs a query in the transaction (it sees the transaction's writes).
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmts.get(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// QueryRow runs a single-row query in the transaction.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmts.get(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// OnCommit registers fn to run after the transaction commits. It never runs
// after a rollback.
func (t *Tx) OnCommit(fn func()) { t.onCommit = append(t.onCommit, fn) }

// stmtCache keeps statements prepared on the writer pool, so hot statements
// are parsed once. A statement cannot be prepared on the pool while the one
// writer connection is inside a transaction, so a query seen for the first
// time runs unprepared and is prepared by the committer between batches.
// The cache is bounded; past the bound statements run unprepared.
type stmtCache struct {
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool
}

const maxCachedStmts = 128

// get returns query bound to tx, or nil when it is not prepared (yet).
func (c *stmtCache) get(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	st, ok := c.m[query]
	if !ok && len(c.m)+len(c.pending) < maxCachedStmts && !multiStatement(query) {
		if c.pending == nil {
			c.pending = map[string]bool{}
		}
		c.pending[query] = true
	}
	c.mu.Unlock()
	if !ok {
		return nil
	}
	return tx.StmtContext(ctx, st)
}

// preparePending prepares the queries seen since the last call; the writer
// connection must be free.
func (c *stmtCache) preparePending(w *sql.DB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q := range c.pending {
		if st, err := w.Prepare(q); err == nil {
			if c.m == nil {
				c.m = map[string]*sql.Stmt{}
			}
			c.m[q] = st
		}
		delete(c.pending, q)
	}
}

// multiStatement reports a query with more than one statement: a prepared
// statement would run only the first, so such queries are never cached.
func multiStatement(q string) bool {
	return strings.Contains(strings.TrimRight(q, "; \t\r\n"), ";")
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		_ = st.Close()
	}
	c.m, c.pending = nil, nil
}
