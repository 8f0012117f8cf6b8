package images

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// composeFile is the part of docker-compose.yml the test checks.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Hostname    string            `yaml:"hostname"`
		Ports       []string          `yaml:"ports"`
		NetworkMode string            `yaml:"network_mode"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Profiles    []string          `yaml:"profiles"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck *struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		Configs []struct {
			Source string `yaml:"source"`
			Target string `yaml:"target"`
		} `yaml:"configs"`
	} `yaml:"services"`
	Configs map[string]struct {
		Content string `yaml:"content"`
	} `yaml:"configs"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

func TestPinnedVersionsParse(t *testing.T) {
	m, err := Pinned()
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{RabbitMQ, Jaeger, Golang, Runtime} {
		if m[role] == "" {
			t.Errorf("versions.txt pins no %s image", role)
		}
	}
	for _, bad := range []string{"rabbitmq rabbitmq", "rabbitmq rabbitmq:latest", "a b:1 extra", "a b:1\na c:2"} {
		if _, err := parse(bad); err == nil {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
}

// TestComposeFile checks the stack: a three-node cluster whose nodes are
// healthchecked, publish distinct ports and list each other; Jaeger with its
// UI and OTLP ports; the lab built from the Dockerfile, on the cluster as an
// external broker with a management URL, exporting spans to Jaeger.
func TestComposeFile(t *testing.T) {
	c := readCompose(t)
	pinned, err := Pinned()
	if err != nil {
		t.Fatal(err)
	}
	pinnedSet := map[string]bool{}
	for _, img := range pinned {
		pinnedSet[img] = true
	}
	built := ""
	for name, s := range c.Services {
		switch {
		case s.Build != nil:
			built = s.Image
		case s.Image == "":
			t.Errorf("service %s: no image and no build", name)
		}
	}
	for name, s := range c.Services {
		if s.Build == nil && s.Image != built && !pinnedSet[s.Image] {
			t.Errorf("service %s: image %q is not in versions.txt (pinned: %v)", name, s.Image, pinned)
		}
	}

	hostPorts := map[string]string{}
	for _, name := range []string{"rabbitmq-1", "rabbitmq-2", "rabbitmq-3"} {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		if s.Image != pinned[RabbitMQ] {
			t.Errorf("%s: image %q, want the pinned %q", name, s.Image, pinned[RabbitMQ])
		}
		if s.Hostname != name {
			t.Errorf("%s: hostname %q: the node name rabbit@%s needs it", name, s.Hostname, name)
		}
		if s.Healthcheck == nil || !slices.Contains(s.Healthcheck.Test, "rabbitmq-diagnostics") {
			t.Errorf("%s: want a rabbitmq-diagnostics healthcheck", name)
		}
		if s.Environment["RABBITMQ_ERLANG_COOKIE"] == "" {
			t.Errorf("%s: no shared Erlang cookie", name)
		}
		targets := containerPorts(t, name, s.Ports, hostPorts)
		if !targets["5672"] || !targets["15672"] {
			t.Errorf("%s: want AMQP 5672 and management 15672 published, got %v", name, s.Ports)
		}
		if len(s.Configs) != 1 {
			t.Errorf("%s: want the cluster config mounted, got %+v", name, s.Configs)
			continue
		}
		conf := c.Configs[s.Configs[0].Source].Content
		for _, peer := range []string{"rabbit@rabbitmq-1", "rabbit@rabbitmq-2", "rabbit@rabbitmq-3"} {
			if !strings.Contains(conf, peer) {
				t.Errorf("%s: cluster config does not list %s:\n%s", name, peer, conf)
			}
		}
	}

	j, ok := c.Services["jaeger"]
	if !ok {
		t.Error("no service jaeger")
	}
	if j.Image != pinned[Jaeger] {
		t.Errorf("jaeger: image %q, want the pinned %q", j.Image, pinned[Jaeger])
	}
	if targets := containerPorts(t, "jaeger", j.Ports, hostPorts); !targets["16686"] || !targets["4318"] {
		t.Errorf("jaeger: want UI 16686 and OTLP/HTTP 4318 published, got %v", j.Ports)
	}
	if j.Healthcheck == nil || len(j.Healthcheck.Test) == 0 {
		t.Error("jaeger: no healthcheck")
	}

	lab, ok := c.Services["lab"]
	if !ok {
		t.Fatal("no service lab")
	}
	if lab.Build == nil || lab.Image == "" {
		t.Errorf("lab: want build . and an image name, got build %v image %q", lab.Build, lab.Image)
	}
	if lab.NetworkMode != "host" || len(lab.Ports) > 0 {
		t.Errorf("lab: want network_mode host (its listeners are loopback) and no ports, got %q %v", lab.NetworkMode, lab.Ports)
	}
	if lab.Healthcheck == nil || !slices.Equal(lab.Healthcheck.Test, []string{"CMD", "tflab", "status"}) {
		t.Errorf("lab: want healthcheck tflab status, got %+v", lab.Healthcheck)
	}
	if len(lab.Command) == 0 || lab.Command[0] != "up" {
		t.Fatalf("lab: command %v, want tflab up", lab.Command)
	}
	flags := map[string]string{}
	for _, a := range lab.Command[1:] {
		k, v, _ := strings.Cut(a, "=")
		flags[k] = v
	}
	for flag, want := range map[string]string{
		"--amqp-url":       "amqp://guest:guest@127.0.0.1:" + hostPort(hostPorts, "rabbitmq-1", "5672") + "/",
		"--management-url": "http://127.0.0.1:" + hostPort(hostPorts, "rabbitmq-1", "15672"),
		"--otlp":           "http://127.0.0.1:" + hostPort(hostPorts, "jaeger", "4318"),
	} {
		if flags[flag] != want {
			t.Errorf("lab: %s=%q, want %q (the published port)", flag, flags[flag], want)
		}
	}
	for dep, cond := range map[string]string{"rabbitmq-1": "service_healthy", "rabbitmq-2": "service_healthy", "rabbitmq-3": "service_healthy"} {
		if lab.DependsOn[dep].Condition != cond {
			t.Errorf("lab: depends_on %s: condition %q, want %q", dep, lab.DependsOn[dep].Condition, cond)
		}
	}
	if load, ok := c.Services["load"]; ok && (load.Image != lab.Image || !slices.Contains(load.Profiles, "load")) {
		t.Errorf("load: want the lab's image %q behind profile load, got %q %v", lab.Image, load.Image, load.Profiles)
	}
}

// containerPorts checks "127.0.0.1:HOST:CONTAINER" entries (loopback only,
// no host port used twice), records them in hostPorts under
// "service/container", and returns the container ports.
func containerPorts(t *testing.T, svc string, ports []string, hostPorts map[string]string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, p := range ports {
		f := strings.Split(p, ":")
		if len(f) != 3 || f[0] != "127.0.0.1" {
			t.Errorf("%s: port %q: want 127.0.0.1:HOST:CONTAINER", svc, p)
			continue
		}
		for k, v := range hostPorts {
			if v == f[1] {
				t.Errorf("%s: host port %s already published by %s", svc, f[1], k)
			}
		}
		hostPorts[svc+"/"+f[2]] = f[1]
		out[f[2]] = true
	}
	return out
}

func hostPort(hostPorts map[string]string, svc, containerPort string) string {
	return hostPorts[svc+"/"+containerPort]
}

var fromArg = regexp.MustCompile(`(?m)^ARG (GOLANG_IMAGE|RUNTIME_IMAGE)=(\S+)$`)

// TestDockerfileBases checks that the Dockerfile builds tflab on the pinned
// images.
func TestDockerfileBases(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range fromArg.FindAllStringSubmatch(string(b), -1) {
		got[m[1]] = m[2]
	}
	if got["GOLANG_IMAGE"] != Image(Golang) || got["RUNTIME_IMAGE"] != Image(Runtime) {
		t.Errorf("Dockerfile bases %v, want GOLANG_IMAGE=%s RUNTIME_IMAGE=%s", got, Image(Golang), Image(Runtime))
	}
	for _, want := range []string{"go build", "./cmd/tflab", `ENTRYPOINT ["tflab"]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Dockerfile does not contain %q", want)
		}
	}
}
