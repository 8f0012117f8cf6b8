package anomalies

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Management is a small client of RabbitMQ's management HTTP API: the broker
// executors close connections and watch alarms through it, and the scenario
// runner reads queues, connections and dead letters with it.
type Management struct {
	// URL is the management base URL ("http://127.0.0.1:15672").
	URL string
	// User and Password default to guest/guest.
	User, Password string
	// HTTP is the client (nil: a client with a 15 s timeout).
	HTTP *http.Client
	// VHost, when set, scopes Connections and Queues to one virtual host:
	// a lab on a shared broker must neither see nor close another run's
	// connections. Empty lists every vhost.
	VHost string
}

func (m *Management) call(ctx context.Context, method, path string, body, out any, header http.Header) error {
	user, pass := m.User, m.Password
	if user == "" {
		user, pass = "guest", "guest"
	}
	client := m.HTTP
	if client == nil {
		client = defaultHTTP
	}
	return request{client: client, method: method, url: strings.TrimRight(m.URL, "/") + path,
		body: body, out: out, user: user, pass: pass, header: header}.do(ctx)
}

// Connection is one client connection as the broker lists it.
type Connection struct {
	Name  string `json:"name"`
	State string `json:"state"` // running, blocking, blocked, closing…
	// ConnectedAtMs is when the connection opened (ms since the epoch).
	ConnectedAtMs    int64          `json:"connected_at"`
	ClientProperties map[string]any `json:"client_properties"`
	User             string         `json:"user"`
	VHost            string         `json:"vhost"`
}

// ConnectedAt is when the connection opened.
func (c Connection) ConnectedAt() time.Time { return time.UnixMilli(c.ConnectedAtMs) }

// ClientName is the connection_name the client announced ("" if none). The
// lab's messaging layer names connections "<service>-<instance>-<role>".
func (c Connection) ClientName() string {
	s, _ := c.ClientProperties["connection_name"].(string)
	return s
}

// Blocked reports whether the broker blocks (or will block) the connection's
// publishes because of a resource alarm.
func (c Connection) Blocked() bool { return c.State == "blocked" || c.State == "blocking" }

// Connections lists the client connections.
func (m *Management) Connections(ctx context.Context) ([]Connection, error) {
	var out []Connection
	path := "/api/connections"
	if m.VHost != "" {
		path = "/api/vhosts/" + url.PathEscape(m.VHost) + "/connections"
	}
	err := m.call(ctx, http.MethodGet, path, nil, &out, nil)
	return out, err
}

// CloseConnection closes one client connection; the client sees a
// connection.close with CONNECTION_FORCED (320) and reason.
func (m *Management) CloseConnection(ctx context.Context, name, reason string) error {
	h := http.Header{}
	if reason != "" {
		h.Set("X-Reason", reason)
	}
	return m.call(ctx, http.MethodDelete, "/api/connections/"+url.PathEscape(name), nil, nil, h)
}

// NodeStatus is one broker node's health as the management API reports it.
type NodeStatus struct {
	Name          string `json:"name"`
	Running       bool   `json:"running"`
	MemAlarm      bool   `json:"mem_alarm"`
	DiskFreeAlarm bool   `json:"disk_free_alarm"`
}

// Nodes lists the cluster's nodes.
func (m *Management) Nodes(ctx context.Context) ([]NodeStatus, error) {
	var out []NodeStatus
	err := m.call(ctx, http.MethodGet, "/api/nodes", nil, &out, nil)
	return out, err
}

// Alarm is one resource alarm in effect on a node.
type Alarm struct {
	Node     string `json:"node"`
	Resource string `json:"resource"` // "memory" or "disk space"
}

// Alarms lists the resource alarms in effect in the cluster. It asks the
// alarm health check, which reads the alarm state directly (GET /api/nodes
// reports it only with the next statistics emission, seconds later).
func (m *Management) Alarms(ctx context.Context) ([]Alarm, error) {
	var body struct {
		Alarms []Alarm `json:"alarms"`
	}
	err := m.call(ctx, http.MethodGet, "/api/health/checks/alarms", nil, &body, nil)
	if se, ok := errors.AsType[*StatusError](err); ok && se.Code == http.StatusServiceUnavailable {
		if jerr := json.Unmarshal([]byte(se.Body), &body); jerr != nil {
			return nil, fmt.Errorf("alarms: decode %q: %w", se.Body, jerr)
		}
		return body.Alarms, nil
	}
	return body.Alarms, err
}

// Queue is one queue's depth.
type Queue struct {
	Name      string `json:"name"`
	VHost     string `json:"vhost"`
	Messages  int    `json:"messages"`
	Ready     int    `json:"messages_ready"`
	Unacked   int    `json:"messages_unacknowledged"`
	Consumers int    `json:"consumers"`
	// Stats are the broker's message rates of the queue (absent before the
	// queue saw a message).
	Stats QueueStats `json:"message_stats"`
}

// QueueStats are a queue's message rates (messages per second, averaged by
// the broker over its last sampling interval).
type QueueStats struct {
	Publish    Rate `json:"publish_details"`
	DeliverGet Rate `json:"deliver_get_details"`
}

// Rate is one of the broker's rates.
type Rate struct {
	Rate float64 `json:"rate"`
}

