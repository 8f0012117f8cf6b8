package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Protections are the names a service may be asked to switch off with
// Config.Unprotect (DESIGN.md §4).
var Protections = []string{"confirms", "outbox", "dedup", "ordering", "retries", "idempotency"}

// Main is a service's entry point. It runs until ctx is cancelled and returns
// nil on a clean stop; any other return is a failure of the service.
type Main func(ctx context.Context, cfg Config, log *slog.Logger) error

// Config is what a service process is started with.
type Config struct {
	// System and Name identify the service, e.g. "ticketflow" and "sla".
	System, Name string
	// Instance is 1 for the first instance of a service, 2 for the second, …
	Instance int
	// AMQPURL is the broker address the service must use: its own Toxiproxy proxy.
	AMQPURL string
	// AMQPFallbacks are the addresses of the broker's other nodes, in the
	// order the service tries them when AMQPURL fails (empty on one node).
	AMQPFallbacks []string
	// QueueType is the type of the queues the service declares: "" (each
	// queue's own, classic), "classic" or "quorum".
	QueueType string
	// HTTPAddr is host:port for the service's HTTP API (GET /health at least).
	HTTPAddr string
	// DBPath is the service's SQLite file ("" = the service keeps no database).
	DBPath string
	// SpanFile is where the service writes its spans as JSON lines ("" = none).
	SpanFile string
	// LogFile is where the service's stderr goes (informational: the
	// supervisor redirects the process's output there).
	LogFile string
	// RunDir is the lab's run directory.
	RunDir string
	// Seed seeds every random choice the service makes.
	Seed int64
	// Unprotect lists protections switched off (see Protections).
	Unprotect []string
	// Settings are service-specific knobs.
	Settings map[string]string
}

// ID is the instance's name in the lab: Name for the first instance,
// Name-N for instance N ≥ 2 (e.g. "sla", "sla-2").
func (c Config) ID() string { return InstanceID(c.Name, c.Instance) }

// InstanceID names instance n of a service: "sla" for 1, "sla-2" for 2.
func InstanceID(name string, n int) string {
	if n <= 1 {
		return name
	}
	return name + "-" + strconv.Itoa(n)
}

// Ref is "<system>/<name>", the positional argument of `tflab serve`.
func (c Config) Ref() string { return c.System + "/" + c.Name }

// Unprotected reports whether protection p is switched off.
func (c Config) Unprotected(p string) bool { return slices.Contains(c.Unprotect, p) }

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// Validate reports every problem with the config.
func (c Config) Validate() error {
	var errs []error
	if !namePattern.MatchString(c.System) {
		errs = append(errs, fmt.Errorf("system %q: want lowercase letters, digits and '-'", c.System))
	}
	if !namePattern.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("service name %q: want lowercase letters, digits and '-'", c.Name))
	}
	if c.Instance < 1 {
		errs = append(errs, fmt.Errorf("instance %d: must be at least 1", c.Instance))
	}
	if u, err := url.Parse(c.AMQPURL); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
		errs = append(errs, fmt.Errorf("amqp url %q: want amqp://user:pass@host:port/vhost", redact(c.AMQPURL)))
	}
	if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("http addr %q: want host:port", c.HTTPAddr))
	}
	for _, f := range c.AMQPFallbacks {
		if u, err := url.Parse(f); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
			errs = append(errs, fmt.Errorf("amqp fallback %q: want amqp://user:pass@host:port/vhost", redact(f)))
		}
	}
	if c.QueueType != "" && c.QueueType != "classic" && c.QueueType != "quorum" {
		errs = append(errs, fmt.Errorf("queue type %q: want classic or quorum", c.QueueType))
	}
	for _, p := range c.Unprotect {
		if !slices.Contains(Protections, p) {
			errs = append(errs, fmt.Errorf("unprotect %q: unknown protection (known: %s)", p, strings.Join(Protections, ", ")))
		}
	}
	for k := range c.Settings {
		if k == "" || strings.ContainsAny(k, "= ") {
			errs = append(errs, fmt.Errorf("setting key %q: must be non-empty without '=' or spaces", k))
		}
	}
	return errors.Join(errs...)
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// flagField is one row of the flag table that both Args and BindFlags use.
type flagField struct {
	name, usage string
	// get returns the occurrences to emit (none = flag omitted).
	get func(*Config) []string
	// set applies one occurrence.
	set func(*Config, string) error
}

func str(p func(*Config) *string) (func(*Config) []string, func(*Config, string) error) {
	return func(c *Config) []string {
			if v := *p(c); v != "" {
				return []string{v}
			}
			return nil
		}, func(c *Config, v string) error {
			*p(c) = v
			return nil
		}
}

