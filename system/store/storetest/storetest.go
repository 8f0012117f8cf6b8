// Package storetest opens real SQLite databases for tests: a fresh file in
// the test's temp dir, migrated, closed when the test ends. Tests use the
// real store rather than a fake, so schema and SQL are exercised as in
// production.
package storetest

import (
	"path/filepath"
	"testing"

	"github.com/ticketflow-lab/tflab/system/store"
)

// Open creates <t.TempDir()>/<name>.db, applies migrations in order and
// registers its Close with t.Cleanup.
func Open(t testing.TB, name string, migrations ...store.Migrations) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), store.Config{Path: filepath.Join(t.TempDir(), name+".db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, m := range migrations {
		if err := db.Migrate(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	return db
}
