//go:build integration

package netfilter_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/netfilter"
)

// helperEnv makes the test binary act as a lab that creates a table with a
// cut, prints its name and waits to be killed.
const helperEnv = "TFLAB_NETFILTER_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		t, err := netfilter.Create(netfilter.TableName(os.Getpid(), "helper"))
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		if err := t.Cut("k", [2]net.IP{net.IPv4(127, 77, 1, 1), net.IPv4(127, 77, 1, 2)}); err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		fmt.Println(t.Name())
		select {}
	}
	os.Exit(m.Run())
}

func need(t *testing.T) {
	t.Helper()
	if err := netfilter.Available(); err != nil {
		t.Skip(err)
	}
}

// dial connects from src to dst within a short timeout.
func dial(src net.IP, dst string) error {
	d := net.Dialer{Timeout: 700 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: src}}
	c, err := d.Dial("tcp", dst)
	if err != nil {
		return err
	}
	return c.Close()
}

func TestCutDropsOnlyItsDirectionAndHealRemovesIt(t *testing.T) {
	need(t)
	a, b := net.IPv4(127, 77, 2, 1), net.IPv4(127, 77, 2, 2)
	lb, err := net.Listen("tcp", net.JoinHostPort(b.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	la, err := net.Listen("tcp", net.JoinHostPort(a.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer la.Close()
	go func() {
		for _, l := range []net.Listener{la, lb} {
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					_ = c.Close()
				}
			}()
		}
	}()

	tb, err := netfilter.Create(netfilter.TableName(os.Getpid(), "cut"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tb.Close() }()
	if err := dial(a, lb.Addr().String()); err != nil {
		t.Fatalf("before the cut: %v", err)
	}
	// One way: a's packets to b are dropped, so a cannot connect to b, and
	// b's connection attempts to a get no answer through either.
	if err := tb.Cut("one-way", [2]net.IP{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := dial(a, lb.Addr().String()); err == nil {
		t.Fatal("a reached b across the cut")
	}
	if err := dial(b, la.Addr().String()); err == nil {
		t.Fatal("b's handshake with a completed though a's answers are dropped")
	}
	// Other addresses pass.
	if err := dial(net.IPv4(127, 0, 0, 1), lb.Addr().String()); err != nil {
		t.Fatalf("127.0.0.1 -> b blocked: %v", err)
	}
	rules, err := tb.Rules("one-way")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 || !rules[0].From.Equal(a) || !rules[0].To.Equal(b) || rules[0].Packets == 0 {
		t.Fatalf("rules under one-way: %+v, want one a->b rule that dropped packets", rules)
	}
	dropped, err := tb.Heal("one-way")
	if err != nil {
		t.Fatal(err)
	}
	if dropped == 0 {
		t.Error("heal reports no dropped packets")
	}
	if rules, _ := tb.Rules(""); len(rules) != 0 {
		t.Fatalf("rules left after heal: %+v", rules)
	}
	if err := dial(a, lb.Addr().String()); err != nil {
		t.Fatalf("after heal: %v", err)
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	if ok, err := netfilter.Exists(tb.Name()); err != nil || ok {
		t.Fatalf("table still exists after Close (err %v)", err)
	}
}

// A lab killed with SIGKILL leaves its table behind; RemoveStale (what the
// next `tflab up` runs) removes it and leaves a live lab's table alone.
func TestSIGKILLedLabsTableIsRemovedAsStale(t *testing.T) {
	need(t)
	live, err := netfilter.Create(netfilter.TableName(os.Getpid(), "live"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = live.Close() }()

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("helper: %v", err)
	}
	name := line[:len(line)-1]
	if want := netfilter.TableName(cmd.Process.Pid, "helper"); name != want {
		_ = cmd.Process.Kill()
		t.Fatalf("helper said %q, want %q", name, want)
	}
	_ = cmd.Process.Kill() // SIGKILL: no deferred cleanup runs
	var exitErr *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exitErr) {
		t.Fatalf("helper wait: %v", err)
	}
	if ok, err := netfilter.Exists(name); err != nil || !ok {
		t.Fatalf("the killed lab's table %s is not there (err %v): the test proves nothing", name, err)
	}
	removed, err := netfilter.RemoveStale(nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := netfilter.Exists(name); ok {
		t.Fatalf("stale table %s survived RemoveStale (removed %v)", name, removed)
	}
	if ok, _ := netfilter.Exists(live.Name()); !ok {
		t.Fatalf("RemoveStale removed the live table %s", live.Name())
	}
}

func TestOwnerPID(t *testing.T) {
	for name, want := range map[string]int{"tflab-123-x": 123, "tflab-7": 7, "tflab-x": 0, "other-1": 0} {
		got, ok := netfilter.OwnerPID(name)
		if got != want || ok != (want > 0) {
			t.Errorf("OwnerPID(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	if n := netfilter.TableName(42, "lab"); n != "tflab-42-lab" {
		t.Errorf("TableName = %q", n)
	}
}
