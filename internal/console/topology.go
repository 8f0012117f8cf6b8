package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/internal/lab"
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
}

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
	for _, id := range info.IDs() {
		s := info.Services[id]
		h := hop{ID: id, Service: s.Service, State: lab.ProcessState(s.PID), HTTP: s.HTTP, Proxy: s.Proxy,
			ProxyAddr: s.AMQPProxy, MessageProxy: s.MessageProxy, Upstream: s.Upstream}
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
