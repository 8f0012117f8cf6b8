package store

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"testing/fstest"
)

var benchSchema = Migrations{Component: "bench", FS: fstest.MapFS{
	"0001_init.sql": {Data: []byte(`CREATE TABLE inbox (q TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (q, id)) WITHOUT ROWID;
CREATE TABLE effects (id INTEGER PRIMARY KEY, k TEXT NOT NULL);
CREATE TABLE outbox (id INTEGER PRIMARY KEY, mid TEXT NOT NULL, body BLOB NOT NULL, sent_at TEXT);`)},
}}

// BenchmarkInTx measures handler-shaped transactions (inbox insert, effect
// insert, outbox insert with a 512-byte body) from 32 concurrent callers.
func BenchmarkInTx(b *testing.B) {
	for _, batch := range []int{1, 64} {
		b.Run("maxbatch="+strconv.Itoa(batch), func(b *testing.B) {
			db, err := Open(context.Background(), Config{Path: filepath.Join(b.TempDir(), "b.db"), MaxBatch: batch})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(context.Background(), benchSchema); err != nil {
				b.Fatal(err)
			}
			body := make([]byte, 512)
			var seq sync.Mutex
			n := 0
			next := func() string {
				seq.Lock()
				defer seq.Unlock()
				n++
				return strconv.Itoa(n) + "-4f1c2a9e-2b1d-4c55-9a51-1f7c7d1e0a11"
			}
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := next()
					err := db.InTx(context.Background(), func(ctx context.Context, tx *Tx) error {
						if _, err := tx.Exec(ctx, `INSERT INTO inbox (q, id) VALUES (?, ?) ON CONFLICT DO NOTHING`, "queue", id); err != nil {
							return err
						}
						if _, err := tx.Exec(ctx, `INSERT INTO effects (k) VALUES (?)`, "effect:"+id); err != nil {
							return err
						}
						_, err := tx.Exec(ctx, `INSERT INTO outbox (mid, body) VALUES (?, ?)`, id, body)
						return err
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			st := db.Stats()
			b.ReportMetric(float64(st.Calls)/float64(max(st.Batches, 1)), "calls/batch")
		})
	}
}
