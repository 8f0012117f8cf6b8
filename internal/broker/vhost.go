package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// VHost gives each lab a virtual host of its own on a broker that outlives
// the lab: a suite starts one private node and runs many scenarios on it,
// each in a fresh vhost, instead of booting and stopping a node per run
// (about 15 s each on a loaded 2-core machine).
//
// A vhost isolates exchanges, queues, bindings and connections, so runs do
// not see each other's messages, and the runner's queue and connection
// listings are scoped to it. It does not isolate node-wide state: a stopped
// node, a memory or disk alarm, or a killed VM hits every vhost. Scenarios
// with such faults need a broker of their own; the runner refuses them on a
// shared broker.
//
// Start creates the vhost through the management API and grants the URL's
// user full permissions on it; Stop deletes it (and with it every queue and
// connection of the run).
type VHost struct {
	// Base is the shared broker's primary node; its URL's vhost is ignored.
	Base Node
	// VHost is the vhost to create.
	VHost string
	// HTTP is the management API client (nil: a client with a 10 s timeout).
	HTTP *http.Client
}

var _ Provider = VHost{}

// Name implements Provider.
func (VHost) Name() string { return "vhost" }

// Validate reports what is wrong with the provider's settings.
func (v VHost) Validate() error {
	var errs []error
	if v.Base.ManagementURL == "" {
		errs = append(errs, errors.New("vhost broker: the shared broker has no management URL (it creates the vhost)"))
	}
	if _, err := amqp.ParseURI(v.Base.AMQPURL); err != nil {
		errs = append(errs, fmt.Errorf("vhost broker: shared broker url: %w", err))
	}
	if v.VHost == "" || v.VHost == "/" || strings.ContainsAny(v.VHost, " %") {
		errs = append(errs, fmt.Errorf("vhost broker: vhost name %q: want a non-empty name without spaces or '%%', not \"/\"", v.VHost))
	}
	return errors.Join(errs...)
}

// Start implements Provider: it creates the vhost and returns a broker whose
// node URL points into it. dir is unused.
func (v VHost) Start(ctx context.Context, _ string) (Broker, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	u, err := amqp.ParseURI(v.Base.AMQPURL)
	if err != nil {
		return nil, err
	}
	b := &vhostBroker{v: v, user: u.Username, pass: u.Password}
	if err := b.call(ctx, http.MethodPut, "/api/vhosts/"+url.PathEscape(v.VHost), `{"description":"tflab run"}`); err != nil {
		return nil, fmt.Errorf("create vhost %s: %w", v.VHost, err)
	}
	perm := `{"configure":".*","write":".*","read":".*"}`
	if err := b.call(ctx, http.MethodPut, "/api/permissions/"+url.PathEscape(v.VHost)+"/"+url.PathEscape(u.Username), perm); err != nil {
		_ = b.Stop(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("grant %s on vhost %s: %w", u.Username, v.VHost, err)
	}
	u.Vhost = v.VHost
	b.node = v.Base
	b.node.AMQPURL = u.String()
	if err := Ping(ctx, b.node.AMQPURL, 5*time.Second); err != nil {
		_ = b.Stop(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("vhost %s: %w: %v", v.VHost, ErrUnreachable, err)
	}
	return b, nil
}

type vhostBroker struct {
	v          VHost
	user, pass string
	node       Node
}

// Nodes implements Broker: the shared node, its URL in the vhost.
func (b *vhostBroker) Nodes() []Node { return []Node{b.node} }

// VHostName is the run's vhost.
func (b *vhostBroker) VHostName() string { return b.v.VHost }

// Stop implements Broker: deleting the vhost closes its connections and
// drops its queues. A vhost already gone is not an error.
func (b *vhostBroker) Stop(ctx context.Context) error {
	err := b.call(ctx, http.MethodDelete, "/api/vhosts/"+url.PathEscape(b.v.VHost), "")
	if err != nil && !errors.Is(err, errNotFound) {
		return fmt.Errorf("delete vhost %s: %w", b.v.VHost, err)
	}
	return nil
}

var errNotFound = errors.New("not found")

func (b *vhostBroker) call(ctx context.Context, method, path, body string) error {
	client := b.v.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(b.v.Base.ManagementURL, "/")+path, rd)
	if err != nil {
		return err
	}
	req.SetBasicAuth(b.user, b.pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s %s: %w", method, path, errNotFound)
	case resp.StatusCode >= 300:
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
