package runtime

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
)

// ids is the instance's seeded id source.
type ids struct {
	seed     int64
	name, id string
	starts   int64
	mu       sync.Mutex
	rnd      *rand.Rand
}

// recordStart counts this process start in app_starts and seeds the id
// source with (run seed, service, instance, start count).
func recordStart(ctx context.Context, db *store.DB, cfg service.Config) (*ids, error) {
	s := &ids{seed: cfg.Seed, name: cfg.Name, id: cfg.ID()}
	err := db.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(n), 0) + 1 FROM app_starts`).Scan(&s.starts); err != nil {
			return fmt.Errorf("count starts: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO app_starts (n, started_at, pid) VALUES (?, ?, ?)`,
			s.starts, time.Now().UTC().Format(time.RFC3339Nano), os.Getpid())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("record start: %w", err)
	}
	s.rnd = s.stream("ids")
	return s, nil
}

func (s *ids) stream(name string) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(s.seed), mix(s.name, s.id, s.starts, name)))
}

// mix hashes the parts into a PCG stream selector.
func mix(parts ...any) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		fmt.Fprint(h, p, "\x00")
	}
	return h.Sum64()
}

// NewID returns a UUIDv4-formatted id from the instance's seeded source
// (run seed, service, instance and the start count of this process), safe
// for concurrent use.
func (rt *Runtime) NewID() string {
	rt.ids.mu.Lock()
	a, b := rt.ids.rnd.Uint64(), rt.ids.rnd.Uint64()
	rt.ids.mu.Unlock()
	a = a&^(0xf<<12) | 0x4<<12 // version 4
	b = b&^(0x3<<62) | 0x2<<62 // variant 10
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// Rand returns a new seeded source for one component (name separates the
// streams). It is not safe for concurrent use; give each goroutine its own.
func (rt *Runtime) Rand(name string) *rand.Rand { return rt.ids.stream(name) }

// Starts is the number of this process start of the instance (1 for the
// first), counted in the store.
func (rt *Runtime) Starts() int64 { return rt.ids.starts }
