package netfilter

import (
	"net"
	"sync"
)

// Lazy is a lab table created on its first Cut, so that a lab that never
// cuts its nodes apart neither needs root nor touches nftables. It is safe
// for concurrent use.
type Lazy struct {
	name string
	mu   sync.Mutex
	t    *Table
}

// NewLazy returns the lazily created table name (see TableName).
func NewLazy(name string) *Lazy { return &Lazy{name: name} }

// Name is the table's name.
func (l *Lazy) Name() string { return l.name }

// Cut creates the table if needed and cuts (see Table.Cut).
func (l *Lazy) Cut(key string, pairs ...[2]net.IP) error {
	l.mu.Lock()
	if l.t == nil {
		if err := Available(); err != nil {
			l.mu.Unlock()
			return err
		}
		t, err := Create(l.name)
		if err != nil {
			l.mu.Unlock()
			return err
		}
		l.t = t
	}
	t := l.t
	l.mu.Unlock()
	return t.Cut(key, pairs...)
}

// Heal removes the rules under key (see Table.Heal); without a table
// there is nothing to remove.
func (l *Lazy) Heal(key string) (uint64, error) {
	l.mu.Lock()
	t := l.t
	l.mu.Unlock()
	if t == nil {
		return 0, nil
	}
	return t.Heal(key)
}

// Close deletes the table if it was created.
func (l *Lazy) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.t == nil {
		return nil
	}
	err := l.t.Close()
	l.t = nil
	return err
}
