package tickets

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// memRepo is an in-memory Repo and Queries for unit tests. It copies
// tickets in and out, like a database would.
type memRepo struct {
	mu      sync.Mutex
	tickets map[string]Ticket
	parked  map[string]Parked
}

func newMemRepo() *memRepo {
	return &memRepo{tickets: map[string]Ticket{}, parked: map[string]Parked{}}
}

func (m *memRepo) Ticket(_ context.Context, id string) (*Ticket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tickets[id]
	if !ok {
		return nil, NotFound("ticket", id)
	}
	return &t, nil
}

func (m *memRepo) SaveTicket(_ context.Context, t *Ticket) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *t
	c.pending = nil
	m.tickets[t.ID] = c
	return nil
}

func (m *memRepo) Tickets(_ context.Context, f ListFilter) ([]*Ticket, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []*Ticket
	for _, k := range slices.Sorted(maps.Keys(m.tickets)) {
		t := m.tickets[k]
		all = append(all, &t)
	}
	page, total := Select(all, f)
	return page, total, nil
}

func (m *memRepo) Parked(_ context.Context, id string) (Parked, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.parked[id]
	return p, ok, nil
}

func (m *memRepo) Park(_ context.Context, p Parked) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.parked[p.ReferenceID] = p
	return nil
}

func (m *memRepo) Unpark(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.parked, id)
	return nil
}

// runner executes commands on the repo with a fixed clock and keeps the events.
type runner struct {
	desk   *Desk
	repo   *memRepo
	now    func() time.Time
	mu     sync.Mutex
	events []contracts.Message
}

func (r *runner) Run(ctx context.Context, cmd Command) error {
	ev, err := r.desk.Execute(ctx, r.repo, cmd, r.now())
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.events = append(r.events, ev...)
	r.mu.Unlock()
	return nil
}