func field(name, usage string, get func(*Config) []string, set func(*Config, string) error) flagField {
	return flagField{name: name, usage: usage, get: get, set: set}
}

func strField(name, usage string, p func(*Config) *string) flagField {
	g, s := str(p)
	return field(name, usage, g, s)
}

// fields is the single description of the serve command line.
var fields = []flagField{
	field("instance", "instance number of this service (1 = first)",
		func(c *Config) []string { return []string{strconv.Itoa(c.Instance)} },
		func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("instance %q: %w", v, err)
			}
			c.Instance = n
			return nil
		}),
	strField("amqp-url", "broker URL to use (the service's Toxiproxy proxy)", func(c *Config) *string { return &c.AMQPURL }),
	field("amqp-fallback", "broker URL of another node, tried after --amqp-url (repeatable, in order)",
		func(c *Config) []string { return slices.Clone(c.AMQPFallbacks) },
		func(c *Config, v string) error {
			c.AMQPFallbacks = append(c.AMQPFallbacks, v)
			return nil
		}),
	strField("queue-type", "type of the queues the service declares: classic or quorum (default: each queue's own)", func(c *Config) *string { return &c.QueueType }),
	strField("http-addr", "host:port of the service's HTTP API", func(c *Config) *string { return &c.HTTPAddr }),
	strField("db", "SQLite database file", func(c *Config) *string { return &c.DBPath }),
	strField("span-file", "span file (JSON lines)", func(c *Config) *string { return &c.SpanFile }),
	strField("log-file", "log file the supervisor sends this process's output to", func(c *Config) *string { return &c.LogFile }),
	strField("run-dir", "the lab's run directory", func(c *Config) *string { return &c.RunDir }),
	field("seed", "seed for every random choice of the service",
		func(c *Config) []string { return []string{strconv.FormatInt(c.Seed, 10)} },
		func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("seed %q: %w", v, err)
			}
			c.Seed = n
			return nil
		}),
	field("unprotect", "protection to switch off (repeatable or comma-separated): "+strings.Join(Protections, ", "),
		func(c *Config) []string { return slices.Clone(c.Unprotect) },
		func(c *Config, v string) error {
			for p := range strings.SplitSeq(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					c.Unprotect = append(c.Unprotect, p)
				}
			}
			return nil
		}),
	field("set", "service setting key=value (repeatable)",
		func(c *Config) []string {
			keys := make([]string, 0, len(c.Settings))
			for k := range c.Settings {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			out := make([]string, len(keys))
			for i, k := range keys {
				out[i] = k + "=" + c.Settings[k]
			}
			return out
		},
		func(c *Config, v string) error {
			k, val, ok := strings.Cut(v, "=")
			if !ok || k == "" {
				return fmt.Errorf("setting %q: want key=value", v)
			}
			if c.Settings == nil {
				c.Settings = map[string]string{}
			}
			c.Settings[k] = val
			return nil
		}),
}

// Args is the serve command line for c: "<system>/<name>" followed by one
// --flag=value per set field (and per value of repeated fields). ParseArgs
// reverses it.
func (c Config) Args() []string {
	out := []string{c.Ref()}
	for _, f := range fields {
		for _, v := range f.get(&c) {
			out = append(out, "--"+f.name+"="+v)
		}
	}
	return out
}

// BindFlags registers the serve flags on fs, writing into c.
func (c *Config) BindFlags(fs *pflag.FlagSet) {
	for _, f := range fields {
		fs.Var(&flagValue{c: c, f: f}, f.name, f.usage)
	}
	c.Instance = max(c.Instance, 1)
}

// SetRef sets System and Name from "<system>/<name>".
func (c *Config) SetRef(ref string) error {
	sys, name, ok := strings.Cut(ref, "/")
	if !ok || sys == "" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("service %q: want <system>/<service>, e.g. ticketflow/sla", ref)
	}
	c.System, c.Name = sys, name
	return nil
}

// ParseArgs parses a serve command line (as produced by Args) and validates it.
func ParseArgs(args []string) (Config, error) {
	var c Config
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(discard{})
	c.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("serve arguments: %w", err)
	}
	if fs.NArg() != 1 {
		return Config{}, fmt.Errorf("serve arguments: want exactly one <system>/<service>, got %q", fs.Args())
	}
	if err := c.SetRef(fs.Arg(0)); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("service config: %w", err)
	}
	return c, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// flagValue adapts one flagField to pflag.Value.
type flagValue struct {
	c *Config
	f flagField
}

var _ pflag.Value = (*flagValue)(nil)

func (v *flagValue) String() string {
	if v.c == nil {
		return ""
	}
	return strings.Join(v.f.get(v.c), ",")
}

func (v *flagValue) Set(s string) error { return v.f.set(v.c, s) }

func (v *flagValue) Type() string { return "string" }
