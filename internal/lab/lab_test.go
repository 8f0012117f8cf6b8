package lab_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/rabbitnode"
)

func TestConfigValidate(t *testing.T) {
	ok := lab.Config{
		System: "ticketflow", Services: []lab.ServiceSpec{{Name: "placeholder"}},
		Broker: broker.External{AMQPURL: "amqp://127.0.0.1:1/"}, Ports: lab.PortsRandom,
		RunDir: t.TempDir(), Command: []string{"/bin/true"},
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	quorum := ok
	quorum.QueueType = broker.QueueQuorum // declared by the services: any broker
	if err := quorum.Validate(); err != nil {
		t.Fatal(err)
	}
	mirrored := ok
	mirrored.Broker, mirrored.QueueType, mirrored.PartitionHandling = broker.Private{NodeName: "x", Nodes: 3}, broker.QueueMirrored, "pause_minority"
	if err := mirrored.Validate(); err != nil {
		t.Fatal(err)
	}
	for want, mutate := range map[string]func(*lab.Config){
		"system":          func(c *lab.Config) { c.System = "" },
		"no services":     func(c *lab.Config) { c.Services = nil },
		"repeated":        func(c *lab.Config) { c.Services = append(c.Services, lab.ServiceSpec{Name: "placeholder"}) },
		"instances":       func(c *lab.Config) { c.Services = []lab.ServiceSpec{{Name: "x", Instances: 10}} },
		"broker provider": func(c *lab.Config) { c.Broker = nil },
		"ports":           func(c *lab.Config) { c.Ports = "some" },
		"run dir":         func(c *lab.Config) { c.RunDir = "" },
		"command":         func(c *lab.Config) { c.Command = nil },
		`needs service "gateway"`: func(c *lab.Config) {
			c.Services = []lab.ServiceSpec{{Name: "payments", Needs: map[string]string{"gateway-url": "gateway"}}}
		},
		"queue type": func(c *lab.Config) { c.QueueType = "lazy" },
		"partition": func(c *lab.Config) {
			c.Broker = broker.Private{NodeName: "x", Nodes: 3}
			c.PartitionHandling = "sometimes"
		},
		"mirrored queues and partition handling need a private broker": func(c *lab.Config) { c.QueueType = broker.QueueMirrored },
	} {
		c := ok
		mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want an error mentioning it, got %v", want, err)
		}
	}
}

func TestNewRunDirNeverReusesADirectory(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runs")
	now := time.Date(2026, 11, 22, 3, 4, 5, 0, time.UTC)
	a, err := lab.NewRunDir(root, "ticketflow", now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := lab.NewRunDir(root, "ticketflow", now)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(a) != "20261122-030405-ticketflow" || filepath.Base(b) != "20261122-030405-ticketflow-2" {
		t.Fatalf("run dirs %s, %s", a, b)
	}
}

func TestCheckPortsFree(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().(*net.TCPAddr).Port
	free, err := rabbitnode.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if err := lab.CheckPortsFree(free); err != nil {
		t.Fatalf("free port reported busy: %v", err)
	}
	err = lab.CheckPortsFree(free, busy)
	if !errors.Is(err, lab.ErrPortInUse) || !strings.Contains(err.Error(), strconv.Itoa(busy)) || strings.Contains(err.Error(), strconv.Itoa(free)) {
		t.Fatalf("want ErrPortInUse naming only %d, got %v", busy, err)
	}
}

func TestControlAliveChecksPidAndStartTime(t *testing.T) {
	in := lab.Info{ControlPID: os.Getpid()}
	if !lab.ControlAlive(in) {
		t.Fatal("own process not alive")
	}
	in.ControlStartTicks = 1 // not our start time: a reused pid
	if lab.ControlAlive(in) {
		t.Fatal("a pid with another start time counted as the lab")
	}
	if lab.ControlAlive(lab.Info{}) {
		t.Fatal("pid 0 alive")
	}
	if got := lab.ProcessState(os.Getpid()); got != "running" {
		t.Fatalf("own state %s", got)
	}
}

// TestStartFailureReleasesEverything: a broker that cannot be reached fails
// Start, and the Toxiproxy API it had opened is closed again.
func TestStartFailureReleasesEverything(t *testing.T) {
	deadAMQP, err := rabbitnode.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	toxiPort, err := rabbitnode.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err = lab.Start(t.Context(), lab.Config{
		System: "ticketflow", Services: []lab.ServiceSpec{{Name: "placeholder"}},
		Broker:        broker.External{AMQPURL: "amqp://guest:guest@127.0.0.1:" + strconv.Itoa(deadAMQP) + "/", DialTimeout: time.Second},
		Ports:         lab.PortsRandom,
		ToxiproxyAddr: "127.0.0.1:" + strconv.Itoa(toxiPort),
		RunDir:        dir, Command: []string{"/bin/true"},
	})
	if !errors.Is(err, broker.ErrUnreachable) {
		t.Fatalf("want ErrUnreachable, got %v", err)
	}
	if err := lab.CheckPortsFree(toxiPort); err != nil {
		t.Fatalf("Toxiproxy API left open: %v", err)
	}
	for _, sub := range []string{"logs", "traces", "db"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err != nil || !st.IsDir() {
			t.Errorf("run dir lacks %s/", sub)
		}
	}
}
