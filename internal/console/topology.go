package console

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// hop is one service instance's path to the broker, with the active faults
// marked on the hop they act on.
type hop struct {
	ID, Service, State string
	Healthy            bool
	HTTP               string
	Proxy, ProxyAddr   string
	MessageProxy       string
	Upstream           string
	ServiceFaults      []string // process and in-app
	NetworkFaults      []string // Toxiproxy hop
	MessageFaults      []string // message-proxy hop
	// Rate is the messages per second the instance published and handled
	// over the last rateWindow, from its spans.
	Rate float64
}

// rateWindow is the span of time a hop's msg/s is averaged over.
const rateWindow = 10 * time.Second

type topologyView struct {
	Hops        []hop
	Broker      string // host:port, never the URL with its credentials
	Management  string
	BrokerFault []string
	Queues      []anomalies.Queue
	QueueError  string
	At          time.Time
}

func (c *Console) topologyPage(w http.ResponseWriter, r *http.Request) {
	c.full(w, http.StatusOK, "topology", "Topology", c.topology(r.Context()))
}

func (c *Console) topologyView(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "topology", c.topology(r.Context()))
}

func (c *Console) topology(ctx context.Context) topologyView {
	info := c.cfg.Info()
	v := topologyView{Broker: hostOf(info.Broker.AMQP), Management: hostOf(info.Broker.Management), At: time.Now()}
	active := c.reg.list()
	rates := c.hopRates(v.At)
	for _, id := range info.IDs() {
		s := info.Services[id]
		h := hop{ID: id, Service: s.Service, State: lab.ProcessState(s.PID), HTTP: s.HTTP, Proxy: s.Proxy,
			ProxyAddr: s.AMQPProxy, MessageProxy: s.MessageProxy, Upstream: s.Upstream, Rate: rates[id]}
		for _, a := range active {
			label := a.ID + " " + a.Fault.Op
			switch a.Fault.Type {
			case spec.TypeNetwork, spec.TypeOutage:
				if a.Fault.Target == s.Service {
					h.NetworkFaults = append(h.NetworkFaults, label)
				}
			case spec.TypePartition:
				if strings.Contains("+"+a.Fault.Target+"+", "+"+s.Service+"+") {
					h.NetworkFaults = append(h.NetworkFaults, label)
				}
			case spec.TypeMessage:
				if a.Fault.Target == s.Service {
					h.MessageFaults = append(h.MessageFaults, label)
				}
			case spec.TypeProcess, spec.TypeInApp:
				if a.Fault.Target == s.Service {
					h.ServiceFaults = append(h.ServiceFaults, label)
				}
			}
		}
		v.Hops = append(v.Hops, h)
	}
	for _, a := range active {
		if a.Fault.Type == spec.TypeBroker {
			v.BrokerFault = append(v.BrokerFault, a.ID+" "+a.Fault.Op)
		}
	}
	if m := c.cfg.Management; m != nil {
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		qs, err := m.Queues(qctx)
		if err != nil {
			v.QueueError = redact(err.Error(), m.Password)
		}
		v.Queues = qs
	} else {
		v.QueueError = "no management API: queue depths unknown"
	}
	return v
}

// hopRates counts each instance's publish and handling spans that ended
// within rateWindow before now, per second, from the live span tail.
func (c *Console) hopRates(now time.Time) map[string]float64 {
	l := c.live()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.read(); err != nil {
		c.log.Debug("Reading the span files", "err", err)
	}
	out := map[string]float64{}
	from := now.Add(-rateWindow)
	for i := range l.events {
		e := &l.events[i]
		if e.End.Before(from) || e.End.After(now) || (e.Kind != history.KindPublish && e.Kind != history.KindProcess) {
			continue
		}
		out[cmp.Or(e.Instance, e.Service)] += 1 / rateWindow.Seconds()
	}
	return out
}

