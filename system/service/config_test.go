package service_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ticketflow-lab/tflab/system/service"
)

func validConfig() service.Config {
	return service.Config{
		System:        "ticketflow",
		Name:          "sla",
		Instance:      2,
		AMQPURL:       "amqp://guest:guest@127.0.0.1:21201/",
		HTTPAddr:      "127.0.0.1:21102",
		DBPath:        "runs/x/db/sla-2.sqlite",
		SpanFile:      "runs/x/traces/sla-2.jsonl",
		LogFile:       "runs/x/logs/sla-2.log",
		RunDir:        "runs/x",
		Seed:          -42,
		Unprotect:     []string{"dedup", "outbox"},
		Settings:      map[string]string{"sla.warn": "30s", "empty": "", "with=equals": "a=b"},
		AMQPFallbacks: []string{"amqp://guest:guest@127.0.0.1:21211/", "amqp://guest:guest@127.0.0.1:21221/"},
		QueueType:     "quorum",
	}
}

func TestArgsRoundTrip(t *testing.T) {
	cases := map[string]service.Config{
		"full": validConfig(),
		"minimal": {
			System: "ticketflow", Name: "inquiries", Instance: 1,
			AMQPURL: "amqp://127.0.0.1:5672/", HTTPAddr: "127.0.0.1:0",
		},
	}
	// A setting key with '=' cannot round-trip; Validate rejects it, so drop it here.
	full := cases["full"]
	delete(full.Settings, "with=equals")
	cases["full"] = full
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			args := want.Args()
			got, err := service.ParseArgs(args)
			if err != nil {
				t.Fatalf("ParseArgs(%q): %v", args, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip changed the config\nargs: %q\n got: %#v\nwant: %#v", args, got, want)
			}
		})
	}
}

func TestArgsStartWithRefAndNameEveryFlag(t *testing.T) {
	args := validConfig().Args()
	if args[0] != "ticketflow/sla" {
		t.Fatalf("first arg %q, want ticketflow/sla", args[0])
	}
	joined := strings.Join(args, " ")
	for _, want := range []string{"--instance=2", "--amqp-url=amqp://guest:guest@127.0.0.1:21201/", "--unprotect=dedup", "--unprotect=outbox", "--set=sla.warn=30s", "--seed=-42"} {
		if !strings.Contains(joined, want) {
			t.Errorf("args %q lack %q", joined, want)
		}
	}
	// Every registered flag is emitted by Args for a fully set config.
	var c service.Config
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	c.BindFlags(fs)
	fs.VisitAll(func(f *pflag.Flag) {
		if !strings.Contains(joined, "--"+f.Name+"=") {
			t.Errorf("flag --%s is never emitted by Args", f.Name)
		}
	})
}

func TestParseArgsAcceptsCommaSeparatedUnprotectAndSpaceSeparatedValues(t *testing.T) {
	got, err := service.ParseArgs([]string{"ticketflow/sla", "--amqp-url", "amqp://h:1/", "--http-addr", "127.0.0.1:1", "--unprotect", "dedup,ordering"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Instance != 1 {
		t.Errorf("instance defaults to %d, want 1", got.Instance)
	}
	if !reflect.DeepEqual(got.Unprotect, []string{"dedup", "ordering"}) || !got.Unprotected("ordering") || got.Unprotected("outbox") {
		t.Errorf("unprotect = %q", got.Unprotect)
	}
}

func TestValidate(t *testing.T) {
	if err := validConfig().Validate(); err == nil || !strings.Contains(err.Error(), "with=equals") {
		t.Fatalf("a setting key containing '=' must be rejected, got %v", err)
	}
	ok := validConfig()
	delete(ok.Settings, "with=equals")
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	bad := map[string]func(*service.Config){
		"system":        func(c *service.Config) { c.System = "" },
		"name":          func(c *service.Config) { c.Name = "Bad Name" },
		"instance":      func(c *service.Config) { c.Instance = 0 },
		"amqp url":      func(c *service.Config) { c.AMQPURL = "http://127.0.0.1:5672" },
		"http addr":     func(c *service.Config) { c.HTTPAddr = "nowhere" },
		"unprotect":     func(c *service.Config) { c.Unprotect = []string{"seatbelts"} },
		"amqp fallback": func(c *service.Config) { c.AMQPFallbacks = []string{"127.0.0.1:5672"} },
		"queue type":    func(c *service.Config) { c.QueueType = "mirrored" },
	}
	for want, mutate := range bad {
		c := ok
		mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want an error mentioning %q, got %v", want, want, err)
		}
	}
}

func TestValidateRedactsPassword(t *testing.T) {
	c := validConfig()
	c.AMQPURL = "http://user:secret@host:1/"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("want an error without the password, got %v", err)
	}
}

func TestParseArgsRejects(t *testing.T) {
	for name, args := range map[string][]string{
		"no ref":      {"--amqp-url=amqp://h:1/", "--http-addr=127.0.0.1:1"},
		"bad ref":     {"sla", "--amqp-url=amqp://h:1/", "--http-addr=127.0.0.1:1"},
		"bad setting": {"ticketflow/sla", "--amqp-url=amqp://h:1/", "--http-addr=127.0.0.1:1", "--set=novalue"},
		"bad seed":    {"ticketflow/sla", "--amqp-url=amqp://h:1/", "--http-addr=127.0.0.1:1", "--seed=x"},
		"invalid":     {"ticketflow/sla", "--http-addr=127.0.0.1:1"},
	} {
		if _, err := service.ParseArgs(args); err == nil {
			t.Errorf("%s: %q accepted", name, args)
		}
	}
}

func TestInstanceID(t *testing.T) {
	for n, want := range map[int]string{1: "sla", 2: "sla-2", 3: "sla-3"} {
		if got := service.InstanceID("sla", n); got != want {
			t.Errorf("InstanceID(sla, %d) = %q, want %q", n, got, want)
		}
	}
}