// Queues lists every queue with its message counts. The counts are the
// broker's statistics, refreshed every few seconds at most (the
// collect_statistics_interval), not an instant reading.
func (m *Management) Queues(ctx context.Context) ([]Queue, error) {
	var out []Queue
	path := "/api/queues"
	if m.VHost != "" {
		path += "/" + url.PathEscape(m.VHost)
	}
	err := m.call(ctx, http.MethodGet, path, nil, &out, nil)
	return out, err
}

// Consumer is one consumer of a queue as the broker lists it.
type Consumer struct {
	Queue struct {
		Name  string `json:"name"`
		VHost string `json:"vhost"`
	} `json:"queue"`
	Channel     ChannelDetails `json:"channel_details"`
	Tag         string         `json:"consumer_tag"`
	Prefetch    int            `json:"prefetch_count"` // 0: unlimited
	AckRequired bool           `json:"ack_required"`
}

// ChannelDetails names a consumer's channel. The broker sends an empty
// array instead of an object when the channel has just gone (a consumer
// listed while its connection closes); that decodes as no channel.
type ChannelDetails struct {
	Name string `json:"name"`
	// ConnectionName is the broker's name of the connection (the one
	// Connection.Name holds), not the client's connection_name.
	ConnectionName string `json:"connection_name"`
}

// UnmarshalJSON accepts the channel's object or the broker's empty array.
func (c *ChannelDetails) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		var none []json.RawMessage
		if err := json.Unmarshal(t, &none); err != nil {
			return err
		}
		if len(none) > 0 {
			return fmt.Errorf("channel_details: want an object or an empty array, got %d elements", len(none))
		}
		*c = ChannelDetails{}
		return nil
	}
	type plain ChannelDetails
	return json.Unmarshal(b, (*plain)(c))
}

// Consumers lists the queues' consumers, scoped like Queues. Like the queue
// counts, the list follows the broker's statistics emission.
func (m *Management) Consumers(ctx context.Context) ([]Consumer, error) {
	var out []Consumer
	path := "/api/consumers"
	if m.VHost != "" {
		path += "/" + url.PathEscape(m.VHost)
	}
	err := m.call(ctx, http.MethodGet, path, nil, &out, nil)
	return out, err
}

// QueuedMessage is one message read from a queue without consuming it.
type QueuedMessage struct {
	Payload      string `json:"payload"`
	Redelivered  bool   `json:"redelivered"`
	MessageCount int    `json:"message_count"` // messages left after this one
	Properties   struct {
		MessageID     string         `json:"message_id"`
		Type          string         `json:"type"`
		CorrelationID string         `json:"correlation_id"`
		Timestamp     int64          `json:"timestamp"`
		Headers       map[string]any `json:"headers"`
	} `json:"properties"`
}

// PeekMessages reads up to count messages of a queue and puts them back
// (ackmode ack_requeue_true): the queue keeps them, flagged redelivered.
func (m *Management) PeekMessages(ctx context.Context, vhost, queue string, count int) ([]QueuedMessage, error) {
	if vhost == "" {
		vhost = "/"
	}
	body := map[string]any{"count": count, "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": 2048}
	var raw json.RawMessage
	if err := m.call(ctx, http.MethodPost, "/api/queues/"+url.PathEscape(vhost)+"/"+url.PathEscape(queue)+"/get", body, &raw, nil); err != nil {
		return nil, err
	}
	var out []QueuedMessage
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// NodeConnections lists the client connections of a node's cluster through
// rabbitmqctl. Unlike the management API, whose list follows the statistics
// emission (every 5 s by default), it asks the connection processes
// themselves, so a connection that opened a moment ago is in it. It waits
// for every node's answer without a time limit of its own: bound ctx.
func NodeConnections(ctx context.Context, n Node) ([]Connection, error) {
	out, err := n.Ctl(ctx, "-q", "list_connections", "name", "vhost", "state", "connected_at", "client_properties", "--formatter", "json")
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Name        string `json:"name"`
		VHost       string `json:"vhost"`
		State       string `json:"state"`
		ConnectedAt int64  `json:"connected_at"`
		// An array of [name, type, value] triples, or the string "none"
		// while the connection is still starting.
		Props json.RawMessage `json:"client_properties"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		return nil, fmt.Errorf("list_connections: decode %.200q: %w", out, err)
	}
	conns := make([]Connection, 0, len(rows))
	for _, r := range rows {
		c := Connection{Name: r.Name, VHost: r.VHost, State: r.State, ConnectedAtMs: r.ConnectedAt, ClientProperties: map[string]any{}}
		var props []json.RawMessage
		_ = json.Unmarshal(r.Props, &props)
		for _, p := range props {
			// Each property is [name, type, value].
			var triple []json.RawMessage
			if json.Unmarshal(p, &triple) != nil || len(triple) != 3 {
				continue
			}
			var key, typ string
			_ = json.Unmarshal(triple[0], &key)
			_ = json.Unmarshal(triple[1], &typ)
			if typ == "longstr" {
				var v string
				if json.Unmarshal(triple[2], &v) == nil {
					c.ClientProperties[key] = v
				}
			}
		}
		conns = append(conns, c)
	}
	return conns, nil
}