// rateLabel is an edge's label: "" for no traffic.
func rateLabel(r float64) string {
	if r <= 0 {
		return ""
	}
	return strconv.FormatFloat(r, 'f', 1, 64) + " msg/s"
}

// hostOf is host:port of a URL, dropping credentials and path.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Host
}

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "***")
}

// graphElement is one Cytoscape.js element (node or edge).
type graphElement struct {
	Group    string            `json:"group"`
	Data     map[string]string `json:"data"`
	Position *graphPos         `json:"position,omitempty"`
	Classes  string            `json:"classes,omitempty"`
}

type graphPos struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// graph lays the topology out in columns (services, Toxiproxy hops,
// message-proxy hops, broker, queues) at fixed positions, so that a refresh
// moves nothing.
func graph(v topologyView) []graphElement {
	var els []graphElement
	node := func(id, label, kind string, x, y float64, classes ...string) {
		els = append(els, graphElement{Group: "nodes", Data: map[string]string{"id": id, "label": label, "kind": kind},
			Position: &graphPos{x, y}, Classes: strings.Join(append([]string{kind}, classes...), " ")})
	}
	edge := func(from, to, label string) {
		els = append(els, graphElement{Group: "edges", Data: map[string]string{"id": from + ">" + to, "source": from, "target": to, "label": label}})
	}
	faulted := func(marks []string) []string {
		if len(marks) > 0 {
			return []string{"faulted"}
		}
		return nil
	}
	// href makes the node just added open the inject form of the fault class
	// that acts on it.
	href := func(service, class string) {
		q := ""
		if service != "" {
			q = "?service=" + url.QueryEscape(service)
		}
		els[len(els)-1].Data["href"] = "/inject" + q + "#form-" + class
	}
	for i, h := range v.Hops {
		y := float64(i) * 80
		var cls []string
		if h.State != "running" {
			cls = append(cls, "down")
		}
		node("svc-"+h.ID, strings.Join(append([]string{h.ID}, h.ServiceFaults...), "\n"), "service", 0, y, append(cls, faulted(h.ServiceFaults)...)...)
		href(h.Service, spec.TypeProcess)
		node("tp-"+h.ID, strings.Join(append([]string{h.Proxy}, h.NetworkFaults...), "\n"), "toxiproxy", 240, y, faulted(h.NetworkFaults)...)
		href(h.Service, spec.TypeNetwork)
		edge("svc-"+h.ID, "tp-"+h.ID, rateLabel(h.Rate))
		next := "tp-" + h.ID
		if h.MessageProxy != "" {
			node("mp-"+h.ID, strings.Join(append([]string{"message proxy"}, h.MessageFaults...), "\n"), "msgproxy", 480, y, faulted(h.MessageFaults)...)
			href(h.Service, spec.TypeMessage)
			edge(next, "mp-"+h.ID, rateLabel(h.Rate))
			next = "mp-" + h.ID
		}
		edge(next, "broker", rateLabel(h.Rate))
	}
	mid := float64(max(len(v.Hops)-1, 0)) * 40
	node("broker", strings.Join(append([]string{"broker " + v.Broker}, v.BrokerFault...), "\n"), "broker", 720, mid, faulted(v.BrokerFault)...)
	href("", spec.TypeBroker)
	i := 0
	for _, q := range v.Queues {
		if q.Consumers == 0 && q.Messages == 0 && q.Ready == 0 && q.Unacked == 0 {
			continue // idle retry and dead-letter queues
		}
		var cls []string
		if q.Unacked > 0 || q.Ready > 0 {
			cls = append(cls, "busy")
		}
		node("q-"+q.Name, q.Name+"\nready "+strconv.Itoa(q.Ready)+" · unacked "+strconv.Itoa(q.Unacked), "queue", 1000, float64(i)*50, cls...)
		edge("broker", "q-"+q.Name, rateLabel(q.Stats.Publish.Rate))
		i++
	}
	return els
}

func (c *Console) topologyGraph(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(graph(c.topology(r.Context())))
}
