package anomalies

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// Link directions: upstream is service → broker, downstream broker → service
// (Toxiproxy's streams).
const (
	Upstream   = "upstream"
	Downstream = "downstream"
	Both       = "both"
)

// Toxic installs one Toxiproxy toxic on a service's link to the broker: on
// the proxy of every instance of the service, in one or both directions.
// Heal removes the toxics and records network.bytes-cut.
//
// Toxiproxy draws toxicity with its own unseeded randomness (its -seed flag
// does not reach the toxics), so Toxicity < 1 is not reproducible by seed.
type Toxic struct {
	Env *Env
	// Link is the service whose link is hit ("tickets").
	Link string
	// Type is the toxic type: latency, bandwidth, slow_close, timeout,
	// reset_peer, slicer, limit_data.
	Type string
	// Direction is Upstream, Downstream or Both ("" = Both).
	Direction string
	// Toxicity is the probability the toxic applies to a connection (0 = 1).
	Toxicity float64
	// Attributes are the toxic's integer attributes (latency, jitter, rate…).
	Attributes map[string]int64
}

// LinkDown takes service links down by disabling their Toxiproxy proxies:
// every connection through them is closed and new ones are refused until
// Heal enables them again. One link is an outage; several are a partition.
type LinkDown struct {
	Env   *Env
	Links []string // services
}

var (
	_ Anomaly = (*Toxic)(nil)
	_ Anomaly = (*LinkDown)(nil)
)

// Name is "<type>-<link>-<direction>".
func (t *Toxic) Name() string { return t.Type + "-" + t.Link + "-" + t.direction() }

// Name is "link-down-<link>" or "partition-<a>+<b>".
func (l *LinkDown) Name() string {
	if len(l.Links) == 1 {
		return "link-down-" + l.Links[0]
	}
	return "partition-" + strings.Join(l.Links, "+")
}

func (t *Toxic) direction() string {
	if t.Direction == "" {
		return Both
	}
	return t.Direction
}

func (t *Toxic) streams() ([]string, error) {
	switch t.direction() {
	case Upstream, Downstream:
		return []string{t.direction()}, nil
	case Both:
		return []string{Upstream, Downstream}, nil
	}
	return nil, fmt.Errorf("direction %q: want upstream, downstream or both", t.Direction)
}

// toxicSeq makes toxic names unique within the process, so two steps may put
// the same toxic type on one link.
var toxicSeq atomic.Int64

type toxicBody struct {
	Name       string           `json:"name"`
	Type       string           `json:"type"`
	Stream     string           `json:"stream"`
	Toxicity   float64          `json:"toxicity"`
	Attributes map[string]int64 `json:"attributes"`
}

// Inject adds the toxic to every proxy of the link.
func (t *Toxic) Inject(ctx context.Context) (Healer, error) {
	env := t.Env
	if env.Toxiproxy == "" {
		return nil, fmt.Errorf("inject %s: the lab has no Toxiproxy", t.Name())
	}
	streams, err := t.streams()
	if err != nil {
		return nil, fmt.Errorf("inject %s: %w", t.Name(), err)
	}
	proxies, err := env.proxies(t.Link)
	if err != nil {
		return nil, fmt.Errorf("inject %s: %w", t.Name(), err)
	}
	toxicity := t.Toxicity
	if toxicity <= 0 {
		toxicity = 1
	}
	before := env.proxyBytes(ctx)
	type installed struct{ proxy, name string }
	var done []installed
	heal := HealFunc(func(ctx context.Context) error {
		var errs []error
		for _, in := range done {
			err := request{client: env.http(), method: http.MethodDelete,
				url: env.Toxiproxy + "/proxies/" + url.PathEscape(in.proxy) + "/toxics/" + url.PathEscape(in.name)}.do(ctx)
			if err != nil && !isStatus(err, http.StatusNotFound) {
				errs = append(errs, fmt.Errorf("heal %s: %w", t.Name(), err))
			}
		}
		env.recordBytesCut(ctx, before, proxies)
		env.log().Info("Anomaly healed", "anomaly", t.Name(), "err", errors.Join(errs...))
		return errors.Join(errs...)
	})
	env.log().Info("Injecting anomaly", "anomaly", t.Name(), "proxies", proxies, "attributes", t.Attributes)
	for _, p := range proxies {
		for _, s := range streams {
			name := fmt.Sprintf("tflab-%s-%s-%d", t.Type, s, toxicSeq.Add(1))
			err := request{client: env.http(), method: http.MethodPost,
				url:  env.Toxiproxy + "/proxies/" + url.PathEscape(p) + "/toxics",
				body: toxicBody{Name: name, Type: t.Type, Stream: s, Toxicity: toxicity, Attributes: t.Attributes}}.do(ctx)
			if err != nil {
				return nil, errors.Join(fmt.Errorf("inject %s on %s: %w", t.Name(), p, err), healNow(ctx, heal))
			}
			done = append(done, installed{p, name})
		}
	}
	return heal, nil
}

