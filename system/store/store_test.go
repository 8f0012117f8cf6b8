package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), Config{Path: filepath.Join(t.TempDir(), "svc.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

var testMigrations = Migrations{Component: "test", FS: fstest.MapFS{
	"0001_init.sql": {Data: []byte("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);")},
	"0002_more.sql": {Data: []byte("CREATE TABLE b (id INTEGER PRIMARY KEY);\nINSERT INTO b (id) VALUES (1);")},
	"README.md":     {Data: []byte("ignored")},
}}

func TestMigrateAppliesOnce(t *testing.T) {
	db := openTest(t)
	for range 2 {
		if err := db.Migrate(t.Context(), testMigrations); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.QueryRow(t.Context(), "SELECT COUNT(*) FROM b").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("migration 2 ran %d times, want once", n)
	}
	if err := db.QueryRow(t.Context(), "SELECT COUNT(*) FROM schema_migrations WHERE component='test'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("schema_migrations has %d rows, want 2", n)
	}
	var mode string
	if err := db.QueryRow(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Fatalf("journal_mode = %q, want wal", mode)
	}
}

func TestMigrationsRejectBadNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"misnamed":  {"init.sql": {Data: []byte("SELECT 1")}},
		"duplicate": {"0001_a.sql": {Data: []byte("SELECT 1")}, "0001_b.sql": {Data: []byte("SELECT 1")}},
	} {
		if _, err := (Migrations{Component: name, FS: fsys}).List(); err == nil {
			t.Errorf("%s: List accepted it", name)
		}
	}
}

func TestInTxCommitsAndRollsBack(t *testing.T) {
	db := openTest(t)
	if err := db.Migrate(t.Context(), testMigrations); err != nil {
		t.Fatal(err)
	}
	committed := 0
	err := db.InTx(t.Context(), func(ctx context.Context, tx *Tx) error {
		tx.OnCommit(func() { committed++ })
		_, err := tx.Exec(ctx, "INSERT INTO a (v) VALUES ('kept')")
		return err
	})
	if err != nil || committed != 1 {
		t.Fatalf("commit: err=%v, on-commit ran %d times", err, committed)
	}
	boom := errors.New("boom")
	err = db.InTx(t.Context(), func(ctx context.Context, tx *Tx) error {
		tx.OnCommit(func() { committed++ })
		if _, err := tx.Exec(ctx, "INSERT INTO a (v) VALUES ('dropped')"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || committed != 1 {
		t.Fatalf("rollback: err=%v, on-commit ran %d times", err, committed)
	}
	var n int
	if err := db.QueryRow(t.Context(), "SELECT COUNT(*) FROM a").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d rows, want 1 (rolled back row must be gone)", n)
	}
}

func TestReadersCannotWrite(t *testing.T) {
	db := openTest(t)
	if err := db.Migrate(t.Context(), testMigrations); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(t.Context(), "INSERT INTO a (v) VALUES ('x') RETURNING id")
	if err == nil {
		rows.Close()
		t.Fatal("read pool accepted a write")
	}
}

func TestConcurrentTransactionsSerialize(t *testing.T) {
	db := openTest(t)
	if err := db.Migrate(t.Context(), testMigrations); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 25 {
				if err := db.InTx(t.Context(), func(ctx context.Context, tx *Tx) error {
					_, err := tx.Exec(ctx, "INSERT INTO a (v) VALUES ('c')")
					return err
				}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(t.Context(), "SELECT COUNT(*) FROM a").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 200 {
		t.Fatalf("%d rows, want 200", n)
	}
}

func TestGroupCommitIsolatesFailures(t *testing.T) {
	db := openTest(t)
	if err := db.Migrate(t.Context(), testMigrations); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	hooks, failures := 0, 0
	for i := range 300 {
		wg.Go(func() {
			err := db.InTx(t.Context(), func(ctx context.Context, tx *Tx) error {
				tx.OnCommit(func() {
					mu.Lock()
					hooks++
					mu.Unlock()
				})
				if _, err := tx.Exec(ctx, "INSERT INTO a (v) VALUES (?)", fmt.Sprint(i)); err != nil {
					return err
				}
				if i%3 == 0 {
					return errors.New("fail")
				}
				return nil
			})
			if err != nil {
				mu.Lock()
				failures++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var n int
	if err := db.QueryRow(t.Context(), "SELECT COUNT(*) FROM a").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 200 || hooks != 200 || failures != 100 {
		t.Fatalf("rows=%d hooks=%d failures=%d, want 200/200/100", n, hooks, failures)
	}
	var bad int
	if err := db.QueryRow(t.Context(), "SELECT COUNT(*) FROM a WHERE CAST(v AS INTEGER) % 3 = 0").Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Fatalf("%d rows of failed calls committed", bad)
	}
}

func TestInTxPanicReachesCallerAndRollsBack(t *testing.T) {
	db := openTest(t)
	if err := db.Migrate(t.Context(), testMigrations); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want boom", p)
			}
		}()
		_ = db.InTx(t.Context(), func(ctx context.Context, tx *Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO a (v) VALUES ('x')"); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	var n int
	if err := db.QueryRow(t.Context(), "SELECT COUNT(*) FROM a").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("panicking call left %d rows", n)
	}
	// The store still works.
	if err := db.InTx(t.Context(), func(ctx context.Context, tx *Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO a (v) VALUES ('y')")
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func TestInTxAfterClose(t *testing.T) {
	db, err := Open(t.Context(), Config{Path: filepath.Join(t.TempDir(), "c.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.InTx(t.Context(), func(context.Context, *Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}
