package netfilter

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Prefix starts the name of every table the lab creates.
const Prefix = "tflab-"

// chainName is the table's one base chain.
const chainName = "cuts"

// ErrUnavailable reports that the lab cannot manage nftables here.
var ErrUnavailable = errors.New("cutting cluster nodes apart needs nftables, which needs root (CAP_NET_ADMIN) and the nf_tables kernel module")

// Available reports whether tables can be created: it needs root and a
// kernel that answers nftables' netlink requests.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: tflab runs as uid %d", ErrUnavailable, os.Geteuid())
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if _, err := c.ListTablesOfFamily(nftables.TableFamilyINet); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// TableName is the name of the table pid owns for the lab id ("" allowed).
func TableName(pid int, id string) string {
	n := Prefix + strconv.Itoa(pid)
	if id != "" {
		n += "-" + id
	}
	return n
}

// OwnerPID parses the owner's pid out of a table name (false: not a lab table).
func OwnerPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return 0, false
	}
	digits, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(digits)
	return pid, err == nil && pid > 0
}

// Table is the lab's own nftables table. It is safe for concurrent use.
type Table struct {
	mu    sync.Mutex
	conn  *nftables.Conn
	table *nftables.Table
	chain *nftables.Chain
}

// Rule is one drop rule of the table.
type Rule struct {
	Key      string
	From, To net.IP
	Packets  uint64 // packets it dropped so far
}

// Create creates the table name (replacing nothing: an existing table of
// that name is an error) with its input chain.
func Create(name string) (*Table, error) {
	if _, ok := OwnerPID(name); !ok {
		return nil, fmt.Errorf("nftables table %q: want %s<pid>[-id]", name, Prefix)
	}
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	t := c.CreateTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: name})
	accept := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{
		Name: chainName, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &accept,
	})
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("create nftables table %s: %w", name, err)
	}
	return &Table{conn: c, table: t, chain: ch}, nil
}

// Name is the table's name.
func (t *Table) Name() string { return t.table.Name }

// Cut adds, under key, one rule per pair dropping IPv4 packets from
// pair[0] to pair[1]. Either all rules are added or none.
func (t *Table) Cut(key string, pairs ...[2]net.IP) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range pairs {
		from, to := p[0].To4(), p[1].To4()
		if from == nil || to == nil {
			return fmt.Errorf("cut %s: %v -> %v: IPv4 addresses only", key, p[0], p[1])
		}
		t.conn.AddRule(&nftables.Rule{Table: t.table, Chain: t.chain, UserData: []byte(key), Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: from},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: to},
			&expr.Counter{},
			&expr.Verdict{Kind: expr.VerdictDrop},
		}})
	}
	if err := t.conn.Flush(); err != nil {
		return fmt.Errorf("cut %s in nftables table %s: %w", key, t.Name(), err)
	}
	return nil
}

// Rules lists the table's rules under key ("" = all of them).
func (t *Table) Rules(key string) ([]Rule, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rs, err := t.rules(key)
	if err != nil {
		return nil, err
	}
	out := make([]Rule, 0, len(rs))
	for _, r := range rs {
		out = append(out, describe(r))
	}
	return out, nil
}

func (t *Table) rules(key string) ([]*nftables.Rule, error) {
	all, err := t.conn.GetRules(t.table, t.chain)
	if err != nil {
		return nil, fmt.Errorf("list rules of nftables table %s: %w", t.Name(), err)
	}
	var out []*nftables.Rule
	for _, r := range all {
		if key == "" || string(r.UserData) == key {
			out = append(out, r)
		}
	}
	return out, nil
}

// describe reads a rule built by Cut back.
func describe(r *nftables.Rule) Rule {
	out := Rule{Key: string(r.UserData)}
	var ips []net.IP
	for _, e := range r.Exprs {
		switch e := e.(type) {
		case *expr.Cmp:
			if len(e.Data) == 4 {
				ips = append(ips, net.IP(e.Data))
			}
		case *expr.Counter:
			out.Packets = e.Packets
		}
	}
	if len(ips) == 2 {
		out.From, out.To = ips[0], ips[1]
	}
	return out
}

// Heal removes the rules under key and returns how many packets they dropped.
func (t *Table) Heal(key string) (uint64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rs, err := t.rules(key)
	if err != nil {
		return 0, err
	}
	var dropped uint64
	for _, r := range rs {
		dropped += describe(r).Packets
		if err := t.conn.DelRule(r); err != nil {
			return 0, fmt.Errorf("heal %s: %w", key, err)
		}
	}
	if err := t.conn.Flush(); err != nil {
		return 0, fmt.Errorf("heal %s in nftables table %s: %w", key, t.Name(), err)
	}
	return dropped, nil
}

// Close deletes the table with every rule in it. A table already gone is
// not an error.
func (t *Table) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	ok, err := exists(t.conn, t.Name())
	if err != nil || !ok {
		return err
	}
	t.conn.DelTable(t.table)
	if err := t.conn.Flush(); err != nil {
		return fmt.Errorf("delete nftables table %s: %w", t.Name(), err)
	}
	return nil
}

// Exists reports whether the inet table name exists.
func Exists(name string) (bool, error) {
	c, err := nftables.New()
	if err != nil {
		return false, fmt.Errorf("nftables: %w", err)
	}
	return exists(c, name)
}

func exists(c *nftables.Conn, name string) (bool, error) {
	ts, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return false, fmt.Errorf("list nftables tables: %w", err)
	}
	for _, t := range ts {
		if t.Name == name {
			return true, nil
		}
	}
	return false, nil
}

// RemoveStale deletes every lab table (inet, name with Prefix) whose owner
// pid no longer runs, and returns the names it deleted.
func RemoveStale(log *slog.Logger) ([]string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	ts, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, fmt.Errorf("list nftables tables: %w", err)
	}
	var removed []string
	for _, t := range ts {
		pid, ok := OwnerPID(t.Name)
		if !ok || alive(pid) {
			continue
		}
		c.DelTable(t)
		removed = append(removed, t.Name)
	}
	if len(removed) == 0 {
		return nil, nil
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("delete stale nftables tables %s: %w", strings.Join(removed, ", "), err)
	}
	log.Info("Removed stale nftables tables of dead labs", "tables", removed)
	return removed, nil
}

// alive reports whether a process with pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
