package sut

import (
	"context"
	"database/sql"
	"net/url"
	"os"

	_ "modernc.org/sqlite" // the services' database driver
)

// DB is one service's database file, as the lab placed it.
type DB struct {
	Service  string // "tickets"
	Instance string // "tickets-2"
	Path     string
}

// Snapshotter reads the services' databases at quiescence into the
// system's own snapshot value; the runner stores it as JSON in the
// history (Snapshot.System), and the system's invariants decode it with
// check.SystemSnapshot. A database that does not exist contributes
// nothing.
type Snapshotter func(ctx context.Context, dbs []DB) (any, error)

// OpenReadOnly opens a service database for reading while the service may
// still write it (WAL lets readers in).
func OpenReadOnly(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("mode", "ro")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "query_only(ON)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// HasTable reports whether the database has the table.
func HasTable(ctx context.Context, db *sql.DB, table string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n)
	return n > 0, err
}