// Inject disables every proxy of the links.
func (l *LinkDown) Inject(ctx context.Context) (Healer, error) {
	env := l.Env
	if env.Toxiproxy == "" {
		return nil, fmt.Errorf("inject %s: the lab has no Toxiproxy", l.Name())
	}
	if len(l.Links) == 0 {
		return nil, fmt.Errorf("inject %s: no links named", l.Name())
	}
	var proxies []string
	for _, link := range l.Links {
		ps, err := env.proxies(link)
		if err != nil {
			return nil, fmt.Errorf("inject %s: %w", l.Name(), err)
		}
		proxies = append(proxies, ps...)
	}
	before := env.proxyBytes(ctx)
	var down []string
	heal := HealFunc(func(ctx context.Context) error {
		var errs []error
		for _, p := range down {
			if err := env.setProxyEnabled(ctx, p, true); err != nil {
				errs = append(errs, fmt.Errorf("heal %s: %w", l.Name(), err))
			}
		}
		env.recordBytesCut(ctx, before, proxies)
		env.log().Info("Anomaly healed", "anomaly", l.Name(), "err", errors.Join(errs...))
		return errors.Join(errs...)
	})
	env.log().Info("Injecting anomaly", "anomaly", l.Name(), "proxies", proxies)
	for _, p := range proxies {
		if err := env.setProxyEnabled(ctx, p, false); err != nil {
			return nil, errors.Join(fmt.Errorf("inject %s: %w", l.Name(), err), healNow(ctx, heal))
		}
		down = append(down, p)
	}
	return heal, nil
}

func (e *Env) setProxyEnabled(ctx context.Context, proxy string, enabled bool) error {
	return request{client: e.http(), method: http.MethodPost,
		url: e.Toxiproxy + "/proxies/" + url.PathEscape(proxy), body: map[string]bool{"enabled": enabled}}.do(ctx)
}

// proxies lists the Toxiproxy proxies of every instance of a service.
func (e *Env) proxies(service string) ([]string, error) {
	ins, err := e.instances(service, 0)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, in := range ins {
		if in.Proxy == "" {
			return nil, fmt.Errorf("instance %s has no Toxiproxy proxy", in.ID)
		}
		out = append(out, in.Proxy)
	}
	return out, nil
}

// byteCounts are Toxiproxy's per-proxy byte totals (received and sent,
// both directions). Toxiproxy adds a link's bytes when the link ends.
type byteCounts map[string][2]float64

// proxyBytes scrapes Toxiproxy's /metrics; nil when metrics are off or the
// scrape fails (the evidence is then not recorded rather than wrong).
func (e *Env) proxyBytes(ctx context.Context) byteCounts {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.Toxiproxy+"/metrics", nil)
	if err != nil {
		return nil
	}
	resp, err := e.http().Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	out := byteCounts{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		parseMetricLine(sc.Text(), out)
	}
	if sc.Err() != nil {
		return nil
	}
	return out
}

// parseMetricLine adds one Prometheus text line of
// toxiproxy_proxy_{received,sent}_bytes_total to out.
func parseMetricLine(line string, out byteCounts) {
	var idx int
	switch {
	case strings.HasPrefix(line, "toxiproxy_proxy_received_bytes_total{"):
		idx = 0
	case strings.HasPrefix(line, "toxiproxy_proxy_sent_bytes_total{"):
		idx = 1
	default:
		return
	}
	open, end := strings.IndexByte(line, '{'), strings.LastIndexByte(line, '}')
	if end < open {
		return
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
	if err != nil {
		return
	}
	proxy := ""
	for lbl := range strings.SplitSeq(line[open+1:end], ",") {
		if k, val, ok := strings.Cut(lbl, "="); ok && k == "proxy" {
			proxy = strings.Trim(val, `"`)
		}
	}
	if proxy == "" {
		return
	}
	c := out[proxy]
	c[idx] += v
	out[proxy] = c
}

// recordBytesCut adds to network.bytes-cut what the proxies received but did
// not pass on since before: received minus sent, over links that ended.
func (e *Env) recordBytesCut(ctx context.Context, before byteCounts, proxies []string) {
	if before == nil {
		return
	}
	after := e.proxyBytes(ctx)
	if after == nil {
		return
	}
	var cut float64
	for _, p := range slices.Compact(slices.Sorted(slices.Values(proxies))) {
		d := after[p][0] - before[p][0] - (after[p][1] - before[p][1])
		cut += max(d, 0)
	}
	e.Evidence.Add(CounterBytesCut, cut)
}
