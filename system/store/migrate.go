package store

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Migrations is one component's versioned schema: files named NNNN_name.sql
// at the root of FS (e.g. an embed.FS of a migrations folder, via fs.Sub).
type Migrations struct {
	// Component names the set ("messaging", "tickets"); versions are per component.
	Component string
	FS        fs.FS
}

// Migration is one parsed file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

var migrationFile = regexp.MustCompile(`^(\d{4,})_([a-z0-9_]+)\.sql$`)

// List parses and orders the set's migrations. It fails on a misnamed .sql
// file or a repeated version.
func (m Migrations) List() ([]Migration, error) {
	entries, err := fs.ReadDir(m.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations %s: %w", m.Component, err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		sm := migrationFile.FindStringSubmatch(e.Name())
		if sm == nil {
			return nil, fmt.Errorf("migrations %s: file %q is not named NNNN_name.sql", m.Component, e.Name())
		}
		v, _ := strconv.Atoi(sm[1])
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s: version %d used by %q and %q", m.Component, v, prev, e.Name())
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(m.FS, e.Name())
		if err != nil {
			return nil, fmt.Errorf("migrations %s: %w", m.Component, err)
		}
		out = append(out, Migration{Version: v, Name: sm[2], SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	return out, nil
}

// Migrate applies every migration of the given sets that the database has
// not recorded yet, each in its own transaction together with its record in
// schema_migrations. It is safe to call on every start.
func (db *DB) Migrate(ctx context.Context, sets ...Migrations) error {
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component TEXT NOT NULL,
		version INTEGER NOT NULL,
		name TEXT NOT NULL,
		applied_at TEXT NOT NULL,
		PRIMARY KEY (component, version))`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, set := range sets {
		list, err := set.List()
		if err != nil {
			return err
		}
		for _, m := range list {
			err := db.InTx(ctx, func(ctx context.Context, tx *Tx) error {
				var n int
				if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE component = ? AND version = ?`,
					set.Component, m.Version).Scan(&n); err != nil {
					return err
				}
				if n > 0 {
					return nil
				}
				if _, err := tx.Exec(ctx, m.SQL); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (component, version, name, applied_at) VALUES (?, ?, ?, ?)`,
					set.Component, m.Version, m.Name, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
					return err
				}
				db.log.Info("Migration applied", "migration_component", set.Component, "version", m.Version, "name", m.Name)
				return nil
			})
			if err != nil {
				return fmt.Errorf("migration %s %04d_%s: %w", set.Component, m.Version, m.Name, err)
			}
		}
	}
	return nil
}

// EmbeddedMigrations is the migrations of component in folder dir of fsys
// (usually an embed.FS with //go:embed dir/*.sql). A wrong dir is a
// programming error and panics at package initialisation.
func EmbeddedMigrations(component string, fsys fs.FS, dir string) Migrations {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(fmt.Sprintf("migrations of %s in %s: %v", component, dir, err))
	}
	return Migrations{Component: component, FS: sub}
}
